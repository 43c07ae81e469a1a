"""Every query on funds."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from service.audit.repository import audit_stamp_column

FUND_COLUMNS = "id, name, currency, entry_count, created_at, club_id"
FUND_READ_COLUMNS = (
    FUND_COLUMNS + ", "
    + audit_stamp_column("funds.id", "funds.id", ("fund.created",)) + " AS audit"
)


async def insert_fund(
    connection: asyncpg.Connection, fund_id: uuid.UUID, name: str, currency: str, now: datetime,
    club_id: uuid.UUID | None = None,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        f"INSERT INTO funds (id, name, currency, created_at, club_id) VALUES ($1, $2, $3, $4, $5)"
        f" RETURNING {FUND_COLUMNS}",
        fund_id, name, currency, now, club_id,
    )
    return record


async def get_fund(connection: asyncpg.Connection, fund_id: uuid.UUID) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        f"SELECT {FUND_READ_COLUMNS} FROM funds WHERE id = $1", fund_id
    )
    return record


async def list_funds(
    connection: asyncpg.Connection, after: uuid.UUID | None, limit: int,
    fund_ids: list[uuid.UUID] | None = None,
) -> list[asyncpg.Record]:
    """Funds in id order; only `fund_ids` when given (None: every fund)."""
    return list(await connection.fetch(
        f"SELECT {FUND_READ_COLUMNS} FROM funds WHERE ($1::uuid IS NULL OR id > $1)"
        " AND ($3::uuid[] IS NULL OR id = ANY ($3))"
        " ORDER BY id LIMIT $2",
        after, limit, fund_ids,
    ))


async def lock_fund(
    connection: asyncpg.Connection, fund_id: uuid.UUID
) -> asyncpg.Record | None:
    """Take the fund's write lock for this transaction: every write to a fund takes it
    first, so writes to one fund are serialised (gapless sequences, no deadlock) while
    funds proceed in parallel. Returns the fund's currency, club, last entry sequence
    and latest closed month (a month reopened is no longer closed), or None."""
    record: asyncpg.Record | None = await connection.fetchrow(
        "SELECT id, currency, club_id, entry_count,"
        " (SELECT max(period) FROM closed_periods"
        "   WHERE fund_id = $1 AND reopened_at IS NULL) AS closed_period"
        " FROM funds WHERE id = $1 FOR NO KEY UPDATE",
        fund_id,
    )
    return record
