"""Every query of the reports. Balances as of a date come from `daily_balances` (the
latest row on or before the date: one index probe per account); statement lines
from the postings index (fund_id, account_id, effective_date, sequence).

Each report is one SQL statement, so it reads one snapshot even under concurrent
posting (READ COMMITTED gives every statement its own snapshot).
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import asyncpg

STATEMENT_ACCOUNT = """
    SELECT id, fund_id, code, name, type, normal_side, currency
      FROM accounts WHERE id = $1
"""

# $1 fund, $2 account, $3 from, $4 to, $5..$7 the position after which the page
# starts (date, sequence, line), $8 how many lines.
STATEMENT_PAGE = """
    WITH opening AS (
        SELECT coalesce(sum(debits), 0)::bigint AS debits,
               coalesce(sum(credits), 0)::bigint AS credits
          FROM (SELECT debits, credits FROM daily_balances
                 WHERE fund_id = $1 AND account_id = $2 AND effective_date < $3
                 ORDER BY effective_date DESC LIMIT 1) AS d
    ),
    closing AS (
        SELECT coalesce(sum(debits), 0)::bigint AS debits,
               coalesce(sum(credits), 0)::bigint AS credits
          FROM (SELECT debits, credits FROM daily_balances
                 WHERE fund_id = $1 AND account_id = $2 AND effective_date <= $4
                 ORDER BY effective_date DESC LIMIT 1) AS d
    ),
    before_start_day AS (
        SELECT coalesce(sum(debits), 0)::bigint AS debits,
               coalesce(sum(credits), 0)::bigint AS credits
          FROM (SELECT debits, credits FROM daily_balances
                 WHERE fund_id = $1 AND account_id = $2 AND effective_date < $5
                 ORDER BY effective_date DESC LIMIT 1) AS d
    ),
    start_day AS (
        SELECT coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0)::bigint AS debits,
               coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0)::bigint AS credits
          FROM postings
         WHERE fund_id = $1 AND account_id = $2 AND effective_date = $5
           AND (sequence, line) <= ($6, $7)
    ),
    lines AS (
        SELECT p.effective_date, p.entry_id, p.sequence, p.line, p.side, p.amount,
               e.voucher_number, e.description
          FROM postings p
          JOIN entries e ON e.fund_id = p.fund_id AND e.id = p.entry_id
         WHERE p.fund_id = $1 AND p.account_id = $2
           AND (p.effective_date, p.sequence, p.line) > ($5, $6, $7)
           AND p.effective_date <= $4
         ORDER BY p.effective_date, p.sequence, p.line
         LIMIT $8
    )
    SELECT o.debits AS opening_debits, o.credits AS opening_credits,
           c.debits AS closing_debits, c.credits AS closing_credits,
           b.debits + s.debits AS start_debits, b.credits + s.credits AS start_credits,
           l.effective_date, l.entry_id, l.sequence, l.line, l.side, l.amount,
           l.voucher_number, l.description
      FROM opening o
     CROSS JOIN closing c
     CROSS JOIN before_start_day b
     CROSS JOIN start_day s
      LEFT JOIN lines l ON true
     ORDER BY l.effective_date, l.sequence, l.line
"""


async def get_statement_account(
    connection: asyncpg.Connection, account_id: uuid.UUID
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(STATEMENT_ACCOUNT, account_id)
    return record


async def statement_page(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, account_id: uuid.UUID,
    start: date, end: date, after: tuple[date, int, int], limit: int,
) -> list[asyncpg.Record]:
    """Rows of (opening, closing and page-start totals) × the page's lines; one row with
    NULL line columns when the page is empty."""
    return list(await connection.fetch(
        STATEMENT_PAGE, fund_id, account_id, start, end, *after, limit
    ))


async def account_totals(
    connection: asyncpg.Connection, fund_id: uuid.UUID, days: list[date]
) -> list[asyncpg.Record]:
    """Every account of the fund with its totals at the end of each of `days`
    (`day_index` is the position in `days`, from 1)."""
    return list(await connection.fetch(
        """
        SELECT t.day_index, a.id, a.code, a.name, a.type, a.normal_side, a.currency,
               coalesce(d.debits, 0) AS debits, coalesce(d.credits, 0) AS credits
          FROM accounts a
         CROSS JOIN unnest($2::date[]) WITH ORDINALITY AS t(day, day_index)
          LEFT JOIN LATERAL (
              SELECT debits, credits FROM daily_balances
               WHERE fund_id = a.fund_id AND account_id = a.id AND effective_date <= t.day
               ORDER BY effective_date DESC LIMIT 1
          ) AS d ON true
         WHERE a.fund_id = $1
         ORDER BY t.day_index, a.code
        """,
        fund_id, days,
    ))


# --- one statement in parts, on one or two connections -------------------------------


@dataclass(frozen=True)
class StatementPart:
    """A part of a report's statement: a query returning `club_id` and `columns`, one
    row per club at most, over the report's parameters."""

    name: str
    sql: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ReportStatement:
    """A report's figures per club: its parts in two lanes (one for each of two
    connections, as near equal in cost as the parts allow), over parameters of
    `parameter_types` ($1 the clubs' ids). A lane need not read every parameter: each
    statement names their types."""

    parameter_types: tuple[str, ...]
    lanes: tuple[tuple[StatementPart, ...], tuple[StatementPart, ...]]

    @property
    def parts(self) -> tuple[StatementPart, ...]:
        return (*self.lanes[0], *self.lanes[1])


