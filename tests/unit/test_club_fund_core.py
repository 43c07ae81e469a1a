"""The pure parts of the club fund domain: periods, the chart, the loan state machine."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import periods
from ledger.chart import (
    CAPITAL_ACCOUNT_BY_SOURCE,
    DEFAULT_CHART,
    FundingSource,
    VoucherKind,
    loan_account_code,
    voucher_number,
)
from ledger.dates import InvalidDate
from ledger.loan_lifecycle import (
    TRANSITIONS,
    LoanAction,
    LoanStatus,
    LoanTransitionRefused,
    SameActorApproval,
    check_second_actor,
    next_status,
)

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31))


@given(days)
def test_a_day_lies_between_its_period_start_and_end(day):
    period = periods.period_of(day)
    assert period <= day <= periods.period_end(period)
    assert periods.next_period(period) == periods.period_end(period) + timedelta(days=1)
    assert periods.parse_period(periods.format_period(period)) == period


@given(days, days)
def test_a_day_is_closed_exactly_when_its_month_is_at_or_before_the_latest_closed(day, closed):
    latest = periods.period_of(closed)
    assert periods.is_closed(day, latest) == (day <= periods.period_end(latest))
    assert not periods.is_closed(day, None)


@given(days, st.integers(min_value=1, max_value=30))
def test_months_close_one_after_another(start, count):
    today = date(2103, 1, 1)  # after the last of 30 months from a start in 2099
    latest = None
    period = periods.period_of(start)
    for _ in range(count):
        periods.check_close(period, latest, today)
        with pytest.raises(periods.PeriodOutOfOrder):
            periods.check_close(periods.next_period(periods.next_period(period)), period, today)
        latest, period = period, periods.next_period(period)
        with pytest.raises(periods.PeriodAlreadyClosed):
            periods.check_close(latest, latest, today)


def test_a_month_closes_only_after_it_has_ended():
    with pytest.raises(periods.PeriodNotEnded):
        periods.check_close(date(2026, 11, 1), None, date(2026, 11, 30))
    periods.check_close(date(2026, 11, 1), None, date(2026, 12, 1))
    with pytest.raises(periods.PeriodClosed):
        periods.check_open(date(2026, 11, 30), date(2026, 11, 1))
    periods.check_open(date(2026, 12, 1), date(2026, 11, 1))


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-01", "2026-1", "x"])
def test_malformed_periods_are_refused(text):
    with pytest.raises(periods.InvalidPeriod):
        periods.parse_period(text)


@pytest.mark.parametrize("text", ["1899-12", "3000-01", "9999-12"])
def test_periods_outside_the_bounds_of_dates_are_invalid_dates(text):
    with pytest.raises(InvalidDate, match=text):
        periods.parse_period(text)


def test_the_default_chart_and_the_voucher_format():
    codes = [a.code for a in DEFAULT_CHART]
    assert len(set(codes)) == len(codes)
    assert set(CAPITAL_ACCOUNT_BY_SOURCE.values()) <= set(codes)
    assert {a.code for a in DEFAULT_CHART if not a.allow_negative} == {"111", "112"}
    assert CAPITAL_ACCOUNT_BY_SOURCE[FundingSource.PROVINCE_BUDGET] == "4112"
    assert voucher_number(VoucherKind.RECEIPT, 2026, 1) == "PT-2026-0001"
    assert voucher_number(VoucherKind.PAYMENT, 2026, 12345) == "PC-2026-12345"
    assert loan_account_code(7) == "131.0007"


@pytest.mark.parametrize("status", list(LoanStatus))
@pytest.mark.parametrize("action", list(LoanAction))
def test_every_transition_outside_the_table_is_refused(status, action):
    if (status, action) in TRANSITIONS:
        assert next_status(status, action) is TRANSITIONS[status, action]
    else:
        with pytest.raises(LoanTransitionRefused) as refused:
            next_status(status, action)
        assert refused.value.code == "invalid_loan_state"


def test_final_statuses_allow_nothing_and_approvals_need_a_second_actor():
    for final in (LoanStatus.REJECTED, LoanStatus.REPAID):
        assert not [a for (s, a) in TRANSITIONS if s is final]
    # a written-off loan takes only money recovered, and stays written off
    assert {(a, after) for (s, a), after in TRANSITIONS.items()
            if s is LoanStatus.WRITTEN_OFF} == {(LoanAction.RECOVER, LoanStatus.WRITTEN_OFF)}
    with pytest.raises(SameActorApproval):
        check_second_actor("tok_a", "tok_a")
    check_second_actor("tok_a", "tok_b")
