"""Properties of the report arithmetic in `ledger.reports`."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.accounts import AccountType, Side
from ledger.errors import CurrencyMismatch
from ledger.reports import (
    AccountTotals,
    InvalidReportRange,
    LoanFigures,
    PortfolioFigures,
    balance_sheet,
    check_range,
    income_statement,
    loan_figures,
    ratio,
    roll_up,
    running_balances,
    signed_amount,
    total_figures,
    trial_balance,
)

CHART = [
    ("111", AccountType.ASSET), ("131", AccountType.ASSET), ("331", AccountType.LIABILITY),
    ("4111", AccountType.EQUITY), ("4115", AccountType.EQUITY), ("515", AccountType.INCOME),
    ("711", AccountType.INCOME), ("642", AccountType.EXPENSE), ("811", AccountType.EXPENSE),
]
YEAR_START = date(2026, 1, 1)

sides = st.sampled_from([Side.DEBIT, Side.CREDIT])
amounts = st.integers(min_value=1, max_value=10**12)
# A balanced entry: a date and two different chart positions, debit and credit.
entries = st.lists(
    st.tuples(
        st.integers(min_value=-400, max_value=400),
        st.integers(min_value=0, max_value=len(CHART) - 1),
        st.integers(min_value=0, max_value=len(CHART) - 1),
        amounts,
    ).filter(lambda e: e[1] != e[2]),
    max_size=40,
)


def totals_at(journal: list[tuple[int, int, int, int]], last_day: int) -> list[AccountTotals]:
    """Every chart account's totals over the entries dated on or before `last_day`."""
    debits = [0] * len(CHART)
    credits = [0] * len(CHART)
    for day, debit, credit, amount in journal:
        if day <= last_day:
            debits[debit] += amount
            credits[credit] += amount
    return [
        AccountTotals(f"acc-{code}", code, f"Account {code}", kind, "VND", debits[n], credits[n])
        for n, (code, kind) in enumerate(CHART)
    ]


@given(sides, st.integers(min_value=-10**15, max_value=10**15),
       st.lists(st.tuples(sides, amounts), max_size=30))
def test_running_balances_add_each_movement_on_the_normal_side(normal, start, movements):
    balances = running_balances(normal, start, movements)
    assert len(balances) == len(movements)
    previous = start
    for balance, (side, amount) in zip(balances, movements, strict=True):
        assert balance - previous == (amount if side is normal else -amount)
        previous = balance
    assert previous == start + sum(signed_amount(normal, s, a) for s, a in movements)


@given(entries, st.integers(min_value=-400, max_value=400))
def test_a_trial_balance_of_balanced_entries_balances(journal, day):
    report = trial_balance(totals_at(journal, day))
    assert report.balanced
    (totals,) = report.totals
    assert totals.debits == sum(a for d, _, _, a in journal if d <= day)
    for row in report.rows:
        assert row.debit_balance >= 0 and row.credit_balance >= 0
        assert row.debit_balance * row.credit_balance == 0
        assert row.debit_balance - row.credit_balance == row.account.debits - row.account.credits
    assert [r.account.code for r in report.rows] == sorted(r.account.code for r in report.rows)


@given(entries, st.integers(min_value=0, max_value=400))
def test_a_balance_sheet_balances_and_its_surplus_is_the_income_statements(journal, day):
    as_of = YEAR_START + timedelta(days=day)
    offset = (as_of - YEAR_START).days
    sheet = balance_sheet(totals_at(journal, offset), totals_at(journal, -1))
    assert sheet.balanced
    if as_of.year == YEAR_START.year:
        year = income_statement(totals_at(journal, offset), totals_at(journal, -1))
        assert sheet.current_year_surplus == year.surplus
    history = income_statement(totals_at(journal, -1), totals_at(journal, -10**6))
    assert sheet.prior_years_surplus == history.surplus


@given(entries, st.integers(-400, 400), st.integers(-400, 400), st.integers(-400, 400))
def test_income_statements_of_adjacent_periods_add_up(journal, a, b, c):
    first, middle, last = sorted((a, b, c))
    whole = income_statement(totals_at(journal, last), totals_at(journal, first))
    one = income_statement(totals_at(journal, middle), totals_at(journal, first))
    two = income_statement(totals_at(journal, last), totals_at(journal, middle))
    assert whole.surplus == one.surplus + two.surplus
    assert whole.income.total == one.income.total + two.income.total
    assert whole.expenses.total == one.expenses.total + two.expenses.total


