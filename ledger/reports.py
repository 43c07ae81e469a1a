"""Report arithmetic: statements, trial balances, balance sheets, income statements and
portfolio indicators, from account totals the store hands over.

Everything here is a pure function of its arguments. Amounts are int minor units;
ratios are Decimal (never float), rounded ROUND_HALF_UP to `RATIO_PLACES` places.

Conventions
    An account's totals are its cumulative debits and credits up to a point in time;
    its balance is signed on its normal side (`ledger.accounts.signed_balance`).
    The fiscal year is the calendar year. Income and expense accounts are not closed
    by the reports: a year-end closing entry (income and expenses into retained
    surplus) is an ordinary entry; until one is posted, a balance sheet shows the
    earlier years' surplus as `prior_years_surplus`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, NamedTuple, TypeVar

from ledger.accounts import AccountType, Side, signed_balance
from ledger.errors import CurrencyMismatch, LedgerError

RATIO_PLACES: Final = 4
RATIO_QUANTUM: Final = Decimal(1).scaleb(-RATIO_PLACES)  # 0.0001


class InvalidReportRange(LedgerError):
    code = "invalid_report_range"


def check_range(start: date, end: date) -> None:
    """A report period runs from `start` to `end`, both included."""
    if start > end:
        raise InvalidReportRange(f"the period starts ({start}) after it ends ({end})",
                                 f"kỳ báo cáo bắt đầu ({start}) sau ngày kết thúc ({end})")


def start_of_year(day: date) -> date:
    return date(day.year, 1, 1)


def ratio(numerator: int, denominator: int) -> Decimal | None:
    """numerator / denominator rounded half-up to RATIO_PLACES places; None for x / 0."""
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(
        RATIO_QUANTUM, rounding=ROUND_HALF_UP
    )


# --- statements -------------------------------------------------------------------


def signed_amount(normal_side: Side, side: Side, amount: int) -> int:
    """What a posting adds to a balance signed on `normal_side`."""
    return amount if side is normal_side else -amount


def running_balances(
    normal_side: Side, start_balance: int, movements: Iterable[tuple[Side, int]]
) -> list[int]:
    """The balance after each movement, starting from `start_balance`."""
    balances: list[int] = []
    balance = start_balance
    for side, amount in movements:
        balance += signed_amount(normal_side, side, amount)
        balances.append(balance)
    return balances


# --- account totals and the trial balance ------------------------------------------


@dataclass(frozen=True, slots=True)
class AccountTotals:
    """One account and its cumulative debits and credits at some point in time."""

    account_id: str
    code: str
    name: str
    type: AccountType
    currency: str
    debits: int
    credits: int

    @property
    def normal_side(self) -> Side:
        return self.type.normal_side

    @property
    def balance(self) -> int:
        """Signed on the account's normal side."""
        return signed_balance(self.normal_side, self.debits, self.credits)

    def minus(self, earlier: AccountTotals) -> AccountTotals:
        """The movement between `earlier` and these totals (same account)."""
        if earlier.account_id != self.account_id:
            raise ValueError("totals of two different accounts")
        return AccountTotals(
            self.account_id, self.code, self.name, self.type, self.currency,
            self.debits - earlier.debits, self.credits - earlier.credits,
        )


@dataclass(frozen=True, slots=True)
class TrialBalanceRow:
    account: AccountTotals
    debit_balance: int
    credit_balance: int


@dataclass(frozen=True, slots=True)
class TrialBalanceTotals:
    currency: str
    debits: int
    credits: int
    debit_balance: int
    credit_balance: int

    @property
    def balanced(self) -> bool:
        return self.debits == self.credits and self.debit_balance == self.credit_balance


@dataclass(frozen=True, slots=True)
class TrialBalance:
    rows: tuple[TrialBalanceRow, ...]
    totals: tuple[TrialBalanceTotals, ...]

    @property
    def balanced(self) -> bool:
        return all(t.balanced for t in self.totals)


def trial_balance(accounts: Iterable[AccountTotals]) -> TrialBalance:
    """Each account's balance in the debit or the credit column (whichever side its
    debits − credits falls on, whatever its normal side), in code order, and the
    column totals per currency. Balanced entries give equal columns."""
    rows = []
    sums: dict[str, list[int]] = {}
    for account in sorted(accounts, key=lambda a: (a.code, a.account_id)):
        net = account.debits - account.credits
        row = TrialBalanceRow(account, max(net, 0), max(-net, 0))
        rows.append(row)
        total = sums.setdefault(account.currency, [0, 0, 0, 0])
        total[0] += account.debits
        total[1] += account.credits
        total[2] += row.debit_balance
        total[3] += row.credit_balance
    return TrialBalance(
        tuple(rows),
        tuple(TrialBalanceTotals(c, *t) for c, t in sorted(sums.items())),
    )


