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
