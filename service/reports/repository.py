"""Every query of the reports. Balances as of a date come from `daily_balances` (the
latest row on or before the date: one index probe per account); statement lines
from the postings index (fund_id, account_id, effective_date, sequence).

Each report is one SQL statement, so it reads one snapshot even under concurrent
posting (READ COMMITTED gives every statement its own snapshot).
"""

from __future__ import annotations

import uuid
from datetime import date

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


# Which accounts feed which portfolio figure, by code prefix (the default chart of
# DESIGN.md). Stocks are balances at the end of `as_of`; flows are movements over
# [from, as_of].
PORTFOLIO_STOCKS = {
    "capital_district_budget": ("4111",),
    "capital_other_budgets": ("4112",),
    "capital_donors": ("4113",),
    "capital_members": ("4114",),
    "capital_retained_surplus": ("4115",),
    "cash": ("111", "112"),
    "loans_outstanding": ("131",),
}
PORTFOLIO_FLOWS = {
    "interest_earned": ("515",),
    "write_offs": ("811",),
}


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


async def portfolio_amounts(
    connection: asyncpg.Connection, area_codes: list[str], start: date, as_of: date,
    fund_scope: list[uuid.UUID] | None,
) -> list[asyncpg.Record]:
    """Per club in the areas: (club_id, name, area_code, figure, amount), each figure
    summed over the club's funds; clubs with no account of a figure have no row for it."""
    categories = [*PORTFOLIO_STOCKS.items(), *PORTFOLIO_FLOWS.items()]
    names = [name for name, prefixes in categories for _ in prefixes]
    prefixes = [prefix for _, prefixes in categories for prefix in prefixes]
    flows = [name in PORTFOLIO_FLOWS for name in names]
    return list(await connection.fetch(
        """
        WITH figures AS (
            SELECT * FROM unnest($2::text[], $3::text[], $4::bool[]) AS f(figure, prefix, flow)
        ),
        club_accounts AS (
            SELECT c.id AS club_id, a.fund_id, a.id AS account_id, a.normal_side,
                   f.figure, f.flow
              FROM clubs c
              JOIN funds fu ON fu.club_id = c.id
              JOIN accounts a ON a.fund_id = fu.id
              JOIN figures f ON a.code LIKE f.prefix || '%'
             WHERE c.area_code = ANY($1::text[])
               AND ($7::uuid[] IS NULL OR fu.id = ANY($7::uuid[]))
        )
        SELECT ca.club_id, ca.figure,
               sum(CASE ca.normal_side
                       WHEN 'debit' THEN coalesce(e.debits - e.credits, 0)
                                         - coalesce(s.debits - s.credits, 0)
                       ELSE coalesce(e.credits - e.debits, 0)
                            - coalesce(s.credits - s.debits, 0) END)::bigint AS amount
          FROM club_accounts ca
          LEFT JOIN LATERAL (
              SELECT debits, credits FROM daily_balances d
               WHERE d.fund_id = ca.fund_id AND d.account_id = ca.account_id
                 AND d.effective_date <= $6
               ORDER BY d.effective_date DESC LIMIT 1
          ) AS e ON true
          LEFT JOIN LATERAL (
              SELECT debits, credits FROM daily_balances d
               WHERE ca.flow AND d.fund_id = ca.fund_id AND d.account_id = ca.account_id
                 AND d.effective_date < $5
               ORDER BY d.effective_date DESC LIMIT 1
          ) AS s ON true
         GROUP BY ca.club_id, ca.figure
        """,
        area_codes, names, prefixes, flows, start, as_of, fund_scope,
    ))


async def clubs_in(
    connection: asyncpg.Connection, area_codes: list[str], fund_scope: list[uuid.UUID] | None
) -> list[asyncpg.Record]:
    """The clubs in the areas; for a scoped caller, only those with a fund in its scope."""
    return list(await connection.fetch(
        """
        SELECT c.id, c.name, c.area_code FROM clubs c
         WHERE c.area_code = ANY($1::text[])
           AND ($2::uuid[] IS NULL OR EXISTS (
                   SELECT FROM funds f WHERE f.club_id = c.id AND f.id = ANY($2::uuid[])))
         ORDER BY c.area_code, c.name, c.id
        """,
        area_codes, fund_scope,
    ))
