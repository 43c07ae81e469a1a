"""Voucher counters: the last receipt (PT) and payment (PC) number per fund and year."""

from __future__ import annotations

import uuid

import asyncpg


async def next_voucher_number(
    connection: asyncpg.Connection, fund_id: uuid.UUID, kind: str, year: int
) -> int:
    """Advance and return the fund's counter for `kind` in `year`. Call it only while
    holding the fund lock: the counter then has no gaps and no duplicates, and a
    rolled-back request gives its number back with everything else."""
    number: int = await connection.fetchval(
        """
        INSERT INTO voucher_counters (fund_id, kind, year, last_number)
        VALUES ($1, $2, $3, 1)
        ON CONFLICT (fund_id, kind, year)
        DO UPDATE SET last_number = voucher_counters.last_number + 1
        RETURNING last_number
        """,
        fund_id, kind, year,
    )
    return number


async def find_voucher(
    connection: asyncpg.Connection, fund_id: uuid.UUID, voucher_number: str
) -> asyncpg.Record | None:
    """The entry numbered `voucher_number` in the fund: its id, the codes of the accounts
    its postings move (by account id), and whether a later entry reverses it."""
    record: asyncpg.Record | None = await connection.fetchrow(
        """
        SELECT e.id AS entry_id,
               (SELECT json_object_agg(a.id, a.code)
                  FROM postings p JOIN accounts a ON a.fund_id = p.fund_id
                                                 AND a.id = p.account_id
                 WHERE p.fund_id = e.fund_id AND p.entry_id = e.id) AS account_codes,
               EXISTS (SELECT 1 FROM entries r
                        WHERE r.fund_id = e.fund_id AND r.reverses_entry_id = e.id) AS reversed
          FROM entries e
         WHERE e.fund_id = $1 AND e.voucher_number = $2
        """,
        fund_id, voucher_number,
    )
    return record