# --- financial statements -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementLine:
    """An account's amount in a financial statement, signed on its normal side."""

    account_id: str
    code: str
    name: str
    amount: int


@dataclass(frozen=True, slots=True)
class Section:
    lines: tuple[StatementLine, ...]
    total: int


def _section(accounts: Iterable[AccountTotals], types: tuple[AccountType, ...]) -> Section:
    lines = tuple(
        StatementLine(a.account_id, a.code, a.name, a.balance)
        for a in sorted(accounts, key=lambda a: (a.code, a.account_id))
        if a.type in types
    )
    return Section(lines, sum(line.amount for line in lines))


def _one_currency(*groups: Sequence[AccountTotals]) -> None:
    currencies = {a.currency for group in groups for a in group}
    if len(currencies) > 1:
        raise CurrencyMismatch(
            f"a financial statement is in one currency, got {', '.join(sorted(currencies))}",
            f"báo cáo tài chính chỉ dùng một loại tiền, ở đây có {', '.join(sorted(currencies))}",
        )


def surplus(accounts: Iterable[AccountTotals]) -> int:
    """Income minus expenses over the given totals (or movements)."""
    total = 0
    for account in accounts:
        if account.type is AccountType.INCOME:
            total += account.balance
        elif account.type is AccountType.EXPENSE:
            total -= account.balance
    return total


@dataclass(frozen=True, slots=True)
class BalanceSheet:
    assets: Section
    liabilities: Section
    equity: Section
    prior_years_surplus: int
    current_year_surplus: int

    @property
    def total_assets(self) -> int:
        return self.assets.total

    @property
    def total_liabilities_and_equity(self) -> int:
        return (self.liabilities.total + self.equity.total
                + self.prior_years_surplus + self.current_year_surplus)

    @property
    def balanced(self) -> bool:
        return self.total_assets == self.total_liabilities_and_equity


def balance_sheet(
    as_of: Sequence[AccountTotals], end_of_previous_year: Sequence[AccountTotals]
) -> BalanceSheet:
    """Assets = liabilities + equity + surplus, as of a date.

    `as_of` are the totals at the end of the report date, `end_of_previous_year`
    the totals at the end of December 31 of the year before (missing accounts had
    nothing then). The surplus splits into the current year's (income − expenses
    since January 1) and the earlier years' not yet closed into equity.
    """
    _one_currency(as_of, end_of_previous_year)
    prior = surplus(end_of_previous_year)
    return BalanceSheet(
        assets=_section(as_of, (AccountType.ASSET,)),
        liabilities=_section(as_of, (AccountType.LIABILITY,)),
        equity=_section(as_of, (AccountType.EQUITY,)),
        prior_years_surplus=prior,
        current_year_surplus=surplus(as_of) - prior,
    )


@dataclass(frozen=True, slots=True)
class IncomeStatement:
    income: Section
    expenses: Section

    @property
    def surplus(self) -> int:
        return self.income.total - self.expenses.total


def movements(
    closing: Sequence[AccountTotals], opening: Sequence[AccountTotals]
) -> list[AccountTotals]:
    """Each account's movement from `opening` to `closing` (absent from opening: zero)."""
    before = {a.account_id: a for a in opening}
    moved = []
    for account in closing:
        earlier = before.get(account.account_id)
        moved.append(account if earlier is None else account.minus(earlier))
    return moved


def income_statement(
    closing: Sequence[AccountTotals], opening: Sequence[AccountTotals]
) -> IncomeStatement:
    """Income and expenses over a period: the movement of each income and expense
    account from `opening` (totals at the end of the day before the period) to
    `closing` (totals at the end of its last day)."""
    _one_currency(closing, opening)
    moved = movements(closing, opening)
    return IncomeStatement(
        income=_section(moved, (AccountType.INCOME,)),
        expenses=_section(moved, (AccountType.EXPENSE,)),
    )


# --- portfolio indicators --------------------------------------------------------------


class PortfolioFigures(NamedTuple):
    """Additive figures of one club (or of many, summed). Amounts in minor units.

    Ratios are never summed: `repayment_rate` and `par30` are recomputed from their
    summed numerators and denominators at every level of a roll-up. A tuple (a
    province's report builds one per club and area: 11,000).
    """

    clubs: int = 0
    capital_district_budget: int = 0
    capital_other_budgets: int = 0
    capital_donors: int = 0
    capital_members: int = 0
    capital_retained_surplus: int = 0
    cash: int = 0
    loans_outstanding: int = 0
    active_borrowers: int = 0
    active_borrowers_women: int = 0
    active_borrowers_aged_60_plus: int = 0
    amount_fallen_due: int = 0
    amount_repaid_of_due: int = 0
    outstanding_at_risk_30: int = 0
    interest_earned: int = 0
    write_offs: int = 0

    @property
    def capital_total(self) -> int:
        return (self.capital_district_budget + self.capital_other_budgets + self.capital_donors
                + self.capital_members + self.capital_retained_surplus)

    @property
    def repayment_rate(self) -> Decimal | None:
        """Repaid of what fell due / what fell due (None when nothing fell due)."""
        return ratio(self.amount_repaid_of_due, self.amount_fallen_due)

    @property
    def par30(self) -> Decimal | None:
        """Outstanding principal of loans > 30 days overdue / all outstanding principal."""
        return ratio(self.outstanding_at_risk_30, self.loans_outstanding)


