"""The bounds on a new loan's terms and the flat-interest rule: worked examples and
properties."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.loan_terms import LoanTermsOutOfBounds, TermRule, check_term_bounds, percent
from ledger.loans import (
    Amortization,
    DayCount,
    Frequency,
    InterestMethod,
    InvalidLoanTerms,
    LoanTerms,
    build_schedule,
)
from tests.unit.test_loans import FLAT_5M

PERIODS_PER_YEAR = {Frequency.WEEKLY: 52, Frequency.BIWEEKLY: 26, Frequency.MONTHLY: 12,
                    Frequency.QUARTERLY: 4}


def refused_rule(terms: LoanTerms) -> TermRule:
    with pytest.raises(LoanTermsOutOfBounds) as raised:
        check_term_bounds(terms)
    assert raised.value.code == "invalid_loan_terms"
    return raised.value.rule


# --------------------------------------------------------------------------- flat interest


def test_flat_interest_is_rounded_once_on_the_total() -> None:
    # 3,333,333 × 0.7 % × 12 = 279,999.9972 → 280,000 (per instalment it was 23,333.33 →
    # 23,333, × 12 = 279,996). 280,000 // 12 = 23,333; the last takes 23,333 + 4.
    # Principal 3,333,333 / 12 = 277,777.75 → 277,778; the last 3,333,333 − 11 × 277,778.
    terms = dataclasses.replace(FLAT_5M, principal=3_333_333, rate_per_period=Decimal("0.007"))
    schedule = check_term_bounds(terms)
    assert schedule.total_interest == 280_000
    assert [row.interest for row in schedule.installments] == [23_333] * 11 + [23_337]
    assert [row.principal for row in schedule.installments] == [277_778] * 11 + [277_775]


def test_flat_interest_rounds_half_up() -> None:
    # 1,000,005 × 0.5 % × 1 = 5,000.025 → 5,000; 1,000,100 × 0.5 % × 1 = 5,000.5 → 5,001.
    one = dataclasses.replace(FLAT_5M, installments=1, rate_per_period=Decimal("0.005"))
    assert build_schedule(dataclasses.replace(one, principal=1_000_005)).total_interest == 5_000
    assert build_schedule(dataclasses.replace(one, principal=1_000_100)).total_interest == 5_001


# --------------------------------------------------------------------------- bounds


@pytest.mark.parametrize(("frequency", "allowed", "refused"), [
    (Frequency.MONTHLY, "0.016666666666", "0.016666666667"),  # × 12 vs 20 %
    (Frequency.QUARTERLY, "0.05", "0.050000000001"),  # exactly 20 % is allowed
    (Frequency.WEEKLY, "0.003846153846", "0.003846153847"),  # × 52
    (Frequency.BIWEEKLY, "0.007692307692", "0.007692307693"),  # × 26
])
def test_the_annual_rate_is_at_most_20_percent(
    frequency: Frequency, allowed: str, refused: str
) -> None:
    terms = dataclasses.replace(FLAT_5M, frequency=frequency, installments=4)
    check_term_bounds(dataclasses.replace(terms, rate_per_period=Decimal(allowed)))
    rule = refused_rule(dataclasses.replace(terms, rate_per_period=Decimal(refused)))
    assert rule is TermRule.ANNUAL_RATE_MAX


def test_100_percent_a_month_is_refused_naming_the_rule() -> None:
    with pytest.raises(LoanTermsOutOfBounds) as raised:
        check_term_bounds(dataclasses.replace(FLAT_5M, rate_per_period=Decimal(1)))
    assert raised.value.rule is TermRule.ANNUAL_RATE_MAX
    assert raised.value.field == "rate_per_period"
    assert raised.value.values["annual_rate_percent"] == "1200"
    assert "Civil Code art. 468" in raised.value.detail


def test_the_penalty_is_at_most_150_percent_of_the_loans_rate() -> None:
    # 1 %/month = 12 %/year: the penalty may reach 18 %/year = 0.0493150…%/day.
    check_term_bounds(dataclasses.replace(FLAT_5M, penalty_rate_per_day=Decimal("0.000493")))
    for penalty in ("0.000494", "0.5"):  # the second: 50 %/day
        terms = dataclasses.replace(FLAT_5M, penalty_rate_per_day=Decimal(penalty))
        assert refused_rule(terms) is TermRule.PENALTY_RATE_MAX
    free = dataclasses.replace(FLAT_5M, rate_per_period=Decimal(0))
    check_term_bounds(free)
    assert refused_rule(dataclasses.replace(free, penalty_rate_per_day=Decimal("0.0001"))) \
        is TermRule.PENALTY_RATE_MAX


def test_a_principal_of_less_than_one_unit_per_instalment_is_refused() -> None:
    # 1 đồng over 12 instalments was eleven zero instalments.
    assert refused_rule(dataclasses.replace(FLAT_5M, principal=1)) is TermRule.PRINCIPAL_MIN
    assert refused_rule(dataclasses.replace(FLAT_5M, principal=11_999, rounding_unit=1000)) \
        is TermRule.PRINCIPAL_MIN
    check_term_bounds(dataclasses.replace(FLAT_5M, principal=12_000, rounding_unit=1000))


def test_a_rounding_unit_above_an_instalment_is_refused() -> None:
    # 3,000,000 over 12 to a unit of 500,000 (250,000 + 30,000 → 500,000 would use the
    # principal up early, so the level rounds down to 0) is one bullet payment after
    # eleven instalments of interest only: less than one unit per instalment.
    terms = dataclasses.replace(FLAT_5M, principal=3_000_000, rounding_unit=500_000)
    assert [row.principal for row in build_schedule(terms).installments] == [0] * 11 + [3_000_000]
    assert refused_rule(terms) is TermRule.PRINCIPAL_MIN
    # 12,000,000 interest only at 1 %: eleven instalments of 120,000, below a unit of
    # 500,000.
    terms = dataclasses.replace(FLAT_5M, principal=12_000_000, rounding_unit=500_000,
                                amortization=Amortization.INTEREST_ONLY)
    with pytest.raises(LoanTermsOutOfBounds) as raised:
        check_term_bounds(terms)
    assert raised.value.rule is TermRule.ROUNDING_UNIT_MAX
    assert raised.value.values == {"rounding_unit": 500_000, "installment": 1,
                                   "installment_total": 120_000}
    check_term_bounds(dataclasses.replace(terms, rounding_unit=100_000))
    # An interest-free grace period is an instalment of 0: refused (set a later first
    # due date instead).
    free = dataclasses.replace(FLAT_5M, rate_per_period=Decimal(0), grace_periods=2)
    assert refused_rule(free) is TermRule.ROUNDING_UNIT_MAX


def test_a_last_instalment_below_the_unit_rounds_the_level_down_instead() -> None:
    # 6,660,000 / 12 = 555,000 → 600,000 half up to 100,000 would leave 60,000 last;
    # rounded down: 500,000 × 11 and 1,160,000 last.
    terms = dataclasses.replace(FLAT_5M, principal=6_660_000, rate_per_period=Decimal(0),
                                rounding_unit=100_000)
    rows = [row.total for row in check_term_bounds(terms).installments]
    assert rows == [500_000] * 11 + [1_160_000]


def test_terms_the_schedule_cannot_take_are_refused_before_the_bounds() -> None:
    with pytest.raises(InvalidLoanTerms) as raised:
        check_term_bounds(dataclasses.replace(FLAT_5M, installments=0))
    assert not isinstance(raised.value, LoanTermsOutOfBounds)


def test_percent_is_written_without_trailing_zeros() -> None:
    assert [percent(Decimal(v)) for v in ("0.2", "0.12", "0.185", "0", "1", "0.000493")] == [
        "20", "12", "18.5", "0", "100", "0.0493"]


# --------------------------------------------------------------------------- properties


@st.composite
def any_terms(draw: st.DrawFn) -> LoanTerms:
    """Terms a schedule can be built for, inside and outside the bounds."""
    installments = draw(st.integers(1, 36))
    method = draw(st.sampled_from(InterestMethod))
    return LoanTerms(
        principal=draw(st.integers(1, 10**6) | st.integers(1, 10**11)),
        installments=installments,
        frequency=draw(st.sampled_from(Frequency)),
        interest_method=method,
        amortization=draw(st.sampled_from(Amortization)),
        rate_per_period=Decimal(draw(st.integers(0, 600))) / 10_000,
        first_due_date=date(2026, 3, 5),
        grace_periods=draw(st.integers(0, installments - 1) | st.just(0)),
        day_count=(DayCount.PER_PERIOD if method is InterestMethod.FLAT
                   else draw(st.sampled_from(DayCount))),
        rounding_unit=draw(st.sampled_from([1, 10, 1000, 5000, 100_000, 500_000])),
        penalty_rate_per_day=Decimal(draw(st.integers(0, 100))) / 100_000,
    )


def annual(terms: LoanTerms) -> Fraction:
    return Fraction(terms.rate_per_period) * PERIODS_PER_YEAR[terms.frequency]


def round_half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2)) if value >= 0 else -round_half_up(-value)


@settings(max_examples=400, deadline=None)
@given(any_terms())
def test_accepted_terms_keep_every_bound_and_refused_ones_break_the_rule_named(
    terms: LoanTerms,
) -> None:
    try:
        schedule = check_term_bounds(terms)
    except LoanTermsOutOfBounds as refused:
        broken = {
            TermRule.ANNUAL_RATE_MAX: annual(terms) > Fraction(1, 5),
            TermRule.PENALTY_RATE_MAX:
                Fraction(terms.penalty_rate_per_day) * 365 > annual(terms) * Fraction(3, 2),
            TermRule.PRINCIPAL_MIN: terms.principal < terms.rounding_unit * terms.installments,
            TermRule.ROUNDING_UNIT_MAX: any(row.total < terms.rounding_unit
                                            for row in build_schedule(terms).installments),
        }
        assert broken[refused.rule]
        return
    rows = schedule.installments
    assert annual(terms) <= Fraction(1, 5)
    assert Fraction(terms.penalty_rate_per_day) * 365 <= annual(terms) * Fraction(3, 2)
    assert terms.principal >= terms.rounding_unit * terms.installments
    assert sum(row.principal for row in rows) == terms.principal
    assert all(row.total >= terms.rounding_unit >= 1 for row in rows)  # no zero instalment
    if terms.interest_method is InterestMethod.FLAT:
        total = round_half_up(terms.principal * Fraction(terms.rate_per_period)
                              * terms.installments)
        assert sum(row.interest for row in rows) == schedule.total_interest == total
        assert all(row.interest == total // terms.installments for row in rows[:-1])


@settings(max_examples=200, deadline=None)
@given(any_terms(), st.integers(1, 10**6))
def test_every_rate_above_20_percent_a_year_is_refused(terms: LoanTerms, excess: int) -> None:
    rate = Fraction(1, 5) / PERIODS_PER_YEAR[terms.frequency] + Fraction(excess, 10**12)
    over = dataclasses.replace(terms, rate_per_period=Decimal(rate.numerator)
                               / Decimal(rate.denominator))
    if Fraction(over.rate_per_period) * PERIODS_PER_YEAR[terms.frequency] > Fraction(1, 5):
        assert refused_rule(over) is TermRule.ANNUAL_RATE_MAX


@settings(max_examples=200, deadline=None)
@given(any_terms(), st.integers(1, 10**6))
def test_every_penalty_above_150_percent_of_the_rate_is_refused(
    terms: LoanTerms, excess: int
) -> None:
    terms = dataclasses.replace(terms, rate_per_period=min(
        terms.rate_per_period, Decimal("0.2") / PERIODS_PER_YEAR[terms.frequency]))
    limit = annual(terms) * Fraction(3, 2) / 365 + Fraction(excess, 10**12)
    over = dataclasses.replace(terms, penalty_rate_per_day=Decimal(limit.numerator)
                               / Decimal(limit.denominator))
    assert refused_rule(over) is TermRule.PENALTY_RATE_MAX


@settings(max_examples=300, deadline=None)
@given(any_terms(), st.integers(1, 50))
def test_loans_of_level_principal_within_the_bounds_are_accepted(
    terms: LoanTerms, units_per_installment: int
) -> None:
    """Flat loans, and declining loans of equal principal, without grace periods, at a
    lawful rate and penalty, of at least one unit per instalment, are always accepted:
    the bounds refuse only what they name."""
    if terms.interest_method is InterestMethod.DECLINING_BALANCE:
        amortization = Amortization.EQUAL_PRINCIPAL
    else:
        amortization = (Amortization.EQUAL_PRINCIPAL if terms.amortization
                        is Amortization.EQUAL_PRINCIPAL else Amortization.EQUAL_INSTALLMENTS)
    rate = min(terms.rate_per_period, Decimal("0.2") / PERIODS_PER_YEAR[terms.frequency])
    unit = terms.rounding_unit
    lawful = dataclasses.replace(
        terms, amortization=amortization, grace_periods=0, rate_per_period=rate,
        penalty_rate_per_day=Decimal(0),
        principal=max(terms.principal, unit * terms.installments * units_per_installment)
        if terms.principal % 2 else unit * terms.installments + terms.principal % unit)
    schedule = check_term_bounds(lawful)
    assert all(row.total >= unit for row in schedule.installments)
