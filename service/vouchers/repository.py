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
