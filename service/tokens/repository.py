"""Every query on tokens. The service role never reads `hash` back."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

TOKEN_COLUMNS = """
    id, role,
    CASE WHEN scope_club_id IS NOT NULL THEN 'club:' || scope_club_id
         WHEN scope_area_code IS NOT NULL THEN 'area:' || scope_area_code END AS scope,
    can_write AS write, label, created_at, created_by, expires_at, revoked_at, revoked_by
"""


async def insert_token(
    connection: asyncpg.Connection, *, token_id: str, token_hash: str, role: str,
    scope_club_id: uuid.UUID | None, scope_area_code: str | None, can_write: bool,
    label: str | None, created_at: datetime, created_by: str, expires_at: datetime | None,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        f"""
        INSERT INTO tokens (id, hash, role, scope_club_id, scope_area_code, can_write, label,
                            created_at, created_by, expires_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        RETURNING {TOKEN_COLUMNS}
        """,
        token_id, token_hash, role, scope_club_id, scope_area_code, can_write, label,
        created_at, created_by, expires_at,
    )
    return record


async def club_exists(connection: asyncpg.Connection, club_id: uuid.UUID) -> bool:
    return bool(await connection.fetchval("SELECT true FROM clubs WHERE id = $1", club_id))


async def area_exists(connection: asyncpg.Connection, code: str) -> bool:
    return bool(await connection.fetchval("SELECT true FROM areas WHERE code = $1", code))


async def list_tokens(
    connection: asyncpg.Connection, after: str | None, limit: int
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE ($1::text IS NULL OR id > $1)"
        " ORDER BY id LIMIT $2",
        after, limit,
    ))


async def usable_admin_token_ids(connection: asyncpg.Connection, now: datetime) -> list[str]:
    """The admin tokens that still work (not revoked, not expired), locked in id order so
    that two revocations at once see each other's outcome."""
    rows = await connection.fetch(
        "SELECT id FROM tokens WHERE role = 'admin' AND revoked_at IS NULL"
        " AND (expires_at IS NULL OR expires_at > $1) ORDER BY id FOR UPDATE",
        now,
    )
    return [r["id"] for r in rows]


async def revoke_token(
    connection: asyncpg.Connection, token_id: str, now: datetime, revoked_by: str
) -> asyncpg.Record | None:
    """Revoke (once: a second revocation keeps the first's time and actor)."""
    record: asyncpg.Record | None = await connection.fetchrow(
        f"""
        UPDATE tokens
           SET revoked_at = coalesce(revoked_at, $2), revoked_by = coalesce(revoked_by, $3)
         WHERE id = $1
        RETURNING {TOKEN_COLUMNS}
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
