"""Every query on closed periods."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg


async def insert_closed_period(
    connection: asyncpg.Connection, fund_id: uuid.UUID, period: date, now: datetime, actor: str
) -> None:
    await connection.execute(
        "INSERT INTO closed_periods (fund_id, period, closed_at, actor) VALUES ($1, $2, $3, $4)",
        fund_id, period, now, actor,
    )


async def list_closed_periods(
    connection: asyncpg.Connection, fund_id: uuid.UUID, after: date | None, limit: int
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        "SELECT fund_id, period, closed_at, actor FROM closed_periods"
        " WHERE fund_id = $1 AND reopened_at IS NULL AND ($2::date IS NULL OR period > $2)"
        " ORDER BY period LIMIT $3",
        fund_id, after, limit,
    ))
