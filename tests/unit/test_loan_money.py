"""Loan money to the day: interest accrues by the day, payments never pay interest not
yet accrued, principal paid ahead recomputes a declining-balance loan. Worked examples
computed by hand, then properties for any terms and any payments."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.loans import (
    Allocation,
    Frequency,
    InterestMethod,
    LoanState,
    LoanTerms,
    Prepayment,
    RecordedRepayment,
    Schedule,
    WaivedPart,
    WaiverTooLarge,
    allocate_repayment,
    build_schedule,
    installments_in_force,
    interest_accrued,
    is_closed,
    opening_state,
    outstanding_principal,
    payoff_amount,
    replay_repayments,
    waive,
)
from ledger.money import AMOUNT_MINOR_MAX
from tests.unit.test_loans import loan_terms

# The loan of the worked examples: 10,000,000 at 1 %/month, 12 monthly instalments,
# disbursed 2026-02-10, first due 2026-03-10.
FLAT_10M = LoanTerms(
    principal=10_000_000, installments=12, frequency=Frequency.MONTHLY,
    interest_method=InterestMethod.FLAT, rate_per_period=Decimal("0.01"),
    first_due_date=date(2026, 3, 10), disbursed_on=date(2026, 2, 10),
)
DECLINING_10M = dataclasses.replace(FLAT_10M, interest_method=InterestMethod.DECLINING_BALANCE)


def test_flat_payoff_the_day_before_the_first_due_date() -> None:
    # 27 of the first period's 28 days (02-10 → 03-10) have run:
    # 100,000 × 27 / 28 = 96,428.57 → 96,429.
    schedule = build_schedule(FLAT_10M)
    state = opening_state(schedule)
    assert payoff_amount(schedule, state, date(2026, 3, 9)) == 10_096_429
    allocation, closed = allocate_repayment(schedule, state, 10_096_429, date(2026, 3, 9))
    assert allocation == Allocation(0, 96_429, 10_000_000) and is_closed(closed)


def test_flat_payoff_less_one_pays_no_future_interest() -> None:
    # On 03-10 instalment 1 is due (100,000 interest, 833,333 principal) and instalment
    # 2 has accrued nothing yet: the payoff is 10,100,000. One đồng less pays the
    # interest due and all but one đồng of the principal.
    schedule = build_schedule(FLAT_10M)
    on = date(2026, 3, 10)
    state = opening_state(schedule)
    assert payoff_amount(schedule, state, on) == 10_100_000
    allocation, state = allocate_repayment(schedule, state, 10_099_999, on)
    assert allocation == Allocation(0, 100_000, 9_999_999)
    assert outstanding_principal(schedule, state) == 1
    assert payoff_amount(schedule, state, on) == 1
    assert not is_closed(state)


def test_declining_instalment_plus_five_million_reduces_the_term() -> None:
    # Annuity 10,000,000 × 0.01 / (1 − 1.01^−12) = 888,487.9 → 888,488: instalment 1 is
    # 100,000 interest + 788,488 principal. Paying it and 5,000,000 more on its due date:
    # interest 100,000, principal 788,488 + 5,000,000 = 5,788,488; 4,211,512 left.
    schedule = build_schedule(DECLINING_10M)
    on = date(2026, 3, 10)
    allocation, state = allocate_repayment(
        schedule, opening_state(schedule), 888_488 + 5_000_000, on)
    assert allocation == Allocation(0, 100_000, 5_788_488)
    assert outstanding_principal(schedule, state) == 4_211_512
    # reduce_term: the instalment stays 888,488 and the term shrinks. Instalment 2's
    # interest is on the principal left: 4,211,512 × 1 % = 42,115.
    rows = installments_in_force(schedule, state)[1:]
    assert [(r.interest, r.principal) for r in rows] == [
        (42_115, 846_373), (33_651, 854_837), (25_103, 863_385), (16_469, 872_019),
        (7_749, 774_898)]
    assert [r.total for r in rows[:-1]] == [888_488] * 4
    assert sum(r.principal for r in rows) == 4_211_512


def test_declining_prepayment_can_reduce_the_instalment_instead() -> None:
    terms = dataclasses.replace(DECLINING_10M, prepayment=Prepayment.REDUCE_INSTALLMENT)
    schedule = build_schedule(terms)
    _, state = allocate_repayment(
        schedule, opening_state(schedule), 888_488 + 5_000_000, date(2026, 3, 10))
    rows = installments_in_force(schedule, state)[1:]
    # Eleven instalments stay: 4,211,512 × 0.01 / (1 − 1.01^−11) = 406,217.497 → 406,217.
    assert len(rows) == 11
    assert {r.total for r in rows[:-1]} == {406_217}
    assert sum(r.principal for r in rows) == 4_211_512


def test_prepayment_in_the_middle_of_a_period() -> None:
    # On 03-25 instalment 2 (03-10 → 04-10, 31 days, 92,115 interest on 9,211,512) has
    # run 15 days: 92,115 × 15 / 31 = 44,571.8 → 44,572 accrued, paid first; then
    # 1,000,000 of principal. The rest of the period accrues on 8,211,512:
    # 8,211,512 × 1 % × 16 / 31 = 42,382.0 → 42,382.
    schedule = build_schedule(DECLINING_10M)
    _, state = allocate_repayment(schedule, opening_state(schedule), 888_488, date(2026, 3, 10))
    on = date(2026, 3, 25)
    allocation, state = allocate_repayment(schedule, state, 44_572 + 1_000_000, on)
    assert allocation == Allocation(0, 44_572, 1_000_000)
    assert installments_in_force(schedule, state)[1].interest == 44_572 + 42_382
    assert payoff_amount(schedule, state, on) == 8_211_512
    # Eight days later: 44,572 + 42,382 × 8 / 16 = 65,763 accrued, 21,191 of it unpaid.
    assert payoff_amount(schedule, state, on + timedelta(days=8)) == 8_211_512 + 21_191


def test_a_waiver_forgives_penalty_or_interest_due() -> None:
    terms = dataclasses.replace(FLAT_10M, penalty_rate_per_day=Decimal("0.0005"))
    schedule = build_schedule(terms)
    on = date(2026, 3, 20)  # instalment 1 (933,333) ten days late: 4,666.7 → 4,667
    state = opening_state(schedule)
    with pytest.raises(WaiverTooLarge) as refused:
        waive(schedule, state, WaivedPart.PENALTY, 4_668, on, terms.penalty_rate_per_day)
    assert refused.value.waivable == 4_667
    state = waive(schedule, state, WaivedPart.PENALTY, 4_667, on, terms.penalty_rate_per_day)
    state = waive(schedule, state, WaivedPart.INTEREST, 60_000, on, terms.penalty_rate_per_day)
    assert (state.penalty_forgiven, state.interest_forgiven) == (4_667, 60_000)
    # Instalment 1 now asks 40,000 interest + 833,333 principal; instalment 2 has
    # accrued 100,000 × 10 / 31 = 32,258.
    allocation, _ = allocate_repayment(schedule, state, 873_333, on, terms.penalty_rate_per_day)
    assert allocation == Allocation(0, 40_000, 833_333)
    with pytest.raises(WaiverTooLarge):
        waive(schedule, state, WaivedPart.INTEREST, 40_001, on, terms.penalty_rate_per_day)


# --------------------------------------------------------------------------- properties

# A payment plan: (days after the previous payment, share of the payoff in 1/1000).
plans = st.lists(st.tuples(st.integers(0, 45), st.integers(1, 999)), min_size=0, max_size=12)


def pay_plan(
    schedule: Schedule, terms: LoanTerms, plan: list[tuple[int, int]], check: bool = False,
) -> tuple[LoanState, date, list[tuple[date, int]]]:
    """Pay `plan` from the disbursement; the state, the last date and what was paid."""
    rate = terms.penalty_rate_per_day
    state = opening_state(schedule)
    on = terms.disbursed_on or terms.first_due_date
    paid = []
    for gap, share in plan:
        on += timedelta(days=gap)
        payoff = payoff_amount(schedule, state, on, rate)
        amount = min(payoff * share // 1000, AMOUNT_MINOR_MAX)
        if amount < 1 or amount >= payoff:
            continue
        accrued = interest_accrued(schedule, state, on)
        _, state = allocate_repayment(schedule, state, amount, on, rate)
        paid.append((on, amount))
        if check:
            # Never a đồng of interest that has not accrued by the payment's date.
            assert sum(state.interest_paid) <= accrued
            assert interest_accrued(schedule, state, on) == accrued
    return state, on, paid


def disbursed(terms: LoanTerms) -> LoanTerms:
    return dataclasses.replace(
        terms, disbursed_on=terms.disbursed_on or terms.first_due_date - timedelta(days=30))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan_terms(), plans, st.integers(0, 400))
def test_interest_paid_never_runs_ahead_and_the_payoff_pays_what_accrued(
    terms: LoanTerms, plan: list[tuple[int, int]], days_later: int
) -> None:
    terms = disbursed(terms)
    schedule = build_schedule(terms)
    state, on, _ = pay_plan(schedule, terms, plan, check=True)
    on += timedelta(days=days_later)
    payoff = payoff_amount(schedule, state, on, terms.penalty_rate_per_day)
    if payoff > AMOUNT_MINOR_MAX:
        return
    accrued = interest_accrued(schedule, state, on)
    _, closed = allocate_repayment(schedule, state, payoff, on, terms.penalty_rate_per_day)
    assert is_closed(closed) and outstanding_principal(schedule, closed) == 0
    assert sum(closed.interest_paid) == accrued


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan_terms(), plans, st.data())
def test_how_a_day_s_payments_are_split_does_not_change_the_interest(
    terms: LoanTerms, plan: list[tuple[int, int]], data: st.DataObject
) -> None:
    """Two loans with the same terms, paid the same on the same days but split
    differently, closed the same day, have paid the same interest. A flat loan's
    interest is moreover what accrued to that day, whatever was paid before."""
    terms = disbursed(terms)
    schedule = build_schedule(terms)
    rate = terms.penalty_rate_per_day
    state, on, paid = pay_plan(schedule, terms, plan)
    split = []
    for key, (day, amount) in enumerate(paid):
        piece = data.draw(st.integers(0, amount - 1)) if amount > 1 else 0
        split += [RecordedRepayment(2 * key, day, amount - piece)]
        if piece:
            split += [RecordedRepayment(2 * key + 1, day, piece)]
    _, other = replay_repayments(schedule, split, rate)
    close_on = on + timedelta(days=data.draw(st.integers(0, 100)))
    payoff = payoff_amount(schedule, state, close_on, rate)
    assert payoff_amount(schedule, other, close_on, rate) == payoff
    if payoff > AMOUNT_MINOR_MAX:
        return
    _, closed = allocate_repayment(schedule, state, payoff, close_on, rate)
    _, other_closed = allocate_repayment(schedule, other, payoff, close_on, rate)
    assert sum(closed.interest_paid) == sum(other_closed.interest_paid)
    if terms.interest_method is InterestMethod.FLAT:
        assert sum(closed.interest_paid) == interest_accrued(
            schedule, opening_state(schedule), close_on)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(loan_terms(), plans, st.integers(0, 60), st.integers(1, 10**12))
def test_paying_the_payoff_less_x_leaves_x_owed(
    terms: LoanTerms, plan: list[tuple[int, int]], days_later: int, x: int
) -> None:
    terms = disbursed(terms)
    schedule = build_schedule(terms)
    rate = terms.penalty_rate_per_day
    state, on, _ = pay_plan(schedule, terms, plan)
    on += timedelta(days=days_later)
    payoff = payoff_amount(schedule, state, on, rate)
    if payoff - x < 1 or payoff - x > AMOUNT_MINOR_MAX:
        return
    _, state = allocate_repayment(schedule, state, payoff - x, on, rate)
    assert not is_closed(state)
    assert payoff_amount(schedule, state, on, rate) == x