def test_a_worked_balance_sheet_and_income_statement():
    # 2025: seed grant 50,000,000; a loan of 5,000,000; interest 300,000; expense 100,000.
    # 2026 to the report date: interest 200,000; write-off 1,000,000 of the loan.
    journal = [
        (-300, 0, 3, 50_000_000), (-200, 1, 0, 5_000_000), (-100, 0, 5, 300_000),
        (-50, 7, 0, 100_000), (10, 0, 5, 200_000), (20, 8, 1, 1_000_000),
    ]
    sheet = balance_sheet(totals_at(journal, 30), totals_at(journal, -1))
    assert sheet.assets.total == 50_000_000 - 5_000_000 + 300_000 - 100_000 + 200_000 + 4_000_000
    assert [line.amount for line in sheet.assets.lines] == [45_400_000, 4_000_000]
    assert sheet.equity.total == 50_000_000
    assert sheet.prior_years_surplus == 200_000
    assert sheet.current_year_surplus == 200_000 - 1_000_000
    assert sheet.total_liabilities_and_equity == 49_400_000 == sheet.total_assets
    statement = income_statement(totals_at(journal, 30), totals_at(journal, -1))
    assert (statement.income.total, statement.expenses.total, statement.surplus) == (
        200_000, 1_000_000, -800_000)


def test_financial_statements_refuse_mixed_currencies():
    vnd = AccountTotals("a", "111", "Cash", AccountType.ASSET, "VND", 5, 0)
    usd = AccountTotals("b", "112", "Bank", AccountType.ASSET, "USD", 5, 0)
    with pytest.raises(CurrencyMismatch):
        balance_sheet([vnd, usd], [])
    with pytest.raises(CurrencyMismatch):
        income_statement([vnd], [usd])
    assert len(trial_balance([vnd, usd]).totals) == 2


def test_a_period_may_not_end_before_it_starts():
    check_range(date(2026, 1, 1), date(2026, 1, 1))
    with pytest.raises(InvalidReportRange):
        check_range(date(2026, 1, 2), date(2026, 1, 1))


@given(st.integers(min_value=0, max_value=10**15), st.integers(min_value=0, max_value=10**15))
def test_ratios_round_half_up_to_four_places(numerator, denominator):
    value = ratio(numerator, denominator)
    if denominator == 0:
        assert value is None
        return
    assert value is not None
    assert abs(value - Decimal(numerator) / Decimal(denominator)) <= Decimal("0.00005")
    assert value.as_tuple().exponent == -4
    if numerator <= denominator:
        assert Decimal(0) <= value <= Decimal(1)


def test_ratio_examples():
    assert ratio(1, 3) == Decimal("0.3333")
    assert ratio(2, 3) == Decimal("0.6667")
    assert ratio(1, 8) == Decimal("0.1250")
    assert ratio(5, 0) is None


figures = st.builds(
    PortfolioFigures,
    clubs=st.just(1),
    loans_outstanding=st.integers(0, 10**10),
    outstanding_at_risk_30=st.integers(0, 10**10),
    amount_fallen_due=st.integers(0, 10**10),
    amount_repaid_of_due=st.integers(0, 10**10),
    cash=st.integers(0, 10**10),
    active_borrowers=st.integers(0, 100),
)


@st.composite
def placed_clubs(draw):
    """A province with up to three districts of up to three communes each, and clubs
    placed in communes or straight in a district: (parent of each area, area of each
    club, figures of each club)."""
    parent: dict[str, str | None] = {"P": None}
    for d in range(draw(st.integers(0, 3))):
        parent[f"D{d}"] = "P"
        for c in range(draw(st.integers(0, 3))):
            parent[f"D{d}C{c}"] = f"D{d}"
    below_province = sorted(code for code in parent if code != "P") or ["P"]
    clubs = draw(st.lists(st.tuples(st.sampled_from(below_province), figures), max_size=12))
    return parent, {f"club-{n}": area for n, (area, _) in enumerate(clubs)}, \
        {f"club-{n}": f for n, (_, f) in enumerate(clubs)}


@given(placed_clubs())
def test_a_roll_up_sums_figures_and_recomputes_ratios(placed):
    """Rolled up from the communes, each area's figures are the sum of every club's
    under it, taken at once; ratios are recomputed from the sums; areas with no club
    under them are left out."""
    parent, area_of, club_figures = placed
    own: dict[str, list[PortfolioFigures]] = {}
    for club, area in area_of.items():
        own.setdefault(area, []).append(club_figures[club])
    children: dict[str | None, list[str]] = {}
    for code, above in parent.items():
        children.setdefault(above, []).append(code)
    totals = roll_up(own, children, ["P"], total_figures)

    def under(code: str, area: str | None) -> bool:
        while area is not None:
            if area == code:
                return True
            area = parent[area]
        return False

    for code in parent:
        members = [club_figures[c] for c, area in area_of.items() if under(code, area)]
        if not members:
            assert code not in totals
            continue
        area_total = totals[code]
        assert area_total.clubs == len(members)
        assert area_total.cash == sum(f.cash for f in members)
        assert area_total.loans_outstanding == sum(f.loans_outstanding for f in members)
        assert area_total.par30 == ratio(sum(f.outstanding_at_risk_30 for f in members),
                                         sum(f.loans_outstanding for f in members))
        assert area_total.repayment_rate == ratio(
            sum(f.amount_repaid_of_due for f in members),
            sum(f.amount_fallen_due for f in members))
    assert total_figures([]) == PortfolioFigures()