def one_statement(parts: Sequence[StatementPart], parameter_types: Sequence[str]) -> str:
    """The parts in one statement (one snapshot): a row per club of $1 with every
    part's columns, null where a part has no row for the club. The first CTE, read by
    nothing, gives every parameter its type."""
    typed = ", ".join(f"${n}::{t}" for n, t in enumerate(parameter_types, start=1))
    ctes = ",\n".join(f"{p.name} AS MATERIALIZED ({p.sql})" for p in parts)
    columns = ", ".join(f"{p.name}.{c}" for p in parts for c in p.columns)
    joins = "\n".join(f"LEFT JOIN {p.name} ON {p.name}.club_id = k.club_id" for p in parts)
    return (f"WITH parameter_types AS (SELECT {typed}),\n{ctes}\n"
            f"SELECT k.club_id, {columns}\n"
            f"  FROM unnest($1::uuid[]) AS k(club_id)\n{joins}")


# Where row-level security reads the caller's scope (set by clubfund_authenticate, or
# by the operator's `clubfund.all_funds`): copied into the second connections.
SCOPE_SETTINGS = ("clubfund.principal_id", "clubfund.person_id", "clubfund.all_funds",
                  "clubfund.club_ids", "clubfund.fund_ids")
SNAPSHOT_ID = re.compile(r"^[0-9A-F]+-[0-9A-F]+-[0-9]+$")
# How long a report waits for two free connections of the pool before it runs its
# parts as one statement on its own connection instead.
SECOND_CONNECTIONS_WAIT_SECONDS = 0.1


@dataclass(frozen=True)
class ClubRecords:
    """Each club's row of every lane of a statement, by club id: on two connections,
    one map per lane, each row holding that lane's columns; as one statement, one map
    whose rows hold every part's columns. A part without a row for a club leaves its
    columns null."""

    lanes: tuple[dict[uuid.UUID, asyncpg.Record], ...]

    def lane(self, index: int) -> dict[uuid.UUID, asyncpg.Record]:
        """The rows that hold the columns of lane `index`'s parts."""
        return self.lanes[index if len(self.lanes) > 1 else 0]


async def records_by_club(
    connection: asyncpg.Connection, pool: asyncpg.Pool | None,
    statement: ReportStatement, arguments: Sequence[object],
) -> ClubRecords:
    """Per club of $1: its rows of `statement`, read in one snapshot. With a pool that
    has two connections free, each of them runs one lane's parts as one statement for
    every club (two cores), both reading one exported snapshot under the scope of
    `connection`'s transaction; otherwise every part runs as one statement on
    `connection`."""
    pair = None if pool is None else await acquire_two(pool)
    if pool is None or pair is None:
        await use_custom_plans(connection)
        answers = [await connection.fetch(
            one_statement(statement.parts, statement.parameter_types), *arguments)]
    else:
        try:
            scope = await connection.fetchrow(
                "SELECT " + ", ".join(f"current_setting('{name}', true)"
                                      for name in SCOPE_SETTINGS))
            answers = await in_one_snapshot(pair, list(scope.values()), statement, arguments)
        finally:
            for partner in pair:
                await pool.release(partner)
    return ClubRecords(tuple({r["club_id"]: r for r in rows} for rows in answers))


