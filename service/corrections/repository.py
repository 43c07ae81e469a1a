"""Every query on corrections and on reopening closed months."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

CORRECTION_COLUMNS = """
    fund_id, id, kind, status, entry_id, period, reason, effective_date, description,
    requested_by, requested_at, decided_by, decided_at, decision_note, reversal_entry_id,
    loan_id, waived_part, waived_amount
"""


async def insert_correction(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, correction_id: uuid.UUID,
    kind: str, entry_id: uuid.UUID | None, period: date | None, reason: str,
    effective_date: date | None, description: str | None, actor: str, now: datetime,
    loan_id: uuid.UUID | None = None, waived_part: str | None = None,
    waived_amount: int | None = None,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        f"""
        INSERT INTO corrections (fund_id, id, kind, status, entry_id, period, reason,
                                 effective_date, description, requested_by, requested_at,
                                 loan_id, waived_part, waived_amount)
        VALUES ($1, $2, $3, 'pending', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
        RETURNING {CORRECTION_COLUMNS}
        """,
        fund_id, correction_id, kind, entry_id, period, reason, effective_date, description,
        actor, now, loan_id, waived_part, waived_amount,
    )
    return record


async def fund_of_correction(
    connection: asyncpg.Connection, correction_id: uuid.UUID
) -> uuid.UUID | None:
    value: uuid.UUID | None = await connection.fetchval(
        "SELECT fund_id FROM corrections WHERE id = $1", correction_id)
    return value


async def get_correction(
    connection: asyncpg.Connection, correction_id: uuid.UUID
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        f"SELECT {CORRECTION_COLUMNS} FROM corrections WHERE id = $1", correction_id)
    return record


async def pending_for(
    connection: asyncpg.Connection, fund_id: uuid.UUID, kind: str, entry_id: uuid.UUID | None
) -> uuid.UUID | None:
    """The pending correction of this kind (for this entry, for a reversal), if any."""
    value: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM corrections WHERE fund_id = $1 AND kind = $2 AND status = 'pending'"
        " AND ($3::uuid IS NULL OR entry_id = $3)",
        fund_id, kind, entry_id,
    )
    return value


async def decide(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, correction_id: uuid.UUID,
    status: str, actor: str, now: datetime, note: str | None,
    reversal_entry_id: uuid.UUID | None, effective_date: date | None,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        f"""
        UPDATE corrections
           SET status = $3, decided_by = $4, decided_at = $5, decision_note = $6,
               reversal_entry_id = $7, effective_date = coalesce($8, effective_date)
         WHERE fund_id = $1 AND id = $2 AND status = 'pending'
        RETURNING {CORRECTION_COLUMNS}
        """,
        fund_id, correction_id, status, actor, now, note, reversal_entry_id, effective_date,
    )
    return record


async def list_corrections(
    connection: asyncpg.Connection, fund_id: uuid.UUID, status: str | None,
    after: tuple[datetime, uuid.UUID] | None, limit: int,
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        f"""
        SELECT {CORRECTION_COLUMNS} FROM corrections
         WHERE fund_id = $1 AND ($2::text IS NULL OR status = $2)
           AND ($3::timestamptz IS NULL OR (requested_at, id) > ($3, $4))
         ORDER BY requested_at, id LIMIT $5
        """,
        fund_id, status, after[0] if after else None, after[1] if after else None, limit,
    ))


async def reopen_period(
    connection: asyncpg.Connection, fund_id: uuid.UUID, period: date, previous: date,
    now: datetime, actor: str,
) -> None:
    """Reopen the close of `period` in force. The month before stays closed: when only
    the reopened close covered it (a first close closes every earlier month), it gets a
    close of its own, recorded as of the reopened one."""
    await connection.execute(
        """
        WITH reopened AS (
            UPDATE closed_periods SET reopened_at = $4, reopened_by = $5
             WHERE fund_id = $1 AND period = $2 AND reopened_at IS NULL
            RETURNING closed_at, actor
        )
        INSERT INTO closed_periods (fund_id, period, closed_at, actor)
        SELECT $1, $3, r.closed_at, r.actor FROM reopened r
         WHERE NOT EXISTS (SELECT 1 FROM closed_periods c
                            WHERE c.fund_id = $1 AND c.period = $3 AND c.reopened_at IS NULL)
        """,
        fund_id, period, previous, now, actor,
    )
