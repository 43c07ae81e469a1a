"""Every query on entries and postings. The posting path is hand-written SQL:
one statement writes the entry and its postings and moves the fund's entry counter
to the entry's sequence; the database's triggers move the balances (see the
foundation migration)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from service.audit.repository import audit_stamp_column

ENTRY_SELECT = """
    SELECT e.id, e.fund_id, e.sequence, e.voucher_number, e.effective_date, e.recorded_at,
           e.description, e.currency, e.metadata, e.reverses_entry_id, e.actor, e.hash,
           (SELECT json_agg(json_build_object(
                       'line', p.line, 'account_id', p.account_id, 'side', p.side,
                       'amount', p.amount, 'currency', p.currency) ORDER BY p.line)
              FROM postings p
             WHERE p.fund_id = e.fund_id AND p.entry_id = e.id) AS postings,
           """ + audit_stamp_column(
    "e.fund_id", "e.id", ("entry.posted", "entry.reversal_posted")
) + """ AS audit
      FROM entries e
"""


async def never_negative_days(
    connection: asyncpg.Connection, fund_id: uuid.UUID, account_ids: list[uuid.UUID],
    effective_date: date,
) -> list[asyncpg.Record]:
    """For each of the accounts that may not go negative: its daily totals on the last
    day it moved on or before `effective_date` and on every later day it moved (one
    row with null totals when it never moved by then or since). Read under the fund
    lock, so no other writer moves them meanwhile."""
    return list(await connection.fetch(
        """
        SELECT a.id AS account_id, a.code, a.normal_side,
               d.effective_date, d.debits, d.credits
          FROM accounts a
          LEFT JOIN LATERAL (
              SELECT b.effective_date, b.debits, b.credits
                FROM daily_balances b
               WHERE b.fund_id = a.fund_id AND b.account_id = a.id
                 AND b.effective_date >= coalesce(
                     (SELECT max(p.effective_date) FROM daily_balances p
                       WHERE p.fund_id = a.fund_id AND p.account_id = a.id
                         AND p.effective_date <= $3), $3)
          ) AS d ON true
         WHERE a.fund_id = $1 AND a.id = ANY($2::uuid[]) AND NOT a.allow_negative
         ORDER BY a.id, d.effective_date
        """,
        fund_id, account_ids, effective_date,
    ))


async def insert_entry(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, entry_id: uuid.UUID, sequence: int,
    voucher_number: str | None, effective_date: date, recorded_at: datetime, description: str,
    currency: str, metadata: dict[str, Any], reverses_entry_id: uuid.UUID | None, actor: str,
    hash: str, account_ids: list[uuid.UUID], sides: list[str], amounts: list[int],
    currencies: list[str],
) -> None:
    await connection.execute(
        """
        WITH counted AS (
            UPDATE funds SET entry_count = $3 WHERE id = $1
        ), entry AS (
            INSERT INTO entries (fund_id, id, sequence, voucher_number, effective_date,
                                 recorded_at, description, currency, metadata,
                                 reverses_entry_id, actor, hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
        )
        INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,
                              effective_date, sequence)
        SELECT $1, $2, p.line, p.account_id, p.side, p.amount, p.currency, $5, $3
          FROM unnest($13::uuid[], $14::text[], $15::bigint[], $16::text[])
               WITH ORDINALITY AS p(account_id, side, amount, currency, line)
        """,
        fund_id, entry_id, sequence, voucher_number, effective_date, recorded_at, description,
        currency, metadata, reverses_entry_id, actor, hash,
        account_ids, sides, amounts, currencies,
    )


async def loan_accounts_among(
    connection: asyncpg.Connection, fund_id: uuid.UUID, account_ids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    """Which of the accounts are a loan's receivable (131.NNNN), with the loan's number."""
    return list(await connection.fetch(
        "SELECT account_id, number FROM loans"
        " WHERE fund_id = $1 AND account_id = ANY($2::uuid[])",
        fund_id, account_ids,
    ))


async def get_entry(connection: asyncpg.Connection, entry_id: uuid.UUID) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        ENTRY_SELECT + " WHERE e.id = $1", entry_id
    )
    return record


async def find_reversal(
    connection: asyncpg.Connection, fund_id: uuid.UUID, entry_id: uuid.UUID
) -> uuid.UUID | None:
    value: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM entries WHERE fund_id = $1 AND reverses_entry_id = $2", fund_id, entry_id
    )
    return value


async def list_entries(
    connection: asyncpg.Connection, fund_id: uuid.UUID, after_sequence: int | None, limit: int
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        ENTRY_SELECT + " WHERE e.fund_id = $1 AND ($2::bigint IS NULL OR e.sequence > $2)"
        " ORDER BY e.sequence LIMIT $3",
        fund_id, after_sequence, limit,
    ))
