"""Statements, trial balances and financial statements: the store's totals through
the core's report arithmetic (`ledger.reports`)."""

from __future__ import annotations

import gc
import uuid
from collections import defaultdict
from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, Final, NamedTuple

import asyncpg
import orjson
from pydantic import BaseModel

from ledger.accounts import AccountType, Side, signed_balance
from ledger.reports import (
    AccountTotals,
    Figures,
    PortfolioFigures,
    Section,
    balance_sheet,
    check_range,
    income_statement,
    roll_up,
    running_balances,
    start_of_year,
    total_figures,
    trial_balance,
)
from service.areas.service import sees_area
from service.context import RequestContext
from service.errors import ExportTooLarge, InvalidCursor, NotFound
from service.funds import repository as funds
from service.language import Text
from service.pagination import date_key, decode_cursor, encode_cursor, sequence_key
from service.reports import repository
from service.reports.exports import (
    Cell,
    DownloadName,
    Table,
    ascii_slug,
    column_indices,
    period_text,
)
from service.reports.labels import Language, columns, label
from service.reports.schemas import (
    BalanceSheetRead,
    IncomeStatementRead,
    ReportLineRead,
    SectionRead,
    StatementAccount,
    StatementLineRead,
    StatementRead,
    TrialBalanceRead,
    TrialBalanceRowRead,
    TrialBalanceTotalsRead,
)
from service.reports.titles import area_title, fund_title

# A CSV or XLSX statement holds the whole range; beyond this many lines, narrow it.
EXPORT_LINES_MAX: Final = 100_000
STATEMENT_COLUMNS: Final = [
    "effective_date", "entry_id", "sequence", "voucher_number", "description",
    "debit", "credit", "balance",
]
# The download name of a statement: the cash book and the bank book by their names.
STATEMENT_KINDS: Final = {"111": "so-quy", "112": "so-tien-gui"}
RATIO_COLUMNS: Final = {"repayment_rate", "par30"}
TRIAL_BALANCE_COLUMNS: Final = [
    "code", "name", "type", "currency", "debits", "credits", "debit_balance",
    "credit_balance", "balance",
]


# --- statements ------------------------------------------------------------------------


def statement_position(cursor: str | None, start: date, end: date) -> tuple[date, int, int]:
    """Where a page starts: after (date, sequence, line); before the range without cursor."""
    key = decode_cursor(cursor, date_key, sequence_key, sequence_key)
    if key is None:
        return start, 0, 0
    day, sequence, line = key
    if not start <= day <= end:
        raise InvalidCursor(Text("the cursor lies outside this statement's range",
                                 "con trỏ nằm ngoài khoảng ngày của sổ chi tiết này"))
    return day, sequence, line


async def statement(
    ctx: RequestContext, account_id: uuid.UUID, start: date, end: date, limit: int,
    cursor: str | None, language: Language,
) -> StatementRead:
    """One page of the statement of `account_id` from `start` to `end` (both included)."""
    check_range(start, end)
    account = await repository.get_statement_account(ctx.connection, account_id)
    if account is None or not ctx.sees_fund(account["fund_id"]):
        raise NotFound("account", account_id)
    after = statement_position(cursor, start, end)
    rows = await repository.statement_page(
        ctx.connection, fund_id=account["fund_id"], account_id=account_id,
        start=start, end=end, after=after, limit=limit + 1,
    )
    return statement_from_rows(account, start, end, rows, limit, language)