async def figures_by_club(
    connection: asyncpg.Connection, pool: asyncpg.Pool | None,
    statement: ReportStatement, arguments: Sequence[object],
) -> dict[uuid.UUID, dict[str, Any]]:
    """Per club of $1: the columns of every part that are not null, read in one
    snapshot (see `records_by_club`)."""
    records = await records_by_club(connection, pool, statement, arguments)
    figures: dict[uuid.UUID, dict[str, Any]] = {}
    for rows in records.lanes:
        for club_id, r in rows.items():
            values = dict(r.items())
            del values["club_id"]
            if None in values.values():  # few rows: a part without a row for the club
                values = {k: v for k, v in values.items() if v is not None}
            known = figures.get(club_id)
            if known is None:
                figures[club_id] = values
            else:
                known.update(values)
    return figures


async def acquire_two(pool: asyncpg.Pool) -> tuple[asyncpg.Connection, asyncpg.Connection] | None:
    """Two connections of the pool, or None when it has not two free within the wait
    (or cannot open them: the report then reads on the request's own connection)."""
    taken: list[asyncpg.Connection] = []
    try:
        while len(taken) < 2:
            taken.append(await pool.acquire(timeout=SECOND_CONNECTIONS_WAIT_SECONDS))
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        for partner in taken:
            await pool.release(partner)
        return None
    return taken[0], taken[1]


