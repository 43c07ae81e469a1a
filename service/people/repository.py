"""Every query on people."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

PERSON_COLUMNS = """
    id, name, phone, role,
    CASE WHEN scope_club_id IS NOT NULL THEN 'club:' || scope_club_id
         WHEN scope_area_code IS NOT NULL THEN 'area:' || scope_area_code END AS scope,
    scope_club_id, member_id, 'person:' || id AS actor, created_at, created_by
"""


async def insert_person(
    connection: asyncpg.Connection, *, person_id: uuid.UUID, name: str, phone: str | None,
    role: str, scope_club_id: uuid.UUID | None, scope_area_code: str | None,
    member_id: uuid.UUID | None, created_at: datetime, created_by: str,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        f"""
        INSERT INTO people (id, name, phone, role, scope_club_id, scope_area_code, member_id,
                            created_at, created_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        RETURNING {PERSON_COLUMNS}
        """,
        person_id, name, phone, role, scope_club_id, scope_area_code, member_id, created_at,
        created_by,
    )
    return record


async def get_person(connection: asyncpg.Connection, person_id: uuid.UUID) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        f"SELECT {PERSON_COLUMNS} FROM people WHERE id = $1", person_id
    )
    return record


async def phone_taken(connection: asyncpg.Connection, phone: str) -> bool:
    return bool(await connection.fetchval("SELECT true FROM people WHERE phone = $1", phone))


async def club_exists(connection: asyncpg.Connection, club_id: uuid.UUID) -> bool:
    return bool(await connection.fetchval("SELECT true FROM clubs WHERE id = $1", club_id))


async def area_exists(connection: asyncpg.Connection, code: str) -> bool:
    return bool(await connection.fetchval("SELECT true FROM areas WHERE code = $1", code))


async def is_member_of(
    connection: asyncpg.Connection, member_id: uuid.UUID, club_id: uuid.UUID
) -> bool:
    return bool(await connection.fetchval(
        "SELECT true FROM members WHERE id = $1 AND club_id = $2", member_id, club_id
    ))


async def club_fund_id(connection: asyncpg.Connection, club_id: uuid.UUID) -> uuid.UUID | None:
    """The club's income fund (its first fund), whose audit log records its people."""
    fund_id: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM funds WHERE club_id = $1 ORDER BY id LIMIT 1", club_id
    )
    return fund_id