def statement_from_rows(
    account: asyncpg.Record, start: date, end: date, rows: list[asyncpg.Record], limit: int,
    language: Language,
) -> StatementRead:
    side = Side(account["normal_side"])
    first = rows[0]
    line_rows = [r for r in rows if r["entry_id"] is not None]
    more = len(line_rows) > limit
    line_rows = line_rows[:limit]
    start_balance = signed_balance(side, first["start_debits"], first["start_credits"])
    balances = running_balances(
        side, start_balance, [(Side(r["side"]), r["amount"]) for r in line_rows]
    )
    items = [
        StatementLineRead(
            effective_date=r["effective_date"], entry_id=r["entry_id"], sequence=r["sequence"],
            line=r["line"], voucher_number=r["voucher_number"], description=r["description"],
            debit=r["amount"] if r["side"] == Side.DEBIT else 0,
            credit=r["amount"] if r["side"] == Side.CREDIT else 0,
            balance=balance,
        )
        for r, balance in zip(line_rows, balances, strict=True)
    ]
    last = items[-1] if items else None
    next_cursor = (
        encode_cursor([last.effective_date.isoformat(), last.sequence, last.line])
        if more and last is not None else None
    )
    return StatementRead(
        account=StatementAccount(**{k: account[k] for k in (
            "id", "fund_id", "code", "name", "type", "normal_side", "currency")}),
        from_=start, to=end,
        opening_balance=signed_balance(side, first["opening_debits"], first["opening_credits"]),
        total_debit=first["closing_debits"] - first["opening_debits"],
        total_credit=first["closing_credits"] - first["opening_credits"],
        closing_balance=signed_balance(side, first["closing_debits"], first["closing_credits"]),
        items=items, next_cursor=next_cursor,
        columns=columns(STATEMENT_COLUMNS, language),
    )


async def statement_table(
    ctx: RequestContext, account_id: uuid.UUID, start: date, end: date, language: Language
) -> tuple[Table, DownloadName]:
    """The whole statement as one table: opening row, every line, totals and closing row."""
    report = await statement(ctx, account_id, start, end, EXPORT_LINES_MAX, None, language)
    if report.next_cursor is not None:
        raise ExportTooLarge(
            Text("the statement has more than {count} lines; export a shorter range",
                 "sổ chi tiết có hơn {count} dòng; hãy xuất một khoảng ngắn hơn"),
            count=EXPORT_LINES_MAX,
        )
    lines: list[list[Cell]] = [
        [line.effective_date, str(line.entry_id), line.sequence, line.voucher_number,
         line.description, line.debit, line.credit, line.balance]
        for line in report.items
    ]
    rows: list[list[Cell]] = [
        [start, None, None, None, label("opening_balance", language), None, None,
         report.opening_balance],
        *lines,
        [end, None, None, None, label("period_totals", language), report.total_debit,
         report.total_credit, None],
        [end, None, None, None, label("closing_balance", language), None, None,
         report.closing_balance],
    ]
    account = report.account
    block, owner = await fund_title(
        ctx, account.fund_id, f"{label('statement', language)}: {account.code} {account.name}",
        language, end, start,
    )
    table = Table(
        title=label("statement", language),
        headers=[label(c, language) for c in STATEMENT_COLUMNS], rows=rows,
        title_block=block, identifier_columns=column_indices(STATEMENT_COLUMNS, {"sequence"}),
    )
    kind = STATEMENT_KINDS.get(account.code) or f"so-chi-tiet-{ascii_slug(account.code)}"
    return table, DownloadName(kind, owner, period_text(start, end))


# --- account totals --------------------------------------------------------------------


async def fund_totals(
    ctx: RequestContext, fund_id: uuid.UUID, days: list[date]
) -> tuple[asyncpg.Record, list[list[AccountTotals]]]:
    """The fund, and every account's totals at the end of each of `days`."""
    ctx.require_fund(fund_id)
    fund = await funds.get_fund(ctx.connection, fund_id)
    if fund is None:
        raise NotFound("fund", fund_id)
    by_day: dict[int, list[AccountTotals]] = defaultdict(list)
    for r in await repository.account_totals(ctx.connection, fund_id, days):
        by_day[r["day_index"]].append(AccountTotals(
            str(r["id"]), r["code"], r["name"], AccountType(r["type"]), r["currency"],
            r["debits"], r["credits"],
        ))
    return fund, [by_day[n] for n in range(1, len(days) + 1)]


async def trial_balance_report(
    ctx: RequestContext, fund_id: uuid.UUID, as_of: date, language: Language
) -> TrialBalanceRead:
    _, (totals,) = await fund_totals(ctx, fund_id, [as_of])
    report = trial_balance(totals)
    return TrialBalanceRead(
        fund_id=fund_id, as_of=as_of,
        items=[
            TrialBalanceRowRead(
                account_id=uuid.UUID(row.account.account_id), code=row.account.code,
                name=row.account.name, type=row.account.type,
                normal_side=row.account.normal_side, currency=row.account.currency,
                debits=row.account.debits, credits=row.account.credits,
                debit_balance=row.debit_balance, credit_balance=row.credit_balance,
                balance=row.account.balance, label=label(row.account.type.value, language),
            )
            for row in report.rows
        ],
        totals=[
            TrialBalanceTotalsRead(
                label=label("total", language), currency=t.currency, debits=t.debits,
                credits=t.credits, debit_balance=t.debit_balance,
                credit_balance=t.credit_balance, balanced=t.balanced,
            )
            for t in report.totals
        ],
        balanced=report.balanced,
        columns=columns(TRIAL_BALANCE_COLUMNS, language),
    )


