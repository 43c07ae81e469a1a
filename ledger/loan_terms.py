"""The bounds on the terms of a new loan (an application, or a loan rescheduled before
it is paid out): within the law and common sense.

Rules (each refusal is `LoanTermsOutOfBounds`, code `invalid_loan_terms`, naming its
`TermRule`):

annual_rate_max
    The annual rate — rate_per_period × periods per year (52 weekly, 26 biweekly, 12
    monthly, 4 quarterly) — is at most 20 % (Civil Code 2015, art. 468).
penalty_rate_max
    The overdue penalty, as a yearly rate — penalty_rate_per_day × 365 — is at most
    150 % of the loan's annual rate (art. 466): 1 %/month (12 %/year) allows at most
    18 %/year, 0.0493 %/day. An interest-free loan takes no penalty.
principal_min
    The principal is at least one rounding unit per instalment
    (principal ≥ rounding_unit × installments).
rounding_unit_max
    The rounding unit is no larger than the smallest instalment of the schedule
    (every instalment's total ≥ rounding_unit, so no instalment is 0).

Everything is compared exactly in Decimal (rates are decimal strings, never floats).
These rules apply when terms are set; loans recorded before them keep their terms.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Final

from ledger.loans import InvalidLoanTerms, LoanTerms, Schedule, build_schedule, check_loan_terms

ANNUAL_RATE_MAX: Final = Decimal("0.2")  # Civil Code art. 468: 20 % a year
PENALTY_TO_RATE_RATIO_MAX: Final = Decimal("1.5")  # Civil Code art. 466: 150 % of the rate
DAYS_PER_YEAR: Final = 365


class TermRule(StrEnum):
    ANNUAL_RATE_MAX = "annual_rate_max"
    PENALTY_RATE_MAX = "penalty_rate_max"
    PRINCIPAL_MIN = "principal_min"
    ROUNDING_UNIT_MAX = "rounding_unit_max"


class LoanTermsOutOfBounds(InvalidLoanTerms):
    """Terms a schedule could be built for, but outside a bound: `rule` names it,
    `field` the term at fault, `values` the figures (decimal strings and integers)."""

    def __init__(self, rule: TermRule, field: str, detail: str, **values: str | int) -> None:
        super().__init__(detail)
        self.rule = rule
        self.field = field
        self.values = values


def annual_rate(terms: LoanTerms) -> Decimal:
    """rate_per_period × periods per year (exact)."""
    return terms.rate_per_period * terms.frequency.periods_per_year


def penalty_annual_rate(terms: LoanTerms) -> Decimal:
    """penalty_rate_per_day × 365 (exact)."""
    return terms.penalty_rate_per_day * DAYS_PER_YEAR


def percent(rate: Decimal) -> str:
    """A rate as a percentage without trailing zeros: Decimal("0.185") → "18.5"."""
    text = f"{rate * 100:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def check_term_bounds(terms: LoanTerms) -> Schedule:
    """The schedule of `terms` when they are valid (`check_loan_terms`) and within every
    bound; else raise InvalidLoanTerms, LoanTermsOutOfBounds naming the first rule
    broken (in the order above)."""
    check_loan_terms(terms)
    rate = annual_rate(terms)
    if rate > ANNUAL_RATE_MAX:
        raise LoanTermsOutOfBounds(
            TermRule.ANNUAL_RATE_MAX, "rate_per_period",
            f"the annual rate {percent(rate)} % (rate per period × "
            f"{terms.frequency.periods_per_year} periods a year) is above "
            f"{percent(ANNUAL_RATE_MAX)} % (Civil Code art. 468)",
            annual_rate_percent=percent(rate), limit_percent=percent(ANNUAL_RATE_MAX),
            periods_per_year=terms.frequency.periods_per_year,
        )
    penalty = penalty_annual_rate(terms)
    penalty_max = rate * PENALTY_TO_RATE_RATIO_MAX
    if penalty > penalty_max:
        raise LoanTermsOutOfBounds(
            TermRule.PENALTY_RATE_MAX, "penalty_rate_per_day",
            f"the penalty {percent(penalty)} % a year (per day × {DAYS_PER_YEAR}) is above "
            f"{percent(PENALTY_TO_RATE_RATIO_MAX)} % of the loan's annual rate "
            f"{percent(rate)} %, that is {percent(penalty_max)} % (Civil Code art. 466)",
            penalty_percent=percent(penalty), limit_percent=percent(penalty_max),
            annual_rate_percent=percent(rate),
        )
    principal_min = terms.rounding_unit * terms.installments
    if terms.principal < principal_min:
        raise LoanTermsOutOfBounds(
            TermRule.PRINCIPAL_MIN, "principal",
            f"the principal {terms.principal} is less than one rounding unit "
            f"({terms.rounding_unit}) per instalment ({terms.installments}): "
            f"at least {principal_min}",
            principal=terms.principal, rounding_unit=terms.rounding_unit,
            installments=terms.installments, principal_min=principal_min,
        )
    schedule = build_schedule(terms)
    smallest = min(schedule.installments, key=lambda row: row.total)
    if smallest.total < terms.rounding_unit:
        raise LoanTermsOutOfBounds(
            TermRule.ROUNDING_UNIT_MAX, "rounding_unit",
            f"the rounding unit {terms.rounding_unit} is larger than instalment "
            f"{smallest.number} ({smallest.total})",
            rounding_unit=terms.rounding_unit, installment=smallest.number,
            installment_total=smallest.total,
        )
    return schedule