async def in_one_snapshot(
    pair: tuple[asyncpg.Connection, asyncpg.Connection], scope: list[str | None],
    statement: ReportStatement, arguments: Sequence[object],
) -> list[list[asyncpg.Record]]:
    """The rows of each lane of `statement`, one lane on each connection over every
    club, in read-only REPEATABLE READ transactions of one snapshot (the first exports
    it, the second imports it before reading anything)."""
    first, second = pair
    scope_names = [n for n, v in zip(SCOPE_SETTINGS, scope, strict=True) if v is not None]
    scope_values = [v for v in scope if v is not None]
    # The two lanes keep both cores busy: a parallel worker of either would only take
    # turns with them (and costs its start), so the lanes run without.
    set_scope = ("SELECT set_config('plan_cache_mode', 'force_custom_plan', true),"
                 " set_config('max_parallel_workers_per_gather', '0', true),"
                 " (SELECT count(set_config(n, v, true))"
                 "    FROM unnest($1::text[], $2::text[]) AS s(n, v))")
    exporting = first.transaction(isolation="repeatable_read", readonly=True)
    importing = second.transaction(isolation="repeatable_read", readonly=True)
    await exporting.start()
    try:
        await first.execute(set_scope, scope_names, scope_values)
        snapshot = await first.fetchval("SELECT pg_export_snapshot()")
        if not SNAPSHOT_ID.match(snapshot):
            raise ValueError(f"unexpected snapshot id {snapshot!r}")
        await importing.start()
        try:
            await second.execute(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
            await second.execute(set_scope, scope_names, scope_values)
            answers = await asyncio.gather(*(
                partner.fetch(one_statement(lane, statement.parameter_types), *arguments)
                for partner, lane in zip(pair, statement.lanes, strict=True)),
                return_exceptions=True)
        finally:
            await importing.rollback()
    finally:
        await exporting.rollback()
    rows: list[list[asyncpg.Record]] = []
    for answer in answers:
        if isinstance(answer, BaseException):
            raise answer
        rows.append(list(answer))
    return rows


async def use_custom_plans(connection: asyncpg.Connection) -> None:
    """A plan for these parameters: a prepared statement's generic plan (chosen after a
    few runs) cannot see how many clubs and accounts the arrays hold."""
    await connection.execute("SET LOCAL plan_cache_mode = force_custom_plan")


# The portfolio's fund figures, kept per fund and day in `daily_fund_figures` (which
# accounts make each: `clubfund_report_figure`, migration `0030`). Stocks are balances
# at the end of `as_of`; flows are movements over [from, as_of].
PORTFOLIO_STOCKS = ("capital_district_budget", "capital_other_budgets", "capital_donors",
                    "capital_members", "capital_retained_surplus", "cash", "loans_outstanding")
PORTFOLIO_FLOWS = ("interest_earned", "write_offs")


async def area_tree(
    connection: asyncpg.Connection, area: str | None, as_of: date
) -> list[asyncpg.Record]:
    """`area` (every province when None) and every area under it in the tree valid on
    `as_of`, each with its parent then; depth 0 is the top."""
    return list(await connection.fetch(
        """
        WITH RECURSIVE tree AS (
            SELECT a.code, a.name, a.level, NULL::text AS parent_code, 0 AS depth
              FROM areas a
             WHERE ($1::text IS NULL AND a.level = 'province'
                    AND a.valid_from <= $2 AND (a.valid_to IS NULL OR a.valid_to > $2))
                OR a.code = $1
            UNION ALL
            SELECT c.code, c.name, c.level, t.code, t.depth + 1
              FROM tree t
              JOIN area_parents p ON p.parent_code = t.code AND p.valid_from <= $2
                                 AND (p.valid_to IS NULL OR p.valid_to > $2)
              JOIN areas c ON c.code = p.code
        )
        SELECT code, name, level, parent_code, depth FROM tree ORDER BY depth, code
        """,
        area, as_of,
    ))


# The clubs of $1 with their funds, within the caller's fund scope $4 (null: all): the
# first CTE of every part that reads the clubs' books.
CLUB_FUNDS_CTE = """club_funds AS MATERIALIZED (
    SELECT c.id AS club_id, fu.id AS fund_id
      FROM clubs c JOIN funds fu ON fu.club_id = c.id
     WHERE c.id = ANY($1::uuid[])
       AND ($4::uuid[] IS NULL OR fu.id = ANY($4::uuid[]))
)"""


# The portfolio's statement parts. Each returns `club_id` and its own columns; each
# reads $1 to $6 of `portfolio_arguments`. Run together as one statement
# (`one_statement`) or on two connections sharing one snapshot (`in_one_snapshot`).
#
# Ledger part: per club, its funds' figures from `daily_fund_figures` (kept by the
# database, migration `0030`): a stock is its value at the end of `as_of`, a flow its
# movement over [start, as_of] (less its value before `start`). One probe of the
# table's index per fund and date, in fund order so that successive probes walk
# neighbouring index pages; only reports with a flow probe the day before the period
# (the programme has none).
def ledger_figures_sql(names: Sequence[str]) -> str:
    """The ledger part for the figures `names` (of `PORTFOLIO_FIGURES`)."""
    flows = [name for name in names if name in PORTFOLIO_FLOWS]

    def latest(columns: Sequence[str], bound: str, alias: str) -> str:
        return (f"LEFT JOIN LATERAL (\n"
                f"      SELECT {', '.join(f'b.{c}' for c in columns)}\n"
                f"        FROM daily_fund_figures b\n"
                f"       WHERE b.fund_id = cf.fund_id AND b.effective_date {bound}\n"
                f"       ORDER BY b.effective_date DESC LIMIT 1) AS {alias} ON true")

    def amount(name: str) -> str:
        if name in flows:
            return f"coalesce(e.{name}, 0) - coalesce(s.{name}, 0)"
        return f"coalesce(e.{name}, 0)"

    joins = latest(names, "<= $3", "e")
    if flows:
        joins += "\n  " + latest(flows, "< $2", "s")
    columns = ",\n       ".join(f"sum({amount(name)})::bigint AS {name}" for name in names)
    return f"""
WITH {CLUB_FUNDS_CTE}
SELECT cf.club_id,
       {columns}
  FROM (SELECT club_id, fund_id FROM club_funds ORDER BY fund_id) AS cf
  {joins}
 GROUP BY cf.club_id
"""


# A member (`m`) aged $6 or more in the year of $3: her year of birth against a bound the
# planner computes once (the year less the age in numeric for every member cost 40 ms
# of 140 at 300,000 members).
OLDER_MEMBER = "m.birth_year <= extract(year FROM $3::date)::int - $6"

# Loan part: distinct active borrowers (of whom women, of whom aged `older_age` or
# more in the year of `as_of`) and the sums over the club's loans of
# `clubfund_loan_figures` for [start, as_of].
#
# `per_loan`: each loan of the clubs disbursed by `as_of` and not closed before
# `start`, with what fell due of it in the period, what was repaid of that, and what of
# it is at risk. The schedule comes from each loan's row (its running totals due, kept
# from `loan_installments`); so does what was paid towards interest and principal by
# the end of `as_of`: the running totals kept on the row by payment date (from
# `loan_events`, migration `0029`), taken at the number of payment dates on or before
# `as_of` (none: nothing paid) — no event is read; the principal outstanding then is
# the principal less what was paid of it, 0 once the loan was closed (`closed_on`).
PER_LOAN_CTE = """per_loan AS (
    SELECT loan.club_id, loan.member_id, loan.outstanding,
           x.amount_fallen_due, x.amount_repaid_of_due, x.outstanding_at_risk
      FROM (
          SELECT f.club_id, l.member_id,
                 l.schedule_due_dates, l.schedule_cumulative_due,
                 coalesce(l.paid_interest_principal_by_date[paid.dates], 0) AS paid,
                 CASE WHEN l.closed_on <= $3 THEN 0
                      ELSE l.principal - coalesce(l.paid_principal_by_date[paid.dates], 0)
                 END AS outstanding,
                 CASE WHEN l.closed_on <= $3 THEN l.closed_on END AS closed_on
            FROM funds f
            JOIN loans l ON l.fund_id = f.id
           -- How many of the loan's payment dates are on or before the report's date
           -- (0: none; an index 0 reads null).
           CROSS JOIN LATERAL (
               SELECT width_bucket($3::date, l.paid_dates) AS dates
           ) AS paid
           WHERE f.club_id = ANY($1::uuid[])
             AND ($4::uuid[] IS NULL OR f.id = ANY($4::uuid[]))
             AND l.disbursed_on <= $3
             -- A loan closed before the period adds nothing: nothing of it falls due
             -- in the period, none of it is outstanding or at risk, its borrower is
             -- not active through it.
             AND (l.closed_on IS NULL OR l.closed_on >= $2)
      ) AS loan
     CROSS JOIN LATERAL clubfund_loan_figures(
         loan.schedule_due_dates, loan.schedule_cumulative_due, loan.paid,
         loan.outstanding, loan.closed_on, $2, $3, $5
     ) AS x
)"""
# What fell due in the period, was repaid of it and is at risk, summed per club.
LOAN_SUMS_CTE = """sums AS (
    SELECT club_id,
           sum(amount_fallen_due)::bigint AS amount_fallen_due,
           sum(amount_repaid_of_due)::bigint AS amount_repaid_of_due,
           sum(outstanding_at_risk)::bigint AS outstanding_at_risk_30
      FROM per_loan
     GROUP BY club_id
)"""
LOAN_FIGURES_SQL = """
-- Per loan first (narrow rows); the sums per club straight from them, and the active
-- borrowers (a member with a loan outstanding) as the distinct members of the loans
-- outstanding, joined to their people: hash aggregates, no sort of every loan.
WITH """ + PER_LOAN_CTE + """,
""" + LOAN_SUMS_CTE + """,
borrowers AS (
    SELECT b.club_id,
           count(*) AS active_borrowers,
           count(*) FILTER (WHERE m.gender = 'female') AS active_borrowers_women,
           count(*) FILTER (WHERE """ + OLDER_MEMBER + """)
               AS active_borrowers_aged_60_plus
      FROM (SELECT DISTINCT club_id, member_id FROM per_loan WHERE outstanding > 0) AS b
      JOIN members m ON m.id = b.member_id
     GROUP BY b.club_id
)
SELECT s.club_id,
       coalesce(b.active_borrowers, 0) AS active_borrowers,
       coalesce(b.active_borrowers_women, 0) AS active_borrowers_women,
       coalesce(b.active_borrowers_aged_60_plus, 0) AS active_borrowers_aged_60_plus,
       s.amount_fallen_due, s.amount_repaid_of_due, s.outstanding_at_risk_30
  FROM sums s
  LEFT JOIN borrowers b ON b.club_id = s.club_id
"""
# The loan part without the borrowers: the programme's sums per club.
LOAN_SUMS_SQL = "WITH " + PER_LOAN_CTE + ",\n" + LOAN_SUMS_CTE + "\nSELECT * FROM sums"

# $1 club ids, $2 start, $3 as_of, $4 fund scope (null: all), $5 days late for PAR,
# $6 older age.
LOAN_FIGURES = ("active_borrowers", "active_borrowers_women", "active_borrowers_aged_60_plus",
                "amount_fallen_due", "amount_repaid_of_due", "outstanding_at_risk_30")
PORTFOLIO_FIGURES = (*PORTFOLIO_STOCKS, *PORTFOLIO_FLOWS)
LEDGER_PART = StatementPart("ledger", ledger_figures_sql(PORTFOLIO_FIGURES), PORTFOLIO_FIGURES)
LOANS_PART = StatementPart("loans", LOAN_FIGURES_SQL, LOAN_FIGURES)
# The portfolio's parameters: see `portfolio_arguments`.
PORTFOLIO_PARAMETER_TYPES = ("uuid[]", "date", "date", "uuid[]", "int", "int")
PORTFOLIO_STATEMENT = ReportStatement(PORTFOLIO_PARAMETER_TYPES, ((LEDGER_PART,), (LOANS_PART,)))


async def portfolio_figures(
    connection: asyncpg.Connection, pool: asyncpg.Pool | None, club_ids: list[uuid.UUID],
    start: date, as_of: date, days_at_risk: int, older_age: int,
    fund_scope: list[uuid.UUID] | None,
) -> dict[uuid.UUID, dict[str, Any]]:
    """Per club: its figures that are not null (a club with no fund or no loan of a
    figure has none there). See the parts above; one snapshot."""
    return await figures_by_club(
        connection, pool, PORTFOLIO_STATEMENT,
        portfolio_arguments(club_ids, start, as_of, days_at_risk, older_age, fund_scope),
    )


def portfolio_arguments(
    club_ids: list[uuid.UUID], start: date, as_of: date, days_at_risk: int, older_age: int,
    fund_scope: list[uuid.UUID] | None,
) -> list[object]:
    """$1 to $6 of the portfolio's parts (a statement embedding them takes them first)."""
    return [club_ids, start, as_of, fund_scope, days_at_risk, older_age]


async def clubs_in(
    connection: asyncpg.Connection, area_codes: list[str], as_of: date,
    fund_scope: list[uuid.UUID] | None,
) -> list[asyncpg.Record]:
    """The clubs in the areas on `as_of` (by their area history; a club without one
    by its area); for a scoped caller, only those with a fund in its scope."""
    return list(await connection.fetch(
        """
        SELECT c.id, c.name, a.area_code
          FROM clubs c
         CROSS JOIN LATERAL (
             SELECT coalesce(
                 (SELECT h.area_code FROM club_areas h
                   WHERE h.club_id = c.id AND h.valid_from <= $2
                     AND (h.valid_to IS NULL OR h.valid_to > $2)
                   ORDER BY h.valid_from DESC LIMIT 1),
                 CASE WHEN NOT EXISTS (SELECT FROM club_areas h WHERE h.club_id = c.id)
                      THEN c.area_code END) AS area_code
         ) AS a
         WHERE a.area_code = ANY($1::text[])
           AND ($3::uuid[] IS NULL OR EXISTS (
                   SELECT FROM funds f WHERE f.club_id = c.id AND f.id = ANY($3::uuid[])))
         ORDER BY a.area_code, c.name, c.id
        """,
        area_codes, as_of, fund_scope,
    ))


async def fund_heading(connection: asyncpg.Connection, fund_id: uuid.UUID) -> asyncpg.Record | None:
    """A fund's name, its club and the club's commune (now), and its audit log's
    size and frontier as this transaction reads them."""
    record: asyncpg.Record | None = await connection.fetchrow(
        """
        SELECT f.name AS fund_name, c.name AS club_name, a.name AS commune_name,
               coalesce(t.tree_size, 0) AS tree_size, coalesce(t.frontier, '{}') AS frontier
          FROM funds f
          LEFT JOIN clubs c ON c.id = f.club_id
          LEFT JOIN areas a ON a.code = c.area_code
          LEFT JOIN audit_trees t ON t.fund_id = f.id
         WHERE f.id = $1
        """,
        fund_id,
    )
    return record


async def club_fund_trees(
    connection: asyncpg.Connection, club_ids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    """Each club's funds with their audit log's size and frontier, by club name."""
    return list(await connection.fetch(
        """
        SELECT c.name AS club_name, f.id AS fund_id,
               coalesce(t.tree_size, 0) AS tree_size, coalesce(t.frontier, '{}') AS frontier
          FROM clubs c
          JOIN funds f ON f.club_id = c.id
          LEFT JOIN audit_trees t ON t.fund_id = f.id
         WHERE c.id = ANY ($1::uuid[])
         ORDER BY c.name, f.id
        """,
        club_ids,
    ))