async def trial_balance_table(
    ctx: RequestContext, report: TrialBalanceRead, language: Language
) -> tuple[Table, DownloadName]:
    rows: list[list[Cell]] = [
        [r.code, r.name, r.label, r.currency, r.debits, r.credits, r.debit_balance,
         r.credit_balance, r.balance]
        for r in report.items
    ]
    rows.extend(
        [None, t.label, None, t.currency, t.debits, t.credits, t.debit_balance,
         t.credit_balance, None]
        for t in report.totals
    )
    block, owner = await fund_title(
        ctx, report.fund_id, label("trial_balance", language), language, report.as_of)
    table = Table(title=label("trial_balance", language),
                  headers=[label(c, language) for c in TRIAL_BALANCE_COLUMNS], rows=rows,
                  title_block=block)
    return table, DownloadName("can-doi-phat-sinh", owner, period_text(None, report.as_of))


# --- financial statements --------------------------------------------------------------


def section_read(section: Section, key: str, language: Language) -> SectionRead:
    return SectionRead(
        label=label(key, language), total=section.total,
        lines=[ReportLineRead(account_id=uuid.UUID(line.account_id), code=line.code,
                              name=line.name, amount=line.amount) for line in section.lines],
    )


def in_currency(accounts: list[AccountTotals], currency: str) -> list[AccountTotals]:
    return [a for a in accounts if a.currency == currency]


async def balance_sheet_report(
    ctx: RequestContext, fund_id: uuid.UUID, as_of: date, currency: str | None,
    language: Language,
) -> BalanceSheetRead:
    fund, (closing, previous_year) = await fund_totals(
        ctx, fund_id, [as_of, start_of_year(as_of) - timedelta(days=1)]
    )
    currency = currency or fund["currency"]
    sheet = balance_sheet(in_currency(closing, currency), in_currency(previous_year, currency))
    keys = ["assets", "liabilities", "equity", "prior_years_surplus", "current_year_surplus",
            "total_assets", "total_liabilities_and_equity"]
    return BalanceSheetRead(
        fund_id=fund_id, as_of=as_of, currency=currency,
        assets=section_read(sheet.assets, "assets", language),
        liabilities=section_read(sheet.liabilities, "liabilities", language),
        equity=section_read(sheet.equity, "equity", language),
        prior_years_surplus=sheet.prior_years_surplus,
        current_year_surplus=sheet.current_year_surplus,
        total_assets=sheet.total_assets,
        total_liabilities_and_equity=sheet.total_liabilities_and_equity,
        balanced=sheet.balanced, labels=columns(keys, language),
    )


def _section_rows(section: SectionRead, total_key: str, language: Language) -> list[list[Cell]]:
    rows: list[list[Cell]] = [
        [section.label, line.code, line.name, line.amount] for line in section.lines
    ]
    rows.append([section.label, None, label(total_key, language), section.total])
    return rows


async def balance_sheet_table(
    ctx: RequestContext, report: BalanceSheetRead, language: Language
) -> tuple[Table, DownloadName]:
    equity = report.equity.label
    rows: list[list[Cell]] = [
        *_section_rows(report.assets, "total_assets", language),
        *_section_rows(report.liabilities, "total_liabilities", language),
        *_section_rows(report.equity, "total_equity", language),
        [equity, None, label("prior_years_surplus", language), report.prior_years_surplus],
        [equity, None, label("current_year_surplus", language), report.current_year_surplus],
        [None, None, label("total_liabilities_and_equity", language),
         report.total_liabilities_and_equity],
    ]
    block, owner = await fund_title(
        ctx, report.fund_id, label("balance_sheet", language), language, report.as_of)
    table = Table(
        title=label("balance_sheet", language),
        headers=[label(k, language) for k in ("section", "code", "name", "amount")], rows=rows,
        title_block=block,
    )
    return table, DownloadName("can-doi-ke-toan", owner, period_text(None, report.as_of))


