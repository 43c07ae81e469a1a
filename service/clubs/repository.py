"""Every query on clubs, their area history and their members."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import asyncpg

from service.audit.repository import audit_stamp_column

CLUB_SELECT = """
    SELECT c.id, c.name, c.area_code, c.created_at,
           (SELECT f.id FROM funds f WHERE f.club_id = c.id ORDER BY f.id LIMIT 1) AS fund_id,
           (SELECT json_agg(json_build_object('area_code', ca.area_code,
                   'valid_from', ca.valid_from, 'valid_to', ca.valid_to) ORDER BY ca.valid_from)
              FROM club_areas ca WHERE ca.club_id = c.id) AS areas
      FROM clubs c
"""
MEMBER_COLUMNS = "id, club_id, name, gender, birth_year, status, joined_on, created_at"
# A member's columns and the audit record that created her (in her club's fund's log).
MEMBER_SELECT = f"SELECT {MEMBER_COLUMNS}, " + audit_stamp_column(
    "(SELECT f.id FROM funds f WHERE f.club_id = members.club_id ORDER BY f.id LIMIT 1)",
    "members.id", ("member.created",),
) + " AS audit FROM members"


async def insert_club(
    connection: asyncpg.Connection, *, club_id: uuid.UUID, name: str, area_code: str,
    established_on: date, now: datetime,
) -> None:
    await connection.execute(
        """
        WITH club AS (
            INSERT INTO clubs (id, name, area_code, created_at) VALUES ($1, $2, $3, $4)
        )
        INSERT INTO club_areas (club_id, valid_from, area_code) VALUES ($1, $5, $3)
        """,
        club_id, name, area_code, now, established_on,
    )


async def get_club(
    connection: asyncpg.Connection, club_id: uuid.UUID, *, for_update: bool = False
) -> asyncpg.Record | None:
    if for_update:
        await connection.execute("SELECT 1 FROM clubs WHERE id = $1 FOR UPDATE", club_id)
    record: asyncpg.Record | None = await connection.fetchrow(
        CLUB_SELECT + " WHERE c.id = $1", club_id
    )
    return record


async def list_clubs(
    connection: asyncpg.Connection, area_codes: list[str] | None, as_of: date,
    after: uuid.UUID | None, limit: int, fund_scope: list[uuid.UUID] | None,
) -> list[asyncpg.Record]:
    """Clubs in id order; with `area_codes`, only those in one of them on `as_of`; with
    `fund_scope`, only the clubs of those funds."""
    return list(await connection.fetch(
        CLUB_SELECT + """
         WHERE ($1::uuid IS NULL OR c.id > $1)
           AND ($2::text[] IS NULL OR EXISTS (
                SELECT 1 FROM club_areas ca
                 WHERE ca.club_id = c.id AND ca.area_code = ANY($2)
                   AND ca.valid_from <= $3 AND (ca.valid_to IS NULL OR ca.valid_to > $3)))
           AND ($5::uuid[] IS NULL
                OR c.id IN (SELECT f.club_id FROM funds f WHERE f.id = ANY($5::uuid[])))
         ORDER BY c.id LIMIT $4
        """,
        after, area_codes, as_of, limit, fund_scope,
    ))


async def move_club(
    connection: asyncpg.Connection, club_id: uuid.UUID, area_code: str, valid_from: date
) -> None:
    """Close the club's open area period on `valid_from` and open the new one."""
    await connection.execute(
        """
        WITH closed AS (
            UPDATE club_areas SET valid_to = $3
             WHERE club_id = $1 AND valid_to IS NULL AND valid_from < $3
        ), moved AS (
            UPDATE clubs SET area_code = $2 WHERE id = $1
        )
        INSERT INTO club_areas (club_id, valid_from, area_code) VALUES ($1, $3, $2)
        """,
        club_id, area_code, valid_from,
    )


async def insert_member(
    connection: asyncpg.Connection, *, member_id: uuid.UUID, club_id: uuid.UUID, name: str,
    gender: str, birth_year: int, status: str, joined_on: date | None, now: datetime,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        "INSERT INTO members (id, club_id, name, gender, birth_year, status, joined_on,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        f" RETURNING {MEMBER_COLUMNS}",
        member_id, club_id, name, gender, birth_year, status, joined_on, now,
    )
    return record


async def get_member(
    connection: asyncpg.Connection, member_id: uuid.UUID
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        MEMBER_SELECT + " WHERE id = $1", member_id
    )
    return record


async def get_member_for_update(
    connection: asyncpg.Connection, member_id: uuid.UUID
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        f"SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1 FOR UPDATE", member_id
    )
    return record


async def update_member(
    connection: asyncpg.Connection, member_id: uuid.UUID, *, name: str, gender: str,
    birth_year: int, status: str, joined_on: date | None,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        "UPDATE members SET name = $2, gender = $3, birth_year = $4, status = $5,"
        f" joined_on = $6 WHERE id = $1 RETURNING {MEMBER_COLUMNS}",
        member_id, name, gender, birth_year, status, joined_on,
    )
    return record


async def list_members(
    connection: asyncpg.Connection, club_id: uuid.UUID, after: uuid.UUID | None, limit: int
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        MEMBER_SELECT + " WHERE club_id = $1"
        " AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3",
        club_id, after, limit,
    ))


def club_values(record: asyncpg.Record) -> dict[str, Any]:
    values = dict(record)
    values["areas"] = values["areas"] or []
    values["established_on"] = (
        date.fromisoformat(values["areas"][0]["valid_from"]) if values["areas"]
        else values["created_at"].date()
    )
    return values


async def member_contributions(
    connection: asyncpg.Connection, fund_id: uuid.UUID, member_id: uuid.UUID, limit: int
) -> list[asyncpg.Record]:
    """The member's contributions in force (not reversed), in date then posting order."""
    return list(await connection.fetch(
        """
        SELECT e.id AS entry_id, e.effective_date, e.sequence, e.voucher_number,
               (SELECT sum(p.amount) FROM postings p
                 WHERE p.fund_id = e.fund_id AND p.entry_id = e.id AND p.side = 'debit')::bigint
                 AS amount
          FROM entries e
         WHERE e.fund_id = $1 AND e.metadata ->> 'operation' = 'contribution'
           AND e.metadata ->> 'member_id' = $2::uuid::text
           AND NOT EXISTS (SELECT 1 FROM entries r
                            WHERE r.fund_id = e.fund_id AND r.reverses_entry_id = e.id)
         ORDER BY e.effective_date, e.sequence
         LIMIT $3
        """,
        fund_id, member_id, limit,
    ))
