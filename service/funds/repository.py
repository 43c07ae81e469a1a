"""Every query on funds."""

from __future__ import annotations

import uuid
from datetime import date, datetime

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
    connection: asyncpg.Connection, fund_id: uuid.UUID, account_ids: list[uuid.UUID],
    days_from: date | None, with_loans: bool,
) -> list[asyncpg.Record]:
    """Take the fund's write lock for this transaction: every write to a fund takes it
    first, so writes to one fund are serialised (gapless sequences, no deadlock) while
    funds proceed in parallel. In the same round trip, read after the lock was granted:
    the fund's currency, club, last entry sequence and latest closed month (a month
    reopened is no longer closed), on every row, with the `never_negative_days` of
    `account_ids` (no account: one row, its account columns null). No row: no such fund
    (see the fund_write_lock migration)."""
    return list(await connection.fetch(
        "SELECT * FROM lock_fund_for_write($1, $2, $3, $4)",
        fund_id, account_ids, days_from, with_loans,
    ))


async def never_negative_days(
    connection: asyncpg.Connection, fund_id: uuid.UUID, account_ids: list[uuid.UUID],
    days_from: date, with_loans: bool,
) -> list[asyncpg.Record]:
    """For each of `account_ids` that may not go negative: its daily totals on the last
    day it moved on or before `days_from` and on every later day it moved (one row with
    null totals when it never moved by then or since), `never_negative` true. With
    `with_loans`, also which of the accounts are a loan's receivable (131.NNNN):
    `loan_number` (null otherwise). For a caller that holds the fund's lock already."""
    return list(await connection.fetch(
        "SELECT * FROM never_negative_days($1, $2, $3, $4)",
        fund_id, account_ids, days_from, with_loans,
    ))