async def income_statement_report(
    ctx: RequestContext, fund_id: uuid.UUID, start: date, end: date, currency: str | None,
    language: Language,
) -> IncomeStatementRead:
    check_range(start, end)
    fund, (closing, opening) = await fund_totals(
        ctx, fund_id, [end, start - timedelta(days=1)]
    )
    currency = currency or fund["currency"]
    report = income_statement(in_currency(closing, currency), in_currency(opening, currency))
    return IncomeStatementRead(
        fund_id=fund_id, from_=start, to=end, currency=currency,
        income=section_read(report.income, "income", language),
        expenses=section_read(report.expenses, "expenses", language),
        surplus=report.surplus,
        labels=columns(["income", "expenses", "surplus"], language),
    )


async def income_statement_table(
    ctx: RequestContext, report: IncomeStatementRead, language: Language
) -> tuple[Table, DownloadName]:
    rows: list[list[Cell]] = [
        *_section_rows(report.income, "total_income", language),
        *_section_rows(report.expenses, "total_expenses", language),
        [None, None, label("surplus", language), report.surplus],
    ]
    block, owner = await fund_title(
        ctx, report.fund_id, label("income_statement", language), language, report.to,
        report.from_)
    table = Table(
        title=label("income_statement", language),
        headers=[label(k, language) for k in ("section", "code", "name", "amount")], rows=rows,
        title_block=block,
    )
    return table, DownloadName("ket-qua-hoat-dong", owner, period_text(report.from_, report.to))


# --- portfolio -------------------------------------------------------------------------

PORTFOLIO_COLUMNS: Final = [
    "level", "area_code", "area_name", "clubs", "capital_district_budget",
    "capital_other_budgets", "capital_donors", "capital_members", "capital_retained_surplus",
    "capital_total", "cash", "loans_outstanding", "active_borrowers", "active_borrowers_women",
    "active_borrowers_aged_60_plus", "amount_fallen_due", "amount_repaid_of_due",
    "repayment_rate", "outstanding_at_risk_30", "par30", "interest_earned", "write_offs",
]
# "Older people" in the scheme's reporting: aged 60 or more in the report's year.
OLDER_AGE: Final = 60
# Portfolio at risk counts loans with an installment more than this many days late.
DAYS_AT_RISK: Final = 30


FIGURE_NAMES: Final = list(PortfolioFigures._fields)


class PortfolioRow(NamedTuple):
    """One row of the portfolio: `PortfolioRowRead`'s fields in its order, built
    without a model per row (a report of 10,000 clubs) and serialised once."""

    level: str
    label: str
    area_code: str | None
    club_id: uuid.UUID | None
    name: str
    parent_code: str | None
    clubs: int
    capital_district_budget: int
    capital_other_budgets: int
    capital_donors: int
    capital_members: int
    capital_retained_surplus: int
    capital_total: int
    cash: int
    loans_outstanding: int
    active_borrowers: int
    active_borrowers_women: int
    active_borrowers_aged_60_plus: int
    amount_fallen_due: int
    amount_repaid_of_due: int
    repayment_rate: Decimal | None
    outstanding_at_risk_30: int
    par30: Decimal | None
    interest_earned: int
    write_offs: int


class PortfolioReport(NamedTuple):
    """The portfolio as `PortfolioRead` shows it."""

    area: str | None
    as_of: date
    from_: date
    items: list[PortfolioRow]
    columns: dict[str, str]


def portfolio_row(
    level: str, area_code: str | None, club_id: uuid.UUID | None, name: str,
    parent_code: str | None, f: PortfolioFigures, language: Language,
) -> PortfolioRow:
    return PortfolioRow(
        level, label(level, language), area_code, club_id, name, parent_code, f.clubs,
        f.capital_district_budget, f.capital_other_budgets, f.capital_donors,
        f.capital_members, f.capital_retained_surplus, f.capital_total, f.cash,
        f.loans_outstanding, f.active_borrowers, f.active_borrowers_women,
        f.active_borrowers_aged_60_plus, f.amount_fallen_due, f.amount_repaid_of_due,
        f.repayment_rate, f.outstanding_at_risk_30, f.par30, f.interest_earned, f.write_offs,
    )


