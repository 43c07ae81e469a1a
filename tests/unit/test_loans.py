"""Loan schedules, repayment allocation, arrears and PAR: worked examples and properties."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.errors import InvalidAmount
from ledger.loans import (
    Allocation,
    Amortization,
    DayCount,
    Frequency,
    InterestMethod,
    InvalidLoanState,
    InvalidLoanTerms,
    InvalidPortfolioInput,
    LoanClosed,
    LoanState,
    LoanTerms,
    Overpayment,
    Prepayment,
    RepaymentOutOfOrder,
    Schedule,
    accrue_penalty,
    allocate_repayment,
    amount_due,
    build_schedule,
    check_loan_terms,
    days_overdue,
    installment_due_date,
    installments_in_force,
    is_closed,
    opening_state,
    outstanding_principal,
    payoff_amount,
    portfolio_at_risk,
)
from ledger.money import AMOUNT_MINOR_MAX

FLAT_5M = LoanTerms(
    principal=5_000_000,
    installments=12,
    frequency=Frequency.MONTHLY,
    interest_method=InterestMethod.FLAT,
    rate_per_period=Decimal("0.01"),
    first_due_date=date(2026, 3, 5),
)


def rows(schedule: Schedule) -> list[tuple[int, int, int]]:
    return [(row.principal, row.interest, row.total) for row in schedule.installments]


# --------------------------------------------------------------------------- due dates


def test_monthly_due_dates_keep_the_original_day_and_clamp() -> None:
    first = date(2026, 1, 31)
    dates = [installment_due_date(first, Frequency.MONTHLY, k) for k in range(5)]
    assert dates == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
        date(2026, 5, 31),
    ]
    assert installment_due_date(date(2027, 12, 31), Frequency.MONTHLY, 2) == date(2028, 2, 29)
    assert installment_due_date(first, Frequency.MONTHLY, -1) == date(2025, 12, 31)


def test_weekly_biweekly_quarterly_due_dates() -> None:
    first = date(2026, 1, 31)
    assert installment_due_date(first, Frequency.WEEKLY, 2) == date(2026, 2, 14)
    assert installment_due_date(first, Frequency.BIWEEKLY, 2) == date(2026, 2, 28)
    quarterly = [installment_due_date(first, Frequency.QUARTERLY, k) for k in range(4)]
    assert quarterly == [
        date(2026, 1, 31),
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
    ]


# --------------------------------------------------------------------------- schedules


def test_flat_5m_12_months_1_percent() -> None:
    # 5,000,000 × 1 % = 50,000 interest a month; 5,000,000 / 12 = 416,666.67 → 416,667
    # principal, so 466,667 a month; the last takes 5,000,000 − 11 × 416,667 = 416,663.
    schedule = build_schedule(FLAT_5M)
    assert rows(schedule) == [(416_667, 50_000, 466_667)] * 11 + [(416_663, 50_000, 466_663)]
    assert schedule.total_principal == 5_000_000
    assert schedule.total_interest == 600_000
    assert [row.number for row in schedule.installments] == list(range(1, 13))
    assert schedule.installments[0].due_date == date(2026, 3, 5)
    assert schedule.installments[-1].due_date == date(2027, 2, 5)


def test_flat_rounding_unit_1000() -> None:
    # 416,666.67 + 50,000 = 466,666.67 → 467,000 (half up to 1,000), principal 417,000;
    # last principal 5,000,000 − 11 × 417,000 = 413,000, total 463,000.
    schedule = build_schedule(dataclasses.replace(FLAT_5M, rounding_unit=1000))
    assert rows(schedule) == [(417_000, 50_000, 467_000)] * 11 + [(413_000, 50_000, 463_000)]


def test_flat_rounding_unit_rounds_the_total_not_the_principal() -> None:
    # 3,000,000 × 0.7 % = 21,000 interest; 3,000,000 / 7 = 428,571.43; total 449,571.43
    # → 450,000; principal 429,000 × 6 = 2,574,000; last principal 426,000, total 447,000.
    terms = dataclasses.replace(
        FLAT_5M,
        principal=3_000_000,
        installments=7,
        rate_per_period=Decimal("0.007"),
        rounding_unit=1000,
    )
    schedule = build_schedule(terms)
    assert rows(schedule) == [(429_000, 21_000, 450_000)] * 6 + [(426_000, 21_000, 447_000)]


def test_declining_balance_annuity() -> None:
    # P = 1,200,000, r = 1 %, 3 months.  A = P·r·1.01³ / (1.01³ − 1)
    #   = 12,000 × 1.030301 / 0.030301 = 408,026.53… → 408,027.
    # 1: interest 12,000;                 principal 396,027; left 803,973
    # 2: interest 8,039.73 → 8,040;       principal 399,987; left 403,986
    # 3: interest 4,039.86 → 4,040;       principal 403,986 (the rest) → total 408,026
    terms = dataclasses.replace(
        FLAT_5M,
        principal=1_200_000,
        installments=3,
        interest_method=InterestMethod.DECLINING_BALANCE,
    )
    schedule = build_schedule(terms)
    assert rows(schedule) == [
        (396_027, 12_000, 408_027),
        (399_987, 8_040, 408_027),
        (403_986, 4_040, 408_026),
    ]
    assert schedule.total_interest == 24_080


def test_declining_balance_zero_rate_is_plain_division() -> None:
    terms = dataclasses.replace(
        FLAT_5M,
        principal=1_000_000,
        installments=3,
        rate_per_period=Decimal(0),
        interest_method=InterestMethod.DECLINING_BALANCE,
    )
    assert rows(build_schedule(terms)) == [
        (333_333, 0, 333_333),
        (333_333, 0, 333_333),
        (333_334, 0, 333_334),
    ]


def test_declining_equal_principal() -> None:
    # 3,000,000 over 3: 1,000,000 each; interest 2 % of 3,000,000, 2,000,000, 1,000,000.
    terms = dataclasses.replace(
        FLAT_5M,
        principal=3_000_000,
        installments=3,
        rate_per_period=Decimal("0.02"),
        interest_method=InterestMethod.DECLINING_BALANCE,
        amortization=Amortization.EQUAL_PRINCIPAL,
    )
    assert rows(build_schedule(terms)) == [
        (1_000_000, 60_000, 1_060_000),
        (1_000_000, 40_000, 1_040_000),
        (1_000_000, 20_000, 1_020_000),
    ]


def test_flat_grace_periods_pay_interest_only() -> None:
    # 6,000,000 × 1 % = 60,000 every month, grace included; principal 6,000,000 / 4.
    terms = dataclasses.replace(FLAT_5M, principal=6_000_000, installments=6, grace_periods=2)
    schedule = build_schedule(terms)
    assert rows(schedule) == [(0, 60_000, 60_000)] * 2 + [(1_500_000, 60_000, 1_560_000)] * 4
    assert schedule.total_interest == 360_000


def test_declining_grace_then_annuity() -> None:
    # Two grace months at 1 % of 1,200,000 = 12,000, then the 3-month annuity above.
    terms = dataclasses.replace(
        FLAT_5M,
        principal=1_200_000,
        installments=5,
        grace_periods=2,
        interest_method=InterestMethod.DECLINING_BALANCE,
    )
    assert rows(build_schedule(terms)) == [
        (0, 12_000, 12_000),
        (0, 12_000, 12_000),
        (396_027, 12_000, 408_027),
        (399_987, 8_040, 408_027),
        (403_986, 4_040, 408_026),
    ]


def test_interest_only_quarterly() -> None:
    # 10,000,000 at 3 % a quarter: 300,000 each quarter, all principal at the end.
    terms = dataclasses.replace(
        FLAT_5M,
        principal=10_000_000,
        installments=4,
        frequency=Frequency.QUARTERLY,
        rate_per_period=Decimal("0.03"),
        first_due_date=date(2026, 1, 31),
        interest_method=InterestMethod.DECLINING_BALANCE,
        amortization=Amortization.INTEREST_ONLY,
    )
    schedule = build_schedule(terms)
    assert rows(schedule) == [(0, 300_000, 300_000)] * 3 + [(10_000_000, 300_000, 10_300_000)]
    assert [row.due_date for row in schedule.installments] == [
        date(2026, 1, 31),
        date(2026, 4, 30),
        date(2026, 7, 31),
        date(2026, 10, 31),
    ]


@pytest.mark.parametrize(
    ("day_count", "interests"),
    [
        # 1,000,000 then 500,000 outstanding; 1 %/month = 12 %/year; Jan 1 → Feb 1 (31
        # days) → Mar 1 (28 days).
        (DayCount.PER_PERIOD, [10_000, 5_000]),
        # 1,000,000 × 0.12 × 31/365 = 10,191.78; 500,000 × 0.12 × 28/365 = 4,602.74
        (DayCount.ACTUAL_365, [10_192, 4_603]),
        # 1,000,000 × 0.12 × 31/360 = 10,333.33; 500,000 × 0.12 × 28/360 = 4,666.67
        (DayCount.ACTUAL_360, [10_333, 4_667]),
        # 30E/360: every month is 30 days → exactly 1 %.
        (DayCount.THIRTY_360, [10_000, 5_000]),
    ],
)
def test_day_counts(day_count: DayCount, interests: list[int]) -> None:
    terms = LoanTerms(
        principal=1_000_000,
        installments=2,
        frequency=Frequency.MONTHLY,
        interest_method=InterestMethod.DECLINING_BALANCE,
        amortization=Amortization.EQUAL_PRINCIPAL,
        rate_per_period=Decimal("0.01"),
        first_due_date=date(2026, 2, 1),
        disbursed_on=date(2026, 1, 1),
        day_count=day_count,
    )
    schedule = build_schedule(terms)
    assert [row.interest for row in schedule.installments] == interests
    assert [row.principal for row in schedule.installments] == [500_000, 500_000]


def test_actual_day_count_without_disbursement_date_starts_one_period_earlier() -> None:
    # First period taken as Jan 1 → Feb 1 (31 days), same as disbursing on Jan 1.
    terms = LoanTerms(
        principal=1_000_000,
        installments=1,
        frequency=Frequency.MONTHLY,
        interest_method=InterestMethod.DECLINING_BALANCE,
        rate_per_period=Decimal("0.01"),
        first_due_date=date(2026, 2, 1),
        day_count=DayCount.ACTUAL_365,
    )
    assert rows(build_schedule(terms)) == [(1_000_000, 10_192, 1_010_192)]


def test_long_first_period_is_interest_only_then_the_annuity_is_relevelled() -> None:
    # Weekly 0.5 % (26 %/year), actual/365, disbursed Jan 1, first due May 1: 120 days.
    # Interest 1 = 5,000,000 × 0.26 × 120/365 = 427,397.26 → 427,397, more than the
    # weekly annuity, so instalment 1 is interest only and the other 19 are level.
    terms = LoanTerms(
        principal=5_000_000,
        installments=20,
        frequency=Frequency.WEEKLY,
        interest_method=InterestMethod.DECLINING_BALANCE,
        rate_per_period=Decimal("0.005"),
        first_due_date=date(2026, 5, 1),
        disbursed_on=date(2026, 1, 1),
        day_count=DayCount.ACTUAL_365,
    )
    schedule = build_schedule(terms)
    first, *middle, last = schedule.installments
    assert (first.principal, first.interest) == (0, 427_397)
    # Interest of week 2 = 5,000,000 × 0.26 × 7/365 = 24,931.5 → 24,932.
    assert middle[0].interest == 24_932
    assert len({row.total for row in middle}) == 1
    assert abs(last.total - middle[0].total) < 20
    assert sum(row.principal for row in schedule.installments) == 5_000_000


def test_large_rounding_unit_never_makes_negative_principal() -> None:
    terms = dataclasses.replace(FLAT_5M, principal=10_000, rounding_unit=1000)
    schedule = build_schedule(terms)
    # 833.33 + 100 → 1,000 a month: 900 principal; the 12th gets 10,000 − 11 × 900 = 100.
    assert rows(schedule) == [(900, 100, 1000)] * 11 + [(100, 100, 200)]
    terms = dataclasses.replace(
        FLAT_5M, principal=10_000, rate_per_period=Decimal(0), rounding_unit=3000
    )
    # 833.33 → 0 (half up to 3,000): no principal until the last instalment.
    assert [row.principal for row in build_schedule(terms).installments] == [0] * 11 + [10_000]


def test_rounding_up_that_would_exhaust_the_principal_early_rounds_down() -> None:
    # 900,000 over 3 months, flat 1 % = 9,000: 300,000 + 9,000 = 309,000 → 500,000 half up
    # to the unit would mean principal 491,000, 409,000 and then a third instalment of
    # interest only on nothing.  So the level rounds down (to 0): all principal comes last.
    terms = dataclasses.replace(FLAT_5M, principal=900_000, installments=3, rounding_unit=500_000)
    assert rows(build_schedule(terms)) == [
        (0, 9_000, 9_000),
        (0, 9_000, 9_000),
        (900_000, 9_000, 909_000),
    ]
    # Declining-balance annuity: 2,000,000 over 3 at 1 % → A = 680,044.23 → 500,000 to the
    # unit (no overshoot): interest 20,000, principal 480,000; then 1 % of 1,520,000 =
    # 15,200, principal 484,800; the last takes the 1,035,200 left + 10,352 interest.
    terms = dataclasses.replace(
        terms, principal=2_000_000, interest_method=InterestMethod.DECLINING_BALANCE
    )
    assert rows(build_schedule(terms)) == [
        (480_000, 20_000, 500_000),
        (484_800, 15_200, 500_000),
        (1_035_200, 10_352, 1_045_552),
    ]


@pytest.mark.parametrize(
    "change",
    [
        {"principal": 0},
        {"principal": AMOUNT_MINOR_MAX + 1},
        {"principal": True},
        {"installments": 0},
        {"installments": 361},
        {"rate_per_period": Decimal("-0.01")},
        {"rate_per_period": Decimal("1.5")},
        {"rate_per_period": Decimal("NaN")},
        {"rate_per_period": 0.01},
        {"penalty_rate_per_day": Decimal(-1)},
        {"grace_periods": 12},
        {"grace_periods": -1},
        {"rounding_unit": 0},
        {"day_count": DayCount.ACTUAL_365},  # flat must be per period
        {"disbursed_on": date(2026, 3, 5)},
        {"frequency": "monthly"},
        {"first_due_date": date(9999, 6, 1)},
    ],
)
def test_invalid_terms_are_refused(change: dict[str, object]) -> None:
    terms = dataclasses.replace(FLAT_5M, **change)  # type: ignore[arg-type]
    with pytest.raises(InvalidLoanTerms) as raised:
        check_loan_terms(terms)
    assert raised.value.code == "invalid_loan_terms"
    with pytest.raises(InvalidLoanTerms):
        build_schedule(terms)


def test_instalment_above_the_money_maximum_is_refused() -> None:
    terms = dataclasses.replace(
        FLAT_5M, principal=AMOUNT_MINOR_MAX, installments=2, rate_per_period=Decimal(1)
    )
    with pytest.raises(InvalidLoanTerms):
        build_schedule(terms)


def test_valid_terms_pass_through() -> None:
    assert check_loan_terms(FLAT_5M) is FLAT_5M
    with pytest.raises(dataclasses.FrozenInstanceError):
        FLAT_5M.principal = 1  # type: ignore[misc]


# --------------------------------------------------------------------------- repayments

FLAT_SCHEDULE = build_schedule(FLAT_5M)
FIRST_DUE = date(2026, 3, 5)


def test_on_time_instalment() -> None:
    state = opening_state(FLAT_SCHEDULE)
    allocation, state = allocate_repayment(FLAT_SCHEDULE, state, 466_667, FIRST_DUE)
    assert allocation == Allocation(penalty=0, interest=50_000, principal=416_667)
    assert outstanding_principal(FLAT_SCHEDULE, state) == 4_583_333
    assert days_overdue(FLAT_SCHEDULE, state, FIRST_DUE + timedelta(days=31)) == 0
    assert not is_closed(state)


def test_partial_payment_goes_to_interest_first() -> None:
    state = opening_state(FLAT_SCHEDULE)
    allocation, state = allocate_repayment(FLAT_SCHEDULE, state, 30_000, FIRST_DUE)
    assert allocation == Allocation(0, 30_000, 0)
    allocation, state = allocate_repayment(FLAT_SCHEDULE, state, 100_000, FIRST_DUE)
    assert allocation == Allocation(0, 20_000, 80_000)
    assert outstanding_principal(FLAT_SCHEDULE, state) == 4_920_000
    assert days_overdue(FLAT_SCHEDULE, state, FIRST_DUE + timedelta(days=3)) == 3


def test_two_overdue_instalments_pay_all_interest_before_principal() -> None:
    state = opening_state(FLAT_SCHEDULE)
    second_due = date(2026, 4, 5)
    allocation, state = allocate_repayment(FLAT_SCHEDULE, state, 500_000, second_due)
    # 50,000 + 50,000 interest, then principal of the oldest instalment first.
    assert allocation == Allocation(0, 100_000, 400_000)
    assert state.principal_paid[:2] == (400_000, 0)
    assert days_overdue(FLAT_SCHEDULE, state, second_due) == 31


def test_late_payment_with_penalty() -> None:
    # 0.1 %/day on the 466,667 unpaid, 10 days late: 4,666.67 → 4,667.
    rate = Decimal("0.001")
    on = FIRST_DUE + timedelta(days=10)
    state = opening_state(FLAT_SCHEDULE)
    assert days_overdue(FLAT_SCHEDULE, state, on) == 10
    assert amount_due(FLAT_SCHEDULE, state, on, rate) == 466_667 + 4_667
    allocation, state = allocate_repayment(FLAT_SCHEDULE, state, 466_667, on, rate)
    assert allocation == Allocation(4_667, 50_000, 412_000)
    assert state.penalty_paid == 4_667 and state.penalty_unpaid == 0
    # Five more days on the 4,667 left: 4,667 × 5 × 0.001 = 23.3 → 23.
    later = on + timedelta(days=5)
    assert amount_due(FLAT_SCHEDULE, state, later, rate) == 4_667 + 23
    allocation, state = allocate_repayment(FLAT_SCHEDULE, state, 4_690, later, rate)
    assert allocation == Allocation(23, 0, 4_667)
    assert days_overdue(FLAT_SCHEDULE, state, later) == 0


def test_penalty_accrues_only_once_for_the_same_days() -> None:
    rate = Decimal("0.001")
    on = FIRST_DUE + timedelta(days=10)
    state = opening_state(FLAT_SCHEDULE)
    _, state = allocate_repayment(FLAT_SCHEDULE, state, 1_000, on, rate)  # pays penalty
    assert state.penalty_unpaid == 3_667
    again = accrue_penalty(FLAT_SCHEDULE, state, on, rate)
    assert again.penalty_unpaid == 3_667


def test_early_payment_pays_only_the_interest_accrued_so_far() -> None:
    # Three days early, 25 of the period's 28 days (02-05 → 03-05) have run:
    # 50,000 × 25 / 28 = 44,642.9 → 44,643 interest; the rest pays principal ahead.
    state = opening_state(FLAT_SCHEDULE)
    allocation, state = allocate_repayment(
        FLAT_SCHEDULE, state, 466_667, FIRST_DUE - timedelta(days=3)
    )
    assert allocation == Allocation(0, 44_643, 422_024)
    # On the due date what is left of instalment 1 is the interest of its last 3 days.
    assert amount_due(FLAT_SCHEDULE, state, FIRST_DUE) == 50_000 - 44_643


def test_payoff_waives_future_flat_interest_and_closes() -> None:
    state = opening_state(FLAT_SCHEDULE)
    for k in range(3):
        due = FLAT_SCHEDULE.installments[k].due_date
        _, state = allocate_repayment(FLAT_SCHEDULE, state, 466_667, due)
    on = date(2026, 5, 20)
    payoff = payoff_amount(FLAT_SCHEDULE, state, on)
    # The principal left and instalment 4's interest for 15 of its 31 days (05-05 →
    # 06-05): 50,000 × 15 / 31 = 24,193.5 → 24,194.
    assert payoff == 5_000_000 - 3 * 416_667 + 24_194 == 3_774_193
    with pytest.raises(Overpayment) as raised:
        allocate_repayment(FLAT_SCHEDULE, state, payoff + 1, on)
    assert raised.value.code == "overpayment" and raised.value.payoff == payoff
    allocation, closed = allocate_repayment(FLAT_SCHEDULE, state, payoff, on)
    assert allocation == Allocation(0, 24_194, 3_749_999)
    assert is_closed(closed)
    assert closed.interest_waived == 9 * 50_000 - 24_194
    assert outstanding_principal(FLAT_SCHEDULE, closed) == 0
    assert payoff_amount(FLAT_SCHEDULE, closed, on) == 0
    assert days_overdue(FLAT_SCHEDULE, closed, date(2030, 1, 1)) == 0
    with pytest.raises(LoanClosed) as closed_error:
        allocate_repayment(FLAT_SCHEDULE, closed, 1, on)
    assert closed_error.value.code == "loan_closed"


def test_payoff_includes_due_interest_and_penalty() -> None:
    rate = Decimal("0.001")
    on = FIRST_DUE + timedelta(days=10)
    state = opening_state(FLAT_SCHEDULE)
    # penalty 4,667 + interest of instalment 1 (50,000) + instalment 2's for 10 of its
    # 31 days (50,000 × 10 / 31 = 16,129.03 → 16,129) + all principal.
    payoff = 4_667 + 50_000 + 16_129 + 5_000_000
    assert payoff_amount(FLAT_SCHEDULE, state, on, rate) == payoff
    allocation, state = allocate_repayment(FLAT_SCHEDULE, state, payoff, on, rate)
    assert allocation == Allocation(4_667, 66_129, 5_000_000)
    assert is_closed(state) and state.interest_waived == 11 * 50_000 - 16_129


def test_paying_every_instalment_on_time_closes_the_loan() -> None:
    state = opening_state(FLAT_SCHEDULE)
    for row in FLAT_SCHEDULE.installments:
        allocation, state = allocate_repayment(FLAT_SCHEDULE, state, row.total, row.due_date)
        assert allocation == Allocation(0, row.interest, row.principal)
    assert is_closed(state) and state.interest_waived == 0
    assert sum(state.interest_paid) == FLAT_SCHEDULE.total_interest


def test_bad_amounts_and_order_are_refused() -> None:
    state = opening_state(FLAT_SCHEDULE)
    for bad in (0, -5, 1.5, True, Decimal(10)):
        with pytest.raises(InvalidAmount):
            allocate_repayment(FLAT_SCHEDULE, state, bad, FIRST_DUE)  # type: ignore[arg-type]
    _, paid = allocate_repayment(FLAT_SCHEDULE, state, 1_000, FIRST_DUE)
    with pytest.raises(RepaymentOutOfOrder):
        allocate_repayment(FLAT_SCHEDULE, paid, 1_000, FIRST_DUE - timedelta(days=1))
    with pytest.raises(InvalidLoanState):
        allocate_repayment(FLAT_SCHEDULE, LoanState((0,), (0,)), 1_000, FIRST_DUE)


def test_days_overdue_counts_from_the_oldest_unpaid_instalment() -> None:
    state = opening_state(FLAT_SCHEDULE)
    assert days_overdue(FLAT_SCHEDULE, state, FIRST_DUE - timedelta(days=5)) == 0
    assert days_overdue(FLAT_SCHEDULE, state, FIRST_DUE) == 0
    assert days_overdue(FLAT_SCHEDULE, state, FIRST_DUE + timedelta(days=40)) == 40


def test_portfolio_at_risk() -> None:
    loans = [(1_000, 0), (2_000, 31), (3_000, 30), (4_000, 90)]
    assert portfolio_at_risk(loans) == (6_000, 10_000)
    assert portfolio_at_risk(loans, days=0) == (9_000, 10_000)
    assert portfolio_at_risk([]) == (0, 0)
    assert portfolio_at_risk(iter(loans), days=90) == (0, 10_000)
    with pytest.raises(InvalidPortfolioInput):
        portfolio_at_risk([(-1, 0)])
    with pytest.raises(InvalidPortfolioInput):
        portfolio_at_risk([(1, -1)])
    with pytest.raises(InvalidPortfolioInput):
        portfolio_at_risk([], days=-1)


# --------------------------------------------------------------------------- properties


@st.composite
def loan_terms(draw: st.DrawFn) -> LoanTerms:
    installments = draw(st.integers(1, 36))
    method = draw(st.sampled_from(InterestMethod))
    first_due = draw(st.dates(date(2000, 1, 1), date(2100, 12, 31)))
    disbursed = draw(st.none() | st.integers(1, 120).map(lambda d: first_due - timedelta(d)))
    day_count = (
        DayCount.PER_PERIOD if method is InterestMethod.FLAT else draw(st.sampled_from(DayCount))
    )
    return LoanTerms(
        principal=draw(st.integers(1, 10**12)),
        installments=installments,
        frequency=draw(st.sampled_from(Frequency)),
        interest_method=method,
        amortization=draw(st.sampled_from(Amortization)),
        rate_per_period=Decimal(draw(st.integers(0, 5000))) / 10_000,
        first_due_date=first_due,
        disbursed_on=disbursed,
        grace_periods=draw(st.integers(0, installments - 1)),
        day_count=day_count,
        rounding_unit=draw(st.sampled_from([1, 10, 100, 1000, 5000, 100_000])),
        penalty_rate_per_day=Decimal(draw(st.integers(0, 50))) / 10_000,
        prepayment=draw(st.sampled_from(Prepayment)),
    )


@settings(max_examples=300, deadline=None)
@given(loan_terms())
def test_schedule_sums_exactly_and_has_no_negative_component(terms: LoanTerms) -> None:
    schedule = build_schedule(terms)
    items = schedule.installments
    assert len(items) == terms.installments
    assert [row.number for row in items] == list(range(1, terms.installments + 1))
    assert all(a.due_date < b.due_date for a, b in itertools.pairwise(items))
    assert items[0].due_date == terms.first_due_date
    assert all(row.principal >= 0 and row.interest >= 0 for row in items)
    assert all(row.total == row.principal + row.interest for row in items)
    assert sum(row.principal for row in items) == terms.principal == schedule.total_principal
    assert sum(row.interest for row in items) == schedule.total_interest
    assert sum(row.total for row in items) == schedule.total_principal + schedule.total_interest
    assert all(row.principal == 0 for row in items[: terms.grace_periods])
    if terms.interest_method is InterestMethod.FLAT:
        # round(P × r × n), spread evenly, the remainder (< n) in the last instalment
        total = int((terms.principal * terms.rate_per_period * terms.installments
                     ).to_integral_value(ROUND_HALF_UP))
        assert schedule.total_interest == total
        assert {row.interest for row in items[:-1]} <= {total // terms.installments}
        assert 0 <= items[-1].interest - total // terms.installments < terms.installments
    if terms.rate_per_period == 0:
        assert schedule.total_interest == 0


# A payment plan: (days after the previous payment, share of the payoff in 1/1000,
# or 1000 = exactly the payoff).
payments = st.lists(st.tuples(st.integers(0, 60), st.integers(1, 1000)), min_size=1, max_size=25)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan_terms(), payments)
def test_random_repayments_conserve_and_never_overpay(
    terms: LoanTerms, plan: list[tuple[int, int]]
) -> None:
    schedule = build_schedule(terms)
    rate = terms.penalty_rate_per_day
    state = opening_state(schedule)
    on = terms.first_due_date - timedelta(days=20)
    previous_outstanding = terms.principal
    for gap, share in plan:
        on += timedelta(days=gap)
        if is_closed(state):
            with pytest.raises(LoanClosed):
                allocate_repayment(schedule, state, 1, on, rate)
            assert payoff_amount(schedule, state, on, rate) == 0
            break
        payoff = payoff_amount(schedule, state, on, rate)
        assert payoff >= outstanding_principal(schedule, state) > 0
        assert amount_due(schedule, state, on, rate) <= payoff
        if payoff + 1 <= AMOUNT_MINOR_MAX:
            with pytest.raises(Overpayment):
                allocate_repayment(schedule, state, payoff + 1, on, rate)
        amount = min(max(payoff * share // 1000, 1), AMOUNT_MINOR_MAX)
        allocation, new_state = allocate_repayment(schedule, state, amount, on, rate)
        assert allocation.penalty + allocation.interest + allocation.principal == amount
        assert min(allocation) >= 0
        outstanding = outstanding_principal(schedule, new_state)
        assert 0 <= outstanding == previous_outstanding - allocation.principal
        assert is_closed(new_state) == (amount == payoff)
        for row, p, i in zip(installments_in_force(schedule, new_state),
                             new_state.principal_paid, new_state.interest_paid, strict=True):
            assert 0 <= p <= row.principal and 0 <= i <= row.interest
        assert days_overdue(schedule, new_state, on) >= 0
        previous_outstanding, state = outstanding, new_state


@settings(max_examples=150, deadline=None)
@given(loan_terms(), st.integers(0, 60), st.integers(-30, 2000))
def test_paying_the_payoff_closes_the_loan(
    terms: LoanTerms, paid_instalments: int, days_from_first_due: int
) -> None:
    schedule = build_schedule(terms)
    rate = terms.penalty_rate_per_day
    state = opening_state(schedule)
    for row in schedule.installments[: min(paid_instalments, len(schedule.installments) - 1)]:
        if row.total == 0:
            continue
        _, state = allocate_repayment(schedule, state, row.total, row.due_date, rate)
    on = max(
        terms.first_due_date + timedelta(days=days_from_first_due),
        state.penalty_accrued_to or terms.first_due_date,
    )
    payoff = payoff_amount(schedule, state, on, rate)
    if payoff > AMOUNT_MINOR_MAX:
        return  # would need two payments; covered by the random plans above
    before = state
    with pytest.raises(Overpayment):
        allocate_repayment(schedule, state, payoff + 1, on, rate)
    assert state == before
    allocation, closed = allocate_repayment(schedule, state, payoff, on, rate)
    assert sum(allocation) == payoff
    assert allocation.principal == outstanding_principal(schedule, state)
    assert is_closed(closed) and outstanding_principal(schedule, closed) == 0
    assert closed.penalty_unpaid == 0
    assert sum(closed.interest_paid) + closed.interest_waived == schedule.total_interest
    assert days_overdue(schedule, closed, on + timedelta(days=400)) == 0
    with pytest.raises(LoanClosed):
        allocate_repayment(schedule, closed, 1, on, rate)


@settings(max_examples=100, deadline=None)
@given(loan_terms())
def test_paying_the_schedule_on_time_closes_without_penalty(terms: LoanTerms) -> None:
    schedule = build_schedule(terms)
    rate = terms.penalty_rate_per_day
    state = opening_state(schedule)
    for row in schedule.installments:
        assert days_overdue(schedule, state, row.due_date) == 0
        if row.total == 0:
            continue
        allocation, state = allocate_repayment(schedule, state, row.total, row.due_date, rate)
        assert allocation == Allocation(0, row.interest, row.principal)
    assert is_closed(state)
    assert state.interest_waived == 0 and state.penalty_paid == 0