def total_figures(figures: Sequence[PortfolioFigures]) -> PortfolioFigures:
    """The figures of several clubs (or areas) summed figure by figure, column by
    column (one C-level sum per figure); none: zeros."""
    return PortfolioFigures(*map(sum, zip(*figures, strict=True)))


Figures = TypeVar("Figures")


def roll_up(
    own: Mapping[str, Sequence[Figures]], children: Mapping[str | None, Sequence[str]],
    tops: Iterable[str], combine: Callable[[Sequence[Figures]], Figures],
) -> dict[str, Figures]:
    """Each area's figures from the leaves up: `combine` of its own members' (`own`:
    the clubs placed in it) and of each sub-area's combined figures, so that a club is
    combined once, not once for every area above it (a province of 10,000 clubs in
    three levels). Areas with no member under them are left out.

    Equal to combining every member under an area at once when the areas form a tree
    (each area under one parent, each member in one area) and `combine`'s results
    combine again to the same figures (sums, maxima, unions, concatenations)."""
    totals: dict[str, Figures] = {}
    for top in tops:
        _roll_up_area(top, own, children, combine, totals)
    return totals


def _roll_up_area(
    code: str, own: Mapping[str, Sequence[Figures]],
    children: Mapping[str | None, Sequence[str]],
    combine: Callable[[Sequence[Figures]], Figures], totals: dict[str, Figures],
) -> None:
    """`roll_up` of one area, its sub-areas first. A function of its own, not a closure
    calling itself: such a closure holds itself, and with it every figure it reaches, in
    a reference cycle that only the cycle collector frees (a province's report: some
    70,000 objects)."""
    parts = list(own.get(code, ()))
    for child in children.get(code, ()):
        _roll_up_area(child, own, children, combine, totals)
        if child in totals:
            parts.append(totals[child])
    if parts:
        totals[code] = combine(parts)


@dataclass(frozen=True, slots=True)
class LoanFigures:
    """One loan's contribution to the portfolio figures of a period [start, as_of]."""

    active: bool
    amount_fallen_due: int
    amount_repaid_of_due: int
    outstanding_at_risk: int


def oldest_uncovered_due(installments: Sequence[tuple[date, int]], paid: int) -> date | None:
    """The due date of the oldest installment that `paid` (towards interest and
    principal) does not fully cover, payments covering installments oldest first; None
    when every installment is covered."""
    covered = 0
    for due, total in installments:
        covered += total
        if covered > paid:
            return due
    return None


def loan_figures(
    installments: Sequence[tuple[date, int]], paid: int, outstanding: int,
    closed_on: date | None, start: date, as_of: date, days: int = 30,
) -> LoanFigures:
    """A loan over the period [start, as_of], from its schedule (due date, principal +
    interest due) in order of due date, what was paid towards interest and principal by
    the end of `as_of`, its principal outstanding then (its 131 account's balance) and
    the day it was paid off or written off, if on or before `as_of`.

    Fallen due: the installments due in the period, and no later than the loan's
    closing (after a payoff or a write-off nothing more falls due). Repaid of it:
    payments cover installments oldest first, so what was paid beyond what fell due
    before `start`, up to what fell due in the period (paid ahead of the schedule is a
    prepayment, not a repayment of what fell due). Active: principal outstanding. At
    risk: when the oldest installment the payments do not fully cover fell due more
    than `days` days before `as_of`, the whole outstanding principal of an active loan.
    """
    assert start <= as_of, "a period starts on or before its end"
    assert closed_on is None or closed_on <= as_of, "a loan closed after as_of is open"
    end = as_of if closed_on is None else closed_on
    due_before = sum(total for due, total in installments if due < start)
    fallen_due = sum(total for due, total in installments if start <= due <= end)
    repaid = min(max(paid - due_before, 0), fallen_due)
    active = outstanding > 0
    uncovered = oldest_uncovered_due(installments, paid)
    at_risk = outstanding if (
        active and uncovered is not None and (as_of - uncovered).days > days) else 0
    assert 0 <= repaid <= fallen_due
    return LoanFigures(active, fallen_due, repaid, at_risk)
