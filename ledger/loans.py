"""Loans: repayment schedules, repayment allocation, arrears and portfolio at risk.

Conventions (part of the public contract):

Rounding
    Every conversion to money rounds ROUND_HALF_UP to a whole minor unit (VND: one
    đồng). `rounding_unit` (e.g. 1000) rounds, ROUND_HALF_UP to a multiple of the
    unit, the level amount the borrower is quoted: the instalment total for
    equal_installments, the principal part for equal_principal. Interest is never
    rounded to the unit. The last instalment takes whatever principal is left, so
    principal sums to `terms.principal` exactly and no đồng is created or lost. When
    rounding up would use the principal up before the last instalment, the level
    amount is rounded down to the unit instead; so it is when rounding up would leave
    the last instalment below one unit and rounding down leaves none below it. An
    instalment's principal is clamped to [0, principal still outstanding]: never
    negative (so when each instalment repays only a few đồng, per-period interest
    rounding can leave the last declining-balance instalments at 0). The bounds on a
    new loan's terms (ledger/loan_terms.py) refuse such loans.

Interest methods
    flat: the total interest is round(principal × rate_per_period × installments)
    (ROUND_HALF_UP to one minor unit) on the original principal, charged over every
    instalment including grace periods: each instalment takes the total // installments
    and the last also takes the remainder (as it takes the principal left), so the
    interest sums to that total exactly.
    declining_balance: each instalment's interest is charged on the principal
    outstanding during its period (see day count); equal_installments uses the
    annuity A = P·r / (1 − (1 + r)^−m), computed in Decimal, r = rate_per_period,
    m = instalments after grace, rounded to the unit; principal = A − interest. With
    an actual_* day count each period has its own rate rₖ and A = P / Σₖ Πᵢ≤ₖ 1/(1 + rᵢ),
    the level payment that repays the loan exactly at those rates. Should a period's
    interest reach A (a long first period), that instalment is interest only and A is
    recomputed the same way for the remaining instalments.

Amortization
    equal_installments (level totals), equal_principal (level principal),
    interest_only (interest each period, all principal in the last instalment).

Grace periods
    The first `grace_periods` instalments pay interest only (flat or declining); the
    principal is spread over the remaining instalments.

Due dates
    Instalment k (0-based) falls k periods after `first_due_date`: 7 or 14 days, or
    1 or 3 calendar months, keeping the first due date's day of month and clamping it
    to the month's length (Jan 31 → Feb 28 → Mar 31 → Apr 30).

Day count (declining balance only; flat loans must use per_period)
    per_period: interest = outstanding × rate_per_period, whatever the period's length.
    actual_365 / actual_360 / thirty_360: rate_per_period is turned into an annual rate
    (× 52, 26, 12 or 4 for weekly, biweekly, monthly, quarterly) and
    interest = outstanding × annual rate × days / basis, where days are the actual days
    of the period (basis 365 or 360) or the 30E/360 days (day 31 counts as 30; basis
    360). Period k runs from the previous due date; the first from `disbursed_on`, or,
    when that is unknown, from one period before `first_due_date`.

Interest accrues by the day
    Within each period (from the previous due date; the first from `disbursed_on` or
    one period before `first_due_date`) the instalment's interest accrues by the actual
    days elapsed over the period's actual days, rounded half up to one minor unit; on
    its due date it is all due (`interest_accrued`). After principal was paid ahead in
    a period, what had accrued stays and the rest accrues from that day on.

Repayments
    A payment goes to accrued penalties, then to unpaid interest of the instalments due
    on or before the payment date (oldest first), then to their unpaid principal
    (oldest first), then to the current instalment's interest accrued by the day, then
    to the outstanding principal — never to interest not yet accrued. Penalty:
    penalty_rate_per_day × the unpaid total of each overdue instalment × the days it
    has been overdue (an instalment is overdue from the day after its due date),
    accrued at each payment and rounded once per accrual.

Principal paid ahead
    declining_balance: the instalments from the current one are recomputed on the
    principal left (the current one keeps what had accrued and accrues the rest of its
    period on the new principal). `Prepayment.REDUCE_TERM` keeps the level amount of
    the contract (the instalment, or the principal part for equal_principal) and drops
    the instalments no longer needed; `REDUCE_INSTALLMENT` keeps the instalments and
    levels them again on the principal left (rounded to the unit). interest_only keeps
    all principal in the last instalment either way. flat: the schedule stays (its
    interest is on the original principal): the money pays the coming instalments'
    principal, oldest first. The schedule in force is `installments_in_force`.

Payoff
    payoff = accrued penalties + unpaid interest of instalments due on or before the
    date + the current instalment's interest accrued and unpaid + all outstanding
    principal. Paying exactly the payoff closes the loan; the interest not yet accrued
    is dropped (`LoanState.interest_waived`). Paying more raises Overpayment (naming the
    payoff); paying a closed loan raises LoanClosed. A refused payment changes nothing
    (states are immutable values). Two loans with the same terms paid the same amounts
    on the same days, however a day's money is split, are in the same state.

Waivers
    `waive` forgives penalty accrued and unpaid, or interest of instalments due and
    unpaid (taken off those instalments), on a date; more raises WaiverTooLarge.
    `replay_repayments` applies waivers and repayments together in date order.

Portfolio at risk
    A loan is at risk when it is more than `days` days overdue (PAR30: > 30 days).
"""

