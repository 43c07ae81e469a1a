"""The core's date rules and the never-negative-on-any-day rule, as properties."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.accounts import Side
from ledger.dates import (
    DATE_MAX,
    DATE_MIN,
    FutureDate,
    InvalidDate,
    check_not_future,
    parse_date,
)
from ledger.entries import AccountDays, DayTotals, Posting, check_never_negative
from ledger.errors import InsufficientFunds
from ledger.loan_lifecycle import LoanAction, LoanDates, check_event_date
from ledger.periods import PeriodClosed

START = date(2026, 1, 1)


@pytest.mark.parametrize("text", [0, 20260301, "0", "20260301", "2026-3-1", "2026-02-30",
                                  "2026-03-01T00:00", "1899-12-31", "3000-01-01", None, 1.5])
def test_only_a_calendar_date_within_the_bounds_is_a_date(text):
    with pytest.raises(InvalidDate):
        parse_date(text)


@given(st.dates(min_value=DATE_MIN, max_value=DATE_MAX))
def test_every_date_within_the_bounds_reads_back(day):
    assert parse_date(day.isoformat()) == day


@given(st.dates(min_value=DATE_MIN, max_value=DATE_MAX),
       st.dates(min_value=DATE_MIN, max_value=DATE_MAX))
def test_a_date_is_refused_exactly_when_after_today(day, today):
    if day > today:
        with pytest.raises(FutureDate, match=day.isoformat()):
            check_not_future(day, today)
    else:
        assert check_not_future(day, today) == day


def test_loan_events_keep_their_order_and_stay_out_of_closed_months():
    dates = LoanDates(applied_on=date(2026, 2, 1), approved_on=date(2026, 2, 3),
                      disbursed_on=date(2026, 2, 5))
    today = date(2026, 6, 1)
    with pytest.raises(InvalidDate, match="before the application on 2026-02-01"):
        check_event_date(LoanAction.APPROVE, date(2026, 1, 31), dates, today, None)
    with pytest.raises(InvalidDate, match="before the approval on 2026-02-03"):
        check_event_date(LoanAction.DISBURSE, date(2026, 2, 2), dates, today, None)
    with pytest.raises(InvalidDate, match="before the disbursement on 2026-02-05"):
        check_event_date(LoanAction.REPAY, date(2026, 2, 4), dates, today, None)
    with pytest.raises(PeriodClosed):
        check_event_date(LoanAction.APPLY, date(2026, 2, 10), LoanDates(), today,
                         date(2026, 2, 1))
    with pytest.raises(FutureDate):
        check_event_date(LoanAction.REPAY, date(2026, 6, 2), dates, today, None)
    assert check_event_date(LoanAction.REPAY, date(2026, 2, 5), dates, today, None)


# Cash (debit-normal) moving by day: (day offset, signed amount) pairs.
movements = st.lists(st.tuples(st.integers(0, 40), st.integers(-1_000, 1_000)), max_size=12)


def totals_by_day(moves: list[tuple[int, int]]) -> list[DayTotals]:
    """Cumulative daily totals as the daily_balances table keeps them."""
    days: list[DayTotals] = []
    debits = credits = 0
    for offset in sorted({o for o, _ in moves}):
        for o, amount in moves:
            if o == offset:
                debits += max(amount, 0)
                credits += max(-amount, 0)
        days.append(DayTotals(START + timedelta(days=offset), debits, credits))
    return days


@given(movements, st.integers(0, 40), st.integers(1, 2_000))
def test_an_entry_is_refused_exactly_when_some_day_from_its_date_on_ends_negative(
    moves, offset, amount
):
    """Against a brute force: the balance at the end of every day, before and after
    adding a payment of `amount` dated START + offset."""
    day = START + timedelta(days=offset)
    days = totals_by_day(moves)
    # What the service hands over: the last day on or before `day` and every later day.
    on_or_before = [t for t in days if t.day <= day][-1:]
    handed = tuple(on_or_before + [t for t in days if t.day > day])
    account = AccountDays("cash", "111", Side.DEBIT, handed)
    payment = [Posting("cash", Side.CREDIT, amount, "VND"),
               Posting("expense", Side.DEBIT, amount, "VND")]

    def balance_at_end(end: date, with_payment: bool) -> int:
        moved = sum(a for o, a in moves if START + timedelta(days=o) <= end)
        return moved - (amount if with_payment and day <= end else 0)

    judged = [day] + [t.day for t in days if t.day > day]
    negative = [d for d in judged if balance_at_end(d, True) < 0]
    if negative:
        with pytest.raises(InsufficientFunds, match=f"at the end of {negative[0].isoformat()}"):
            check_never_negative(payment, day, [account])
    else:
        check_never_negative(payment, day, [account])
        every_day = [START + timedelta(days=n) for n in range(0, 42)]
        assert all(balance_at_end(d, True) >= 0 or balance_at_end(d, False) < 0
                   for d in every_day if d >= day)


def test_a_payment_before_an_account_first_moved_says_when_it_did():
    """A loan's account opened by the books' cut-over (2025-01-01) holds nothing on an
    earlier date: the refusal says so, in both languages."""
    opened = AccountDays("loan", "131.0007", Side.DEBIT,
                         (DayTotals(date(2025, 1, 1), 900_000, 0),))
    repayment = [Posting("cash", Side.DEBIT, 100_000, "VND"),
                 Posting("loan", Side.CREDIT, 100_000, "VND")]
    with pytest.raises(InsufficientFunds) as refused:
        check_never_negative(repayment, date(2024, 6, 1), [opened])
    assert refused.value.detail == (
        "account 131.0007 may not go below zero: dated 2024-06-01, this entry would leave"
        " it at -100000 at the end of 2024-06-01; nothing was recorded in it on or before"
        " 2024-06-01: its first movement is dated 2025-01-01")
    assert "phát sinh đầu tiên ghi ngày 2025-01-01" in str(refused.value.detail_vi)
    check_never_negative(repayment, date(2025, 1, 1), [opened])  # on the day, it may


def test_a_receipt_is_never_refused_even_on_an_overdrawn_account():
    overdrawn = AccountDays("cash", "111", Side.DEBIT, (DayTotals(START, 0, 500),))
    receipt = [Posting("cash", Side.DEBIT, 100, "VND"),
               Posting("income", Side.CREDIT, 100, "VND")]
    check_never_negative(receipt, START, [overdrawn])
