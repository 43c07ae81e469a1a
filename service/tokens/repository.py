"""Every query on tokens. The service role never reads `hash` back."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

TOKEN_COLUMNS = """
    t.id, t.person_id, p.role,
    CASE WHEN p.scope_club_id IS NOT NULL THEN 'club:' || p.scope_club_id
         WHEN p.scope_area_code IS NOT NULL THEN 'area:' || p.scope_area_code END AS scope,
    t.can_write AS write, t.label, t.created_at, t.created_by, t.expires_at, t.revoked_at,
    t.revoked_by, p.scope_club_id
"""


async def insert_token(
    connection: asyncpg.Connection, *, token_id: str, token_hash: str, person_id: uuid.UUID,
    can_write: bool, label: str | None, created_at: datetime, created_by: str,
    expires_at: datetime | None,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        f"""
        WITH t AS (
            INSERT INTO tokens (id, hash, person_id, can_write, label, created_at, created_by,
                                expires_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            RETURNING id, person_id, can_write, label, created_at, created_by, expires_at,
                      revoked_at, revoked_by
        )
        SELECT {TOKEN_COLUMNS} FROM t JOIN people p ON p.id = t.person_id
        """,
        token_id, token_hash, person_id, can_write, label, created_at, created_by, expires_at,
    )
    return record


async def list_tokens(
    connection: asyncpg.Connection, after: str | None, limit: int
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        f"SELECT {TOKEN_COLUMNS} FROM tokens t JOIN people p ON p.id = t.person_id"
        " WHERE ($1::text IS NULL OR t.id > $1) ORDER BY t.id LIMIT $2",
        after, limit,
    ))


async def usable_admin_token_ids(connection: asyncpg.Connection, now: datetime) -> list[str]:
    """The admin tokens that still work (not revoked, not expired), locked in id order so
    that two revocations at once see each other's outcome."""
    rows = await connection.fetch(
        "SELECT t.id FROM tokens t JOIN people p ON p.id = t.person_id"
        " WHERE p.role = 'admin' AND t.revoked_at IS NULL"
        " AND (t.expires_at IS NULL OR t.expires_at > $1) ORDER BY t.id FOR UPDATE OF t",
        now,
    )
    return [r["id"] for r in rows]


async def revoke_token(
    connection: asyncpg.Connection, token_id: str, now: datetime, revoked_by: str
) -> asyncpg.Record | None:
    """Revoke (once: a second revocation keeps the first's time and actor)."""
    record: asyncpg.Record | None = await connection.fetchrow(
        f"""
        WITH t AS (
            UPDATE tokens
               SET revoked_at = coalesce(revoked_at, $2), revoked_by = coalesce(revoked_by, $3)
             WHERE id = $1
            RETURNING id, person_id, can_write, label, created_at, created_by, expires_at,
                      revoked_at, revoked_by
        )
        SELECT {TOKEN_COLUMNS} FROM t JOIN people p ON p.id = t.person_id
        """,
        token_id, now, revoked_by,
    )
    return record


async def is_usable_admin_token(connection: asyncpg.Connection, token_hash: str) -> bool:
    """For the local first-start token: does this hash still name a usable admin token?"""
    found = await connection.fetchrow(
        "SELECT role, failure FROM clubfund_authenticate($1)", token_hash
    )
    return found is not None and found["failure"] is None and found["role"] == "admin"