from __future__ import annotations

import calendar
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import (
    ROUND_FLOOR,
    ROUND_HALF_EVEN,
    ROUND_HALF_UP,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from enum import StrEnum
from operator import attrgetter
from typing import Final, NamedTuple

from ledger.errors import LedgerError
from ledger.money import AMOUNT_MINOR_MAX, check_amount

MAX_INSTALLMENTS: Final = 360

# Enough digits for 10^15 × any sane rate × days with many decimals to spare.
_DECIMAL_CONTEXT: Final = Context(
    prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


class InvalidLoanTerms(LedgerError):
    code = "invalid_loan_terms"


class InvalidLoanState(LedgerError):
    """The repayment state does not belong to the schedule it is used with."""

    code = "invalid_loan_state"


class Overpayment(LedgerError):
    """A payment above the payoff (named: `payoff`, what closes the loan that day)."""

    code = "overpayment"

    def __init__(self, detail: str, detail_vi: str | None = None, *, payoff: int) -> None:
        super().__init__(detail, detail_vi)
        self.payoff = payoff


class LoanClosed(LedgerError):
    code = "loan_closed"


class RepaymentOutOfOrder(LedgerError):
    """A repayment dated before the last one already applied."""

    code = "repayment_out_of_order"


class InvalidPortfolioInput(LedgerError):
    code = "invalid_portfolio_input"


class InterestMethod(StrEnum):
    FLAT = "flat"
    DECLINING_BALANCE = "declining_balance"


class Amortization(StrEnum):
    EQUAL_INSTALLMENTS = "equal_installments"
    EQUAL_PRINCIPAL = "equal_principal"
    INTEREST_ONLY = "interest_only"


class Frequency(StrEnum):
    WEEKLY = "weekly"
    BIWEEKLY = "biweekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def periods_per_year(self) -> int:
        return _PERIODS_PER_YEAR[self]


_PERIODS_PER_YEAR: Final[dict[Frequency, int]] = {
    Frequency.WEEKLY: 52,
    Frequency.BIWEEKLY: 26,
    Frequency.MONTHLY: 12,
    Frequency.QUARTERLY: 4,
}


class DayCount(StrEnum):
    PER_PERIOD = "per_period"
    ACTUAL_365 = "actual_365"
    ACTUAL_360 = "actual_360"
    THIRTY_360 = "thirty_360"


class Prepayment(StrEnum):
    """What shrinks when a declining-balance loan's principal is paid ahead: the number
    of instalments (the instalment stays) or the instalment (the count stays)."""

    REDUCE_TERM = "reduce_term"
    REDUCE_INSTALLMENT = "reduce_installment"


class WaivedPart(StrEnum):
    PENALTY = "penalty"
    INTEREST = "interest"


class WaiverTooLarge(LedgerError):
    """A waiver of more penalty or interest than is due and unpaid on its date
    (`waivable`: how much may be forgiven)."""

    code = "waiver_too_large"

    def __init__(self, detail: str, detail_vi: str | None = None, *, waivable: int) -> None:
        super().__init__(detail, detail_vi)
        self.waivable = waivable


@dataclass(frozen=True, slots=True, kw_only=True)
class LoanTerms:
    """What the club and the borrower agreed. Check with `check_loan_terms`."""

    principal: int
    installments: int
    frequency: Frequency
    interest_method: InterestMethod
    rate_per_period: Decimal
    first_due_date: date
    amortization: Amortization = Amortization.EQUAL_INSTALLMENTS
    disbursed_on: date | None = None
    grace_periods: int = 0
    day_count: DayCount = DayCount.PER_PERIOD
    rounding_unit: int = 1
    penalty_rate_per_day: Decimal = Decimal(0)
    prepayment: Prepayment = Prepayment.REDUCE_TERM


class Installment(NamedTuple):
    number: int  # 1-based
    due_date: date
    principal: int
    interest: int
    total: int


class Schedule(NamedTuple):
    installments: tuple[Installment, ...]
    total_principal: int
    total_interest: int
    terms: LoanTerms | None = None  # what it was built from (build_schedule sets it)


class Allocation(NamedTuple):
    """How one repayment was split; the parts sum to the amount paid."""

    penalty: int
    interest: int
    principal: int


class LoanState(NamedTuple):
    """What has been paid on a schedule so far. Start from `opening_state(schedule)`."""

    principal_paid: tuple[int, ...]  # per instalment, in schedule order
    interest_paid: tuple[int, ...]  # per instalment, in schedule order
    penalty_unpaid: int = 0  # accrued up to penalty_accrued_to and not yet paid
    penalty_paid: int = 0
    penalty_accrued_to: date | None = None  # date of the last accrual (last repayment)
    interest_waived: int = 0  # interest not yet accrued, dropped by a payoff
    closed: bool = False
    # The schedule in force: () is the contractual one; a declining-balance loan's
    # principal paid ahead recomputes the instalments from the current one on.
    installments: tuple[Installment, ...] = ()
    principal_prepaid: int = 0  # paid ahead and folded into the recomputed instalments
    # The current instalment's interest accrued up to `accrued_from` is
    # `accrued_before`; the rest accrues by day from there (set by a prepayment).
    accrued_from: date | None = None
    accrued_before: int = 0
    penalty_forgiven: int = 0  # by waivers
    interest_forgiven: int = 0  # by waivers (interest due, taken off its instalments)


# --------------------------------------------------------------------------- dates


def _add_months(start: date, months: int) -> date:
    month_index = start.year * 12 + start.month - 1 + months
    year, month0 = divmod(month_index, 12)
    day = min(start.day, calendar.monthrange(year, month0 + 1)[1])
    return date(year, month0 + 1, day)


def installment_due_date(first_due_date: date, frequency: Frequency, index: int) -> date:
    """Due date `index` periods after `first_due_date` (index 0 is the first; −1 the
    nominal start of the first period). Months keep the first due date's day, clamped."""
    if frequency is Frequency.WEEKLY:
        return first_due_date + timedelta(weeks=index)
    if frequency is Frequency.BIWEEKLY:
        return first_due_date + timedelta(weeks=2 * index)
    if frequency is Frequency.MONTHLY:
        return _add_months(first_due_date, index)
    return _add_months(first_due_date, 3 * index)


def _days_30e_360(start: date, end: date) -> int:
    """30E/360 (Eurobond) days: a day 31 counts as day 30."""
    return (
        360 * (end.year - start.year)
        + 30 * (end.month - start.month)
        + min(end.day, 30)
        - min(start.day, 30)
    )


# --------------------------------------------------------------------------- checks


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_date(value: object) -> bool:
    return isinstance(value, date) and not isinstance(value, datetime)


def _check_rate(name: str, rate: object) -> Decimal:
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise InvalidLoanTerms(f"{name} must be a finite Decimal, got {rate!r}",
                               f"{name} phải là số thập phân hữu hạn, không phải {rate!r}")
    if not Decimal(0) <= rate <= Decimal(1):
        raise InvalidLoanTerms(f"{name} must be between 0 and 1, got {rate}",
                               f"{name} phải từ 0 đến 1, không phải {rate}")
    return rate


def check_loan_terms(terms: LoanTerms) -> LoanTerms:
    """Return `terms` if they describe a loan this module can schedule, else raise
    InvalidLoanTerms naming the first problem."""
    if not _is_int(terms.principal) or not 1 <= terms.principal <= AMOUNT_MINOR_MAX:
        raise InvalidLoanTerms(f"principal must be an integer in 1..{AMOUNT_MINOR_MAX}",
                               f"tiền gốc phải là số nguyên trong 1..{AMOUNT_MINOR_MAX}")
    if not _is_int(terms.installments) or not 1 <= terms.installments <= MAX_INSTALLMENTS:
        raise InvalidLoanTerms(f"installments must be an integer in 1..{MAX_INSTALLMENTS}",
                               f"số kỳ trả phải là số nguyên trong 1..{MAX_INSTALLMENTS}")
    for name, value, kind in (
        ("frequency", terms.frequency, Frequency),
        ("interest_method", terms.interest_method, InterestMethod),
        ("amortization", terms.amortization, Amortization),
        ("day_count", terms.day_count, DayCount),
    ):
        if not isinstance(value, kind):
            raise InvalidLoanTerms(f"{name} must be a {kind.__name__}, got {value!r}",
                                   f"{name} phải là {kind.__name__}, không phải {value!r}")
    _check_rate("rate_per_period", terms.rate_per_period)
    _check_rate("penalty_rate_per_day", terms.penalty_rate_per_day)
    if not _is_int(terms.grace_periods) or not 0 <= terms.grace_periods < terms.installments:
        raise InvalidLoanTerms("grace_periods must be an integer in 0..installments-1",
                               "số kỳ ân hạn phải là số nguyên trong 0..số kỳ trả - 1")
    if not _is_int(terms.rounding_unit) or not 1 <= terms.rounding_unit <= AMOUNT_MINOR_MAX:
        raise InvalidLoanTerms(f"rounding_unit must be an integer in 1..{AMOUNT_MINOR_MAX}",
                               f"đơn vị làm tròn phải là số nguyên trong 1..{AMOUNT_MINOR_MAX}")
    if terms.interest_method is InterestMethod.FLAT and terms.day_count is not DayCount.PER_PERIOD:
        raise InvalidLoanTerms("flat interest is charged per period: day_count must be per_period",
                               "lãi cố định tính theo kỳ: day_count phải là per_period")
    if not _is_date(terms.first_due_date):
        raise InvalidLoanTerms("first_due_date must be a date",
                               "first_due_date phải là một ngày")
    if terms.disbursed_on is not None:
        if not _is_date(terms.disbursed_on):
            raise InvalidLoanTerms("disbursed_on must be a date or null",
                                   "disbursed_on phải là một ngày hoặc null")
        if terms.disbursed_on >= terms.first_due_date:
            raise InvalidLoanTerms("disbursed_on must be before first_due_date",
                                   "ngày giải ngân phải trước kỳ trả đầu tiên")
    try:
        installment_due_date(terms.first_due_date, terms.frequency, -1)
        installment_due_date(terms.first_due_date, terms.frequency, terms.installments - 1)
    except (OverflowError, ValueError) as exc:
        raise InvalidLoanTerms("the due dates run outside the calendar",
                               "các kỳ trả nợ vượt ra ngoài lịch") from exc
    return terms


# --------------------------------------------------------------------------- schedule


def _round_half_up(value: Decimal, unit: int = 1) -> int:
    """`value` rounded ROUND_HALF_UP to a multiple of `unit` (minor units)."""
    return _round_to_unit(value, unit, ROUND_HALF_UP)


def _round_to_unit(value: Decimal, unit: int, rounding: str) -> int:
    with localcontext(_DECIMAL_CONTEXT):
        return int((value / unit).quantize(Decimal(1), rounding=rounding)) * unit


def _period_rate(terms: LoanTerms, start: date, end: date) -> Decimal:
    """The declining-balance interest rate of the period start..end (see day count)."""
    rate = terms.rate_per_period
    if terms.day_count is DayCount.PER_PERIOD:
        return rate
    with localcontext(_DECIMAL_CONTEXT):
        annual = rate * terms.frequency.periods_per_year
        if terms.day_count is DayCount.ACTUAL_365:
            return annual * (end - start).days / 365
        if terms.day_count is DayCount.ACTUAL_360:
            return annual * (end - start).days / 360
        return annual * _days_30e_360(start, end) / 360


def _annuity(principal: int, period_rates: list[Decimal]) -> Decimal:
    """The level payment that repays `principal` over periods with these rates:
    P / Σₖ Πᵢ≤ₖ 1/(1 + rᵢ); with one rate r for m periods, P·r / (1 − (1 + r)^−m)."""
    with localcontext(_DECIMAL_CONTEXT):
        discount = Decimal(1)
        present_value_of_one = Decimal(0)
        for rate in period_rates:
            discount /= 1 + rate
            present_value_of_one += discount
        return principal / present_value_of_one


def flat_interest_total(terms: LoanTerms) -> int:
    """A flat loan's total interest: round(principal × rate_per_period × installments),
    ROUND_HALF_UP to one minor unit."""
    with localcontext(_DECIMAL_CONTEXT):
        return _round_half_up(terms.principal * terms.rate_per_period * terms.installments)


def build_schedule(terms: LoanTerms) -> Schedule:
    """The repayment schedule of `terms` (checked first). Principal sums to
    `terms.principal` exactly; every component is a non-negative integer."""
    check_loan_terms(terms)
    rows = _schedule_rows(terms, ROUND_HALF_UP)
    if len(rows) > 1 and sum(row.principal for row in rows[:-1]) == terms.principal:
        # Rounding up to the unit used the principal up early, which would leave
        # instalments without principal (flat ones still charging interest): round down.
        rows = _schedule_rows(terms, ROUND_FLOOR)
    elif len(rows) > 1 and rows[-1].total < terms.rounding_unit:
        # Rounding up left the last instalment below one unit: round down, when that
        # gives every instalment at least one unit.
        rounded_down = _schedule_rows(terms, ROUND_FLOOR)
        if min(row.total for row in rounded_down) >= terms.rounding_unit:
            rows = rounded_down
    for row in rows:
        if row.total > AMOUNT_MINOR_MAX:
            raise InvalidLoanTerms(
                f"instalment {row.number} would be {row.total}, above {AMOUNT_MINOR_MAX}",
                f"kỳ trả {row.number} sẽ là {row.total}, vượt mức {AMOUNT_MINOR_MAX}",
            )
    return Schedule(
        installments=rows,
        total_principal=terms.principal,
        total_interest=sum(row.interest for row in rows),
        terms=terms,
    )


def _schedule_rows(terms: LoanTerms, rounding: str) -> tuple[Installment, ...]:
    """The instalments, with the level amount rounded to the unit by `rounding`."""
    count = terms.installments
    amortizing = count - terms.grace_periods
    flat = terms.interest_method is InterestMethod.FLAT
    flat_total_interest = flat_interest_total(terms)
    flat_interest = flat_total_interest // count  # the last instalment adds the remainder
    # The level amount: the instalment total for declining equal_installments (the
    # annuity; principal = level - interest), otherwise the principal of each row.
    annuity = not flat and terms.amortization is Amortization.EQUAL_INSTALLMENTS
    due_dates = [
        installment_due_date(terms.first_due_date, terms.frequency, k) for k in range(count)
    ]
    period_starts = [
        terms.disbursed_on or installment_due_date(terms.first_due_date, terms.frequency, -1),
        *due_dates[:-1],
    ]
    rates = [
        _period_rate(terms, start, end) for start, end in zip(period_starts, due_dates, strict=True)
    ]
    with localcontext(_DECIMAL_CONTEXT):
        even_principal = Decimal(terms.principal) / amortizing
        if annuity:
            exact = _annuity(terms.principal, rates[terms.grace_periods :])
            level = _round_to_unit(exact, terms.rounding_unit, rounding)
        elif terms.amortization is Amortization.EQUAL_PRINCIPAL:
            level = _round_to_unit(even_principal, terms.rounding_unit, rounding)
        else:  # flat: the quoted total is rounded, the interest part is fixed
            total = _round_to_unit(even_principal + flat_interest, terms.rounding_unit, rounding)
            level = total - flat_interest

    outstanding = terms.principal
    rows: list[Installment] = []
    for k, due in enumerate(due_dates):
        if flat:
            interest = flat_interest
            if k == count - 1:
                interest += flat_total_interest - flat_interest * count
        else:
            interest = _round_half_up(outstanding * rates[k])
        if k == count - 1:
            principal = outstanding
        elif k < terms.grace_periods or terms.amortization is Amortization.INTEREST_ONLY:
            principal = 0
        elif annuity and interest >= level:
            # The period's interest reaches the level payment (a long first period, a
            # very high rate): pay interest only and re-level the remaining periods.
            principal = 0
            exact = _annuity(outstanding, rates[k + 1 :])
            level = _round_to_unit(exact, terms.rounding_unit, rounding)
        else:
            target = level - interest if annuity else level
            principal = min(max(target, 0), outstanding)
        rows.append(Installment(k + 1, due, principal, interest, principal + interest))
        outstanding -= principal
    return tuple(rows)


# --------------------------------------------------------------------------- repayments


def opening_state(schedule: Schedule) -> LoanState:
    """The state of a loan on which nothing has been paid yet."""
    zeros = (0,) * len(schedule.installments)
    return LoanState(principal_paid=zeros, interest_paid=zeros)


def installments_in_force(schedule: Schedule, state: LoanState) -> tuple[Installment, ...]:
    """The instalments the loan now follows: the contractual ones, or those recomputed
    after principal was paid ahead (a declining-balance loan)."""
    return state.installments or schedule.installments


def _check_state(schedule: Schedule, state: LoanState) -> tuple[Installment, ...]:
    rows = installments_in_force(schedule, state)
    if len(state.principal_paid) != len(rows) or len(state.interest_paid) != len(rows):
        raise InvalidLoanState("the loan state has a different number of instalments",
                               "trạng thái khoản vay có số kỳ trả khác với lịch")
    for row, principal, interest in zip(
        rows, state.principal_paid, state.interest_paid, strict=True
    ):
        if not 0 <= principal <= row.principal or not 0 <= interest <= row.interest:
            raise InvalidLoanState(f"instalment {row.number} is paid outside 0..its amount",
                                   f"kỳ {row.number} được trả ngoài khoảng 0..số phải trả")
    if min(state.penalty_unpaid, state.penalty_paid, state.interest_waived,
           state.principal_prepaid, state.penalty_forgiven, state.interest_forgiven) < 0:
        raise InvalidLoanState("penalties and waived interest cannot be negative",
                               "tiền phạt và lãi được miễn không thể âm")
    return rows


_due_date: Final = attrgetter("due_date")


def _count_due(rows: tuple[Installment, ...], on_date: date) -> int:
    """How many instalments fall due on or before `on_date` (they are in date order)."""
    return bisect_right(rows, on_date, key=_due_date)


def _unpaid(row: Installment, state: LoanState) -> int:
    index = row.number - 1
    return row.total - state.principal_paid[index] - state.interest_paid[index]


def _period_start(schedule: Schedule, index: int) -> date:
    """The day instalment `index` (0-based) starts accruing: the previous due date; for
    the first, the disbursement (or one period before the first due date)."""
    if index > 0:
        return schedule.installments[index - 1].due_date
    terms = schedule.terms
    if terms is None:
        raise InvalidLoanState("the schedule does not carry its terms",
                               "lịch trả nợ không kèm điều kiện vay")
    return terms.disbursed_on or installment_due_date(terms.first_due_date, terms.frequency, -1)


def _current_accrued(
    schedule: Schedule, state: LoanState, rows: tuple[Installment, ...], on_date: date
) -> tuple[int, int]:
    """(index of the current instalment — the first not yet due — or -1 when all are
    due, its interest accrued by `on_date`). Interest accrues by the day: the
    instalment's interest × days elapsed / the period's actual days, from the period's
    start (or, after a prepayment in the period, from then on what was left)."""
    current = _count_due(rows, on_date)
    if current == len(rows):
        return -1, 0
    row = rows[current]
    start, before = _period_start(schedule, current), 0
    if state.accrued_from is not None and start <= state.accrued_from < row.due_date:
        start, before = state.accrued_from, state.accrued_before
    elapsed = max((on_date - start).days, 0)
    with localcontext(_DECIMAL_CONTEXT):
        accrued = before + _round_half_up(
            Decimal(row.interest - before) * elapsed / (row.due_date - start).days)
    return current, accrued


def interest_accrued(schedule: Schedule, state: LoanState, on_date: date) -> int:
    """The interest the loan has earned by the end of `on_date` (paid or not): all the
    interest of the instalments due by then and the current one's accrued part. Once
    closed, what was paid."""
    rows = _check_state(schedule, state)
    if state.closed:
        return sum(state.interest_paid)
    due = _count_due(rows, on_date)
    _, accrued = _current_accrued(schedule, state, rows, on_date)
    return sum(row.interest for row in rows[:due]) + accrued


def accrue_penalty(
    schedule: Schedule, state: LoanState, on_date: date, penalty_rate_per_day: Decimal = Decimal(0)
) -> LoanState:
    """`state` with penalties accrued up to `on_date` on every overdue instalment.

    Each instalment unpaid after its due date accrues unpaid total × rate per day, for
    the days since the later of its due date and the previous accrual."""
    return _accrued_penalty(_check_state(schedule, state), state, on_date, penalty_rate_per_day)


def _accrued_penalty(
    rows: tuple[Installment, ...], state: LoanState, on_date: date, penalty_rate_per_day: Decimal
) -> LoanState:
    """`accrue_penalty` of a state already checked against its instalments `rows`."""
    _check_rate("penalty_rate_per_day", penalty_rate_per_day)
    since = state.penalty_accrued_to
    if since is not None and on_date < since:
        raise RepaymentOutOfOrder(f"{on_date} is before the last repayment on {since}",
                                  f"ngày {on_date} trước lần trả nợ gần nhất ngày {since}")
    if state.closed:
        return state
    accrued = 0
    if penalty_rate_per_day:
        base = 0  # sum of unpaid × overdue days
        for row in rows:
            start = row.due_date if since is None else max(row.due_date, since)
            days = (on_date - start).days
            if days <= 0:
                break  # later instalments are due later still
            base += _unpaid(row, state) * days
        with localcontext(_DECIMAL_CONTEXT):
            accrued = _round_half_up(base * penalty_rate_per_day)
    return state._replace(penalty_unpaid=state.penalty_unpaid + accrued, penalty_accrued_to=on_date)


def _payoff(schedule: Schedule, accrued: LoanState, on_date: date) -> int:
    rows = installments_in_force(schedule, accrued)
    due = _count_due(rows, on_date)
    interest = sum(row.interest - paid
                   for row, paid in zip(rows[:due], accrued.interest_paid[:due], strict=True))
    current, current_interest = _current_accrued(schedule, accrued, rows, on_date)
    if current >= 0:
        interest += current_interest - accrued.interest_paid[current]
    return accrued.penalty_unpaid + interest + outstanding_principal(schedule, accrued)


def payoff_amount(
    schedule: Schedule, state: LoanState, on_date: date, penalty_rate_per_day: Decimal = Decimal(0)
) -> int:
    """What closes the loan on `on_date`: penalties + unpaid interest of instalments due
    on or before it + the current instalment's interest accrued by the day + all
    outstanding principal. 0 for a closed loan."""
    if state.closed:
        _check_state(schedule, state)
        return 0
    accrued = accrue_penalty(schedule, state, on_date, penalty_rate_per_day)
    return _payoff(schedule, accrued, on_date)


def amount_due(
    schedule: Schedule, state: LoanState, on_date: date, penalty_rate_per_day: Decimal = Decimal(0)
) -> int:
    """What brings the loan up to date on `on_date`: penalties + everything unpaid of
    the instalments due on or before it. 0 for a closed loan."""
    if state.closed:
        _check_state(schedule, state)
        return 0
    accrued = accrue_penalty(schedule, state, on_date, penalty_rate_per_day)
    rows = installments_in_force(schedule, accrued)
    return accrued.penalty_unpaid + sum(
        _unpaid(row, accrued) for row in rows[:_count_due(rows, on_date)])


def allocate_repayment(
    schedule: Schedule,
    state: LoanState,
    amount: int,
    on_date: date,
    penalty_rate_per_day: Decimal = Decimal(0),
) -> tuple[Allocation, LoanState]:
    """Apply a repayment of `amount` made on `on_date`; return its split and the new state.

    Order: penalties, interest due, principal due (oldest first), the current
    instalment's interest accrued by the day, then the outstanding principal — never
    interest not yet accrued. Principal paid ahead on a declining-balance loan
    recomputes the instalments from the current one (`Prepayment`); on a flat loan it
    pays the coming instalments' principal, oldest first. Paying exactly
    `payoff_amount` closes the loan (interest not yet accrued is dropped). Raises
    Overpayment above the payoff, LoanClosed on a closed loan, RepaymentOutOfOrder for
    a date before the previous repayment; nothing changes when it raises."""
    check_amount(amount)
    rows = _check_state(schedule, state)
    if state.closed:
        raise LoanClosed("the loan is closed and accepts no more repayments",
                         "khoản vay đã đóng, không nhận thêm tiền trả nợ")
    accrued = _accrued_penalty(rows, state, on_date, penalty_rate_per_day)
    payoff = _payoff(schedule, accrued, on_date)
    if amount > payoff:
        raise Overpayment(f"repayment {amount} exceeds the payoff amount {payoff} on {on_date}",
                          f"số tiền trả {amount} vượt số cần trả để tất toán {payoff} vào ngày"
                          f" {on_date}", payoff=payoff)

    # Accruing penalties leaves the instalments as they are: `rows` stays in force.
    principal_paid = list(accrued.principal_paid)
    interest_paid = list(accrued.interest_paid)
    left = amount

    def pay(paid: list[int], index: int, owed: int) -> int:
        # Never less than 0 on an instalment (paid <= owed: `_check_state`), nothing once
        # the amount is used up: the loops below stop calling it then.
        nonlocal left
        part = min(left, owed - paid[index])
        paid[index] += part
        left -= part
        return part

    penalty = min(left, accrued.penalty_unpaid)
    left -= penalty
    due = _count_due(rows, on_date)
    interest = sum(pay(interest_paid, k, rows[k].interest) for k in range(due) if left)
    principal = sum(pay(principal_paid, k, rows[k].principal) for k in range(due) if left)
    current, current_interest = _current_accrued(schedule, accrued, rows, on_date)
    if current >= 0:
        interest += pay(interest_paid, current, current_interest)
    new_state = accrued._replace(
        penalty_unpaid=accrued.penalty_unpaid - penalty,
        penalty_paid=accrued.penalty_paid + penalty,
    )
    if amount == payoff:
        principal += sum(pay(principal_paid, k, rows[k].principal) for k in range(len(rows))
                         if left)
        new_state = new_state._replace(
            interest_waived=accrued.interest_waived + sum(
                row.interest - paid for row, paid in zip(rows, interest_paid, strict=True)),
            closed=True)
    elif not (left and _recomputes(schedule)):
        principal += sum(pay(principal_paid, k, rows[k].principal)
                         for k in range(due, len(rows)) if left)
    new_state = new_state._replace(
        principal_paid=tuple(principal_paid), interest_paid=tuple(interest_paid))
    if left:  # principal paid ahead on a declining-balance loan
        principal += left
        new_state = _prepaid(schedule, new_state, current, left, on_date)
        left = 0
    assert left == 0 and penalty + interest + principal == amount
    return Allocation(penalty=penalty, interest=interest, principal=principal), new_state


def _recomputes(schedule: Schedule) -> bool:
    """Whether principal paid ahead recomputes the schedule (declining balance)."""
    terms = schedule.terms
    return terms is not None and terms.interest_method is InterestMethod.DECLINING_BALANCE


def _prepaid(
    schedule: Schedule, state: LoanState, current: int, amount: int, on_date: date
) -> LoanState:
    """`state` after `amount` of principal is paid ahead on `on_date` of a declining-
    balance loan, the current instalment's accrued interest being paid: the instalments
    from the current one are recomputed on the principal left. The current one keeps the
    interest accrued so far and accrues the rest of its period on the new principal;
    then, by the loan's `prepayment`, the instalment stays and the term shrinks
    (`reduce_term`) or the count stays and the instalment shrinks
    (`reduce_installment`)."""
    terms = schedule.terms
    assert terms is not None and current >= 0
    rows = installments_in_force(schedule, state)
    left = sum(row.principal - paid for row, paid in
               zip(rows[current:], state.principal_paid[current:], strict=True)) - amount
    contract = schedule.installments
    start = _period_start(schedule, current)
    end = contract[current].due_date
    accrued_before = state.interest_paid[current]
    with localcontext(_DECIMAL_CONTEXT):
        rates = [_period_rate(terms, _period_start(schedule, k), contract[k].due_date)
                 for k in range(len(contract))]
        current_interest = accrued_before + _round_half_up(
            left * rates[current] * (end - max(on_date, start)).days / (end - start).days)
        annuity = terms.amortization is Amortization.EQUAL_INSTALLMENTS
        amortizing_from = max(current, terms.grace_periods)
        level = 0
        if terms.amortization is not Amortization.INTEREST_ONLY:
            if terms.prepayment is Prepayment.REDUCE_TERM:
                row = contract[min(terms.grace_periods, len(contract) - 1)]
                level = row.total if annuity else row.principal
            elif annuity:
                level = _round_half_up(_annuity(left, rates[amortizing_from:]),
                                       terms.rounding_unit)
            else:
                level = _round_half_up(Decimal(left) / (len(contract) - amortizing_from),
                                       terms.rounding_unit)
    recomputed: list[Installment] = []
    outstanding = left
    for k in range(current, len(contract)):
        interest = current_interest if k == current else _round_half_up(outstanding * rates[k])
        if k == len(contract) - 1:
            principal = outstanding
        elif k < terms.grace_periods or terms.amortization is Amortization.INTEREST_ONLY:
            principal = 0
        else:
            principal = min(max(level - interest if annuity else level, 0), outstanding)
        recomputed.append(Installment(k + 1, contract[k].due_date, principal, interest,
                                      principal + interest))
        outstanding -= principal
        if outstanding == 0:
            break
    kept = current
    return state._replace(
        installments=(*rows[:kept], *recomputed),
        principal_paid=(*state.principal_paid[:kept], *(0,) * len(recomputed)),
        interest_paid=(*state.interest_paid[:kept], accrued_before,
                       *(0,) * (len(recomputed) - 1)),
        principal_prepaid=state.principal_prepaid + amount + sum(state.principal_paid[kept:]),
        accrued_from=on_date,
        accrued_before=accrued_before,
    )


def waive(
    schedule: Schedule,
    state: LoanState,
    part: WaivedPart,
    amount: int,
    on_date: date,
    penalty_rate_per_day: Decimal = Decimal(0),
) -> LoanState:
    """Forgive `amount` of the penalty accrued and unpaid on `on_date`, or of the
    interest of the instalments due by then and unpaid (oldest first, taken off those
    instalments). More than that raises WaiverTooLarge; nothing changes when it raises."""
    check_amount(amount)
    rows = _check_state(schedule, state)
    if state.closed:
        raise LoanClosed("the loan is closed: nothing is left to forgive",
                         "khoản vay đã đóng, không còn gì để miễn giảm")
    # Accruing penalties leaves the instalments as they are: `rows` stays in force.
    accrued = _accrued_penalty(rows, state, on_date, penalty_rate_per_day)
    due = _count_due(rows, on_date)
    if part is WaivedPart.PENALTY:
        waivable = accrued.penalty_unpaid
    else:
        waivable = sum(row.interest - paid for row, paid in
                       zip(rows[:due], accrued.interest_paid[:due], strict=True))
    if amount > waivable:
        raise WaiverTooLarge(
            f"the {part.value} due and unpaid on {on_date} is {waivable}, less than {amount}",
            f"số {'tiền phạt' if part is WaivedPart.PENALTY else 'tiền lãi'} đến hạn chưa"
            f" trả ngày {on_date} là {waivable}, nhỏ hơn {amount}", waivable=waivable)
    if part is WaivedPart.PENALTY:
        return accrued._replace(penalty_unpaid=accrued.penalty_unpaid - amount,
                                penalty_forgiven=accrued.penalty_forgiven + amount)
    new_rows = list(rows)
    left = amount
    for k in range(due):
        row = new_rows[k]
        part_of_row = min(left, row.interest - accrued.interest_paid[k])
        new_rows[k] = row._replace(interest=row.interest - part_of_row,
                                   total=row.total - part_of_row)
        left -= part_of_row
    return accrued._replace(installments=tuple(new_rows),
                            interest_forgiven=accrued.interest_forgiven + amount)


# --------------------------------------------------------------------------- position


def outstanding_principal(schedule: Schedule, state: LoanState) -> int:
    """Principal not yet repaid (never negative)."""
    return sum(row.principal for row in installments_in_force(schedule, state)) - sum(
        state.principal_paid)


def principal_repaid(schedule: Schedule, state: LoanState) -> int:
    """Principal repaid so far, on instalments and ahead of them."""
    return schedule.total_principal - outstanding_principal(schedule, state)


def is_closed(state: LoanState) -> bool:
    """True once the loan has been repaid in full (or paid off early)."""
    return state.closed


def days_overdue(schedule: Schedule, state: LoanState, as_of: date) -> int:
    """Days since the oldest instalment with anything unpaid fell due, counted from the
    day after its due date (0 on the due date itself, or when nothing is overdue)."""
    if state.closed:
        return 0
    for row in installments_in_force(schedule, state):
        if _unpaid(row, state) > 0:
            return max((as_of - row.due_date).days, 0)
    return 0


def portfolio_at_risk(loans: Iterable[tuple[int, int]], days: int = 30) -> tuple[int, int]:
    """(principal outstanding on loans more than `days` days overdue, total principal
    outstanding) over (outstanding_principal, days_overdue) pairs. PAR = first / second;
    the caller divides (and decides what 0 / 0 means)."""
    if not _is_int(days) or days < 0:
        raise InvalidPortfolioInput(f"days must be a non-negative integer, got {days!r}")
    at_risk = total = 0
    for outstanding, overdue in loans:
        if not _is_int(outstanding) or outstanding < 0:
            raise InvalidPortfolioInput(f"outstanding principal must be >= 0, got {outstanding!r}")
        if not _is_int(overdue) or overdue < 0:
            raise InvalidPortfolioInput(f"days overdue must be >= 0, got {overdue!r}")
        total += outstanding
        if overdue > days:
            at_risk += outstanding
    return at_risk, total


# --------------------------------------------------------------------------- replay


class RecordedRepayment(NamedTuple):
    """A repayment as recorded — or, with `waived`, a waiver of that part — `key`
    orders the events of one day (recording order)."""

    key: int
    on_date: date
    amount: int
    waived: WaivedPart | None = None


def replay_repayments(
    schedule: Schedule,
    repayments: Iterable[RecordedRepayment],
    penalty_rate_per_day: Decimal = Decimal(0),
) -> tuple[dict[int, Allocation], LoanState]:
    """Apply the repayments (and waivers) in date order (recording order within a day)
    from the opening state: each repayment's allocation, by key, and the state after
    the last.

    This is what the loan owes and has paid whatever order the repayments were
    recorded in: a repayment recorded late lands on its own date and the later ones
    are allocated again after it. Raises as `allocate_repayment` does (Overpayment
    when a repayment would exceed the payoff on its date, LoanClosed when one comes
    after the loan was paid off)."""
    state = opening_state(schedule)
    allocations: dict[int, Allocation] = {}
    for repayment in sorted(repayments, key=lambda r: (r.on_date, r.key)):
        if repayment.waived is not None:
            state = waive(schedule, state, repayment.waived, repayment.amount,
                          repayment.on_date, penalty_rate_per_day)
            continue
        allocation, state = allocate_repayment(
            schedule, state, repayment.amount, repayment.on_date, penalty_rate_per_day
        )
        allocations[repayment.key] = allocation
    return allocations, state


def allocation_difference(new: Allocation, booked: Allocation) -> Allocation:
    """What moves between penalty, interest and principal when a repayment booked as
    `booked` is allocated `new` instead (the parts sum to zero)."""
    return Allocation(
        penalty=new.penalty - booked.penalty,
        interest=new.interest - booked.interest,
        principal=new.principal - booked.principal,
    )