def portfolio_json(report: PortfolioReport) -> bytes:
    """The report as `PortfolioRead` serialises it, without a model per row."""
    return report_json({
        "area": report.area, "as_of": report.as_of, "from": report.from_,
        "items": report.items, "columns": report.columns,
    })


def report_json(document: Mapping[str, Any]) -> bytes:
    """A report's answer, its `items` a list of rows (NamedTuples: each an object of
    its fields), byte for byte as its pydantic model would write it: dates in ISO
    form, ids and decimals as text, models as their JSON. orjson writes it (a
    province's report: 11,000 rows, 15 MB)."""
    with cycle_collector_paused():
        items = document["items"]
        fields = type(items[0])._fields if items else ()
        return orjson.dumps({**document, "items": [dict(zip(fields, row, strict=True))
                                                       for row in items]},
                            default=json_value)


def json_value(value: object) -> object:
    """What orjson does not write itself: a decimal as its text, an id of asyncpg's own
    class as its text, a model as its JSON."""
    if isinstance(value, (Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"a report holds no {type(value).__name__}")


class CollectorPause:
    """Python's cycle collector off while reports build their answers, possibly across
    awaits and overlapping requests: it stops when the first pause begins and resumes
    when the last one ends (if it was running before the first).

    A province's report allocates some 300,000 containers (the rows read, the figures,
    the answer's rows) and makes no cycle. With the collector running, reading the rows
    and building the answer would set it off every 700 allocations, walking the young
    objects again and again and every object of the process now and then; and resuming
    it while the answer's rows are still alive would walk them all once more. So a
    report pauses it from its first read to its encoded answer, and frees its rows
    before the pause ends (`area_report_answer` in the endpoints). Cycles made
    meanwhile by other requests wait for the collector's next run: garbage without
    cycles is freed at once, as always."""

    def __init__(self) -> None:
        self.pauses = 0
        self.resume = False

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if self.pauses == 0:
            self.resume = gc.isenabled()
            gc.disable()
        self.pauses += 1
        try:
            yield
        finally:
            self.pauses -= 1
            if self.pauses == 0 and self.resume:
                gc.enable()


cycle_collector_paused = CollectorPause()


@dataclass(frozen=True)
class Placement:
    """The area tree valid on a date and the caller's clubs placed in it by their area
    history (the portfolio's and the programme's shared walk)."""

    area: str | None
    tree: list[asyncpg.Record]
    clubs: list[asyncpg.Record]

    @property
    def club_ids(self) -> list[uuid.UUID]:
        return [c["id"] for c in self.clubs]

    @cached_property
    def sub_areas(self) -> dict[str | None, list[str]]:
        """Each area's code → its sub-areas' codes; None → the top areas' (depth 0)."""
        below: dict[str | None, list[str]] = {}
        for t in self.tree:
            below.setdefault(t["parent_code"], []).append(t["code"])
        return below

    def roll_up(
        self, by_club: Mapping[uuid.UUID, Figures],
        combine: Callable[[Sequence[Figures]], Figures],
    ) -> dict[str, Figures]:
        """Each area's figures with a club under it: `combine` of its clubs' (`by_club`,
        by club id), from the communes up (see `ledger.reports.roll_up`)."""
        own: dict[str, list[Figures]] = defaultdict(list)
        for c in self.clubs:
            own[c["area_code"]].append(by_club[c["id"]])
        return roll_up(own, self.sub_areas, self.sub_areas.get(None, []), combine)

    def walk(self, shown: Container[str]) -> Iterator[tuple[asyncpg.Record, asyncpg.Record | None]]:
        """Depth first: (area, None) for each area with a club in `shown` (and the area
        asked for in any case), then its sub-areas, then (area, club) for its clubs."""
        clubs_by_area: dict[str, list[asyncpg.Record]] = defaultdict(list)
        for c in self.clubs:
            clubs_by_area[c["area_code"]].append(c)
        children: dict[str | None, list[asyncpg.Record]] = defaultdict(list)
        for t in self.tree:
            children[t["parent_code"]].append(t)
        for top in (t for t in self.tree if t["depth"] == 0):
            if self.area is not None or top["code"] in shown:
                yield from walk_area(top, children, clubs_by_area, shown)


def walk_area(
    node: asyncpg.Record, children: Mapping[str | None, list[asyncpg.Record]],
    clubs_by_area: Mapping[str, list[asyncpg.Record]], shown: Container[str],
) -> Iterator[tuple[asyncpg.Record, asyncpg.Record | None]]:
    """`Placement.walk` from one area. A function of its own, not a generator closure
    calling itself: such a closure holds itself, and every row it reaches, in a
    reference cycle that only the cycle collector frees."""
    code = node["code"]
    if code not in shown and node["depth"] > 0:
        return  # no club of the caller's under this area
    yield node, None
    for child in sorted(children[code], key=lambda t: t["code"]):
        yield from walk_area(child, children, clubs_by_area, shown)
    for c in clubs_by_area[code]:
        yield node, c


async def place_clubs(ctx: RequestContext, area: str | None, as_of: date) -> Placement:
    """The tree under `area` (every province when None) valid on `as_of` and the clubs
    in it then, as far as the caller's scope reaches."""
    tree = await repository.area_tree(ctx.connection, area, as_of)
    if area is not None and (not tree or not await sees_area(ctx, area)):
        raise NotFound("area", area)
    clubs = await repository.clubs_in(
        ctx.connection, [t["code"] for t in tree], as_of, ctx.fund_scope
    )
    return Placement(area, tree, clubs)


async def portfolio_report(
    ctx: RequestContext, area: str | None, start: date, as_of: date, language: Language,
    pool: asyncpg.Pool | None = None,
) -> PortfolioReport:
    """Every club under `area` (every province when None) in the area tree valid on
    `as_of`, then each area's roll-up, depth first: area, its sub-areas, its clubs.
    With `pool`, its figures are read on two of its connections at once (one
    snapshot) when two are free."""
    check_range(start, as_of)
    placement = await place_clubs(ctx, area, as_of)
    # One snapshot: the ledger and loan figures on two connections, or in one statement.
    # A club with no account or no loan of a figure has none there: its default (0).
    figures = await repository.portfolio_figures(
        ctx.connection, pool, placement.club_ids, start, as_of, DAYS_AT_RISK, OLDER_AGE,
        ctx.fund_scope)
    with cycle_collector_paused():
        return portfolio_rows(placement, figures, area, start, as_of, language)


def portfolio_rows(
    placement: Placement, figures: Mapping[uuid.UUID, Mapping[str, Any]], area: str | None,
    start: date, as_of: date, language: Language,
) -> PortfolioReport:
    """The portfolio from what was read: each club's row, each area's roll-up."""
    club_figures = {
        c["id"]: PortfolioFigures(clubs=1, **figures.get(c["id"], {}))
        for c in placement.clubs
    }
    totals = placement.roll_up(club_figures, total_figures)
    rows: list[PortfolioRow] = []
    for node, club in placement.walk(totals):
        code = node["code"]
        if club is None:
            rows.append(portfolio_row(
                node["level"], code, None, node["name"], node["parent_code"],
                totals.get(code, PortfolioFigures()), language,
            ))
        else:
            rows.append(portfolio_row(
                "club", code, club["id"], club["name"], code, club_figures[club["id"]],
                language,
            ))
    return PortfolioReport(area, as_of, start, rows, columns(PORTFOLIO_COLUMNS, language))


def area_name(area: str | None, items: Sequence[PortfolioRow | Any],
              language: Language) -> str:
    """The area a report is of as its title names it: "name (code)", or every province."""
    top = items[0] if items else None
    if area is None or top is None:
        return label("every_province", language)
    return f"{top.name} ({top.area_code})"


async def portfolio_table(
    ctx: RequestContext, report: PortfolioReport, language: Language
) -> tuple[Table, DownloadName]:
    rows: list[list[Cell]] = []
    for item in report.items:
        row: list[Cell] = [item.label, item.area_code, item.name]
        row.extend(getattr(item, key) for key in PORTFOLIO_COLUMNS[3:])
        rows.append(row)
    block = await area_title(
        ctx, [i.club_id for i in report.items if i.club_id is not None],
        label("portfolio", language), area_name(report.area, report.items, language),
        language, report.as_of, report.from_,
    )
    table = Table(title=label("portfolio", language),
                  headers=[label(c, language) for c in PORTFOLIO_COLUMNS], rows=rows,
                  title_block=block, percent_columns=column_indices(PORTFOLIO_COLUMNS,
                                                                    RATIO_COLUMNS))
    return table, DownloadName("bao-cao-quy", report.area or "tat-ca",
                               period_text(None, report.as_of))