FIRST_DUE = date(2026, 1, 5)
schedules = st.lists(st.integers(0, 10**7), min_size=1, max_size=24).map(
    lambda totals: [(FIRST_DUE + timedelta(days=30 * n), t) for n, t in enumerate(totals)])


@st.composite
def loans(draw):
    """(installments, paid, outstanding, closed_on, start, as_of) of one loan, often on
    the boundaries: as_of 29, 30 or 31 days after a due date, a period starting on a
    due date, paid exactly up to an installment."""
    installments = draw(schedules)
    boundary_day = st.integers(0, len(installments)).flatmap(
        lambda n: st.sampled_from([30 * n + 29, 30 * n + 30, 30 * n + 31]))
    day = draw(st.integers(-60, 1100) | boundary_day)
    length = draw(st.integers(0, 400) | st.just(day - 30 * (day // 30)))
    cumulative = [sum(t for _, t in installments[:n]) for n in range(len(installments) + 1)]
    paid = draw(st.integers(0, 3 * 10**8) | st.sampled_from(cumulative)
                | st.sampled_from(cumulative).map(lambda c: c + 1))
    outstanding = draw(st.integers(0, 10**8))
    as_of = FIRST_DUE + timedelta(days=day)
    closed = draw(st.none() | st.integers(0, length + 100))  # closed before the period too
    return (installments, paid, outstanding,
            None if closed is None else as_of - timedelta(days=closed),
            as_of - timedelta(days=length), as_of)


@given(loans())
def test_loan_figures_never_count_more_than_is_due(loan):
    installments, paid, outstanding, closed_on, start, as_of = loan
    figures = loan_figures(installments, paid, outstanding, closed_on, start, as_of)
    assert figures.active == (outstanding > 0)
    assert 0 <= figures.amount_repaid_of_due <= figures.amount_fallen_due
    assert figures.outstanding_at_risk in (0, outstanding)
    end = closed_on or as_of
    assert figures.amount_fallen_due == sum(t for d, t in installments if start <= d <= end)
    before = sum(t for d, t in installments if d < start)
    assert figures.amount_repaid_of_due == min(max(paid - before, 0), figures.amount_fallen_due)
    old_due = sum(t for d, t in installments if (as_of - d).days > 30)
    assert (figures.outstanding_at_risk > 0) == (outstanding > 0 and paid < old_due)


@given(loans(), st.integers(1, 10**7))
def test_paying_more_never_lowers_what_is_repaid_nor_raises_what_is_at_risk(loan, more):
    installments, paid, outstanding, closed_on, start, as_of = loan
    less = loan_figures(installments, paid, outstanding, closed_on, start, as_of)
    more_paid = loan_figures(installments, paid + more, outstanding, closed_on, start, as_of)
    assert more_paid.amount_repaid_of_due >= less.amount_repaid_of_due
    assert more_paid.amount_fallen_due == less.amount_fallen_due
    assert more_paid.outstanding_at_risk <= less.outstanding_at_risk


def test_loan_figures_examples():
    plan = [(date(2026, 2, 5), 466_667), (date(2026, 3, 5), 466_667),
            (date(2026, 4, 5), 466_666)]
    year = date(2026, 1, 1)
    # Nothing paid, first installment 31 days late on 2026-03-08: at risk.
    assert loan_figures(plan, 0, 1_200_000, None, year, date(2026, 3, 8)) == LoanFigures(
        True, 933_334, 0, 1_200_000)
    # 30 days late is not yet PAR30.
    assert loan_figures(plan, 0, 1_200_000, None, year, date(2026, 3, 7)) == LoanFigures(
        True, 933_334, 0, 0)
    # Paid ahead: the prepayment is not a repayment of what fell due.
    assert loan_figures(plan, 1_000_000, 400_000, None, year, date(2026, 3, 8)) == LoanFigures(
        True, 933_334, 933_334, 0)
    # Paid off on 2026-03-01: the later installments never fell due.
    assert loan_figures(plan, 1_400_000, 0, date(2026, 3, 1), year,
                        date(2026, 4, 30)) == LoanFigures(False, 466_667, 466_667, 0)
    # Written off on 2026-03-10 after paying the first: the second fell due, unpaid.
    assert loan_figures(plan, 466_667, 0, date(2026, 3, 10), year,
                        date(2026, 4, 30)) == LoanFigures(False, 933_334, 466_667, 0)
    # A period from March: the February payment covered February's installment only.
    assert loan_figures(plan, 466_667, 933_333, None, date(2026, 3, 1),
                        date(2026, 4, 30)) == LoanFigures(True, 933_333, 0, 933_333)
