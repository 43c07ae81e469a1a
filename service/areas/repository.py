"""Every query on areas and their parent history; the area tree as of a date."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

AREA_COLUMNS = "code, name, level, valid_from, valid_to, created_at"

# The codes of an area and of every area under it on $2 (parents valid on that date).
SUBTREE_CTE = """
    WITH RECURSIVE tree(code) AS (
        SELECT code FROM areas WHERE code = $1
        UNION
        SELECT p.code
          FROM area_parents p
          JOIN tree t ON p.parent_code = t.code
         WHERE p.valid_from <= $2 AND (p.valid_to IS NULL OR p.valid_to > $2)
    )
"""


async def area_subtree_codes(connection: asyncpg.Connection, code: str, as_of: date) -> list[str]:
    """`code` and the codes of all areas below it in the tree valid on `as_of`
    (empty when `code` is unknown)."""
    rows = await connection.fetch(SUBTREE_CTE + "SELECT code FROM tree ORDER BY code", code, as_of)
    return [r["code"] for r in rows]


async def funds_in_area(
    connection: asyncpg.Connection, code: str, as_of: date
) -> list[uuid.UUID]:
    """The funds of every club that was, on `as_of`, in `code` or an area below it
    (in the tree valid on `as_of`), in id order."""
    rows = await connection.fetch(
        SUBTREE_CTE + """
        SELECT f.id
          FROM club_areas ca
          JOIN tree t ON t.code = ca.area_code
          JOIN funds f ON f.club_id = ca.club_id
         WHERE ca.valid_from <= $2 AND (ca.valid_to IS NULL OR ca.valid_to > $2)
         ORDER BY f.id
        """,
        code, as_of,
    )
    return [r["id"] for r in rows]


async def visible_area_codes(
    connection: asyncpg.Connection, fund_ids: list[uuid.UUID] | None, scope_area: str | None,
    as_of: date,
) -> list[str]:
    """The areas a scoped caller may see: those holding (on `as_of`) a club whose funds are
    in `fund_ids` (None: every club row-level security lets through), with their
    ancestors, and the area `scope_area` with everything under it."""
    rows = await connection.fetch(
        """
        WITH RECURSIVE up(code) AS (
            SELECT c.area_code FROM clubs c
             WHERE $1::uuid[] IS NULL
                OR c.id IN (SELECT f.club_id FROM funds f WHERE f.id = ANY($1::uuid[]))
            UNION
            SELECT p.parent_code
              FROM area_parents p
              JOIN up u ON p.code = u.code
             WHERE p.parent_code IS NOT NULL
               AND p.valid_from <= $3 AND (p.valid_to IS NULL OR p.valid_to > $3)
        ), down(code) AS (
            SELECT a.code FROM areas a WHERE a.code = $2
            UNION
            SELECT p.code
              FROM area_parents p
              JOIN down d ON p.parent_code = d.code
             WHERE p.valid_from <= $3 AND (p.valid_to IS NULL OR p.valid_to > $3)
        )
        SELECT code FROM up UNION SELECT code FROM down ORDER BY 1
        """,
        fund_ids, scope_area, as_of,
    )
    return [r["code"] for r in rows]


async def insert_area(
    connection: asyncpg.Connection, *, code: str, name: str, level: str, valid_from: date,
    now: datetime,
) -> None:
    await connection.execute(
        "INSERT INTO areas (code, name, level, valid_from, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        code, name, level, valid_from, now,
    )


async def insert_parent(
    connection: asyncpg.Connection, code: str, parent_code: str | None, valid_from: date
) -> None:
    await connection.execute(
        "INSERT INTO area_parents (code, valid_from, parent_code) VALUES ($1, $2, $3)",
        code, valid_from, parent_code,
    )


async def get_area(
    connection: asyncpg.Connection, code: str, *, for_update: bool = False
) -> asyncpg.Record | None:
    lock = " FOR UPDATE" if for_update else ""
    record: asyncpg.Record | None = await connection.fetchrow(
        f"SELECT {AREA_COLUMNS} FROM areas WHERE code = $1{lock}", code
    )
    return record


async def list_areas(
    connection: asyncpg.Connection, level: str | None, after_code: str | None, limit: int,
    only: list[str] | None = None,
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        f"SELECT {AREA_COLUMNS} FROM areas"
        " WHERE ($1::text IS NULL OR level = $1) AND ($2::text IS NULL OR code > $2)"
        " AND ($4::text[] IS NULL OR code = ANY($4::text[]))"
        " ORDER BY code LIMIT $3",
        level, after_code, limit, only,
    ))


async def parent_history(connection: asyncpg.Connection, code: str) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        "SELECT parent_code, valid_from, valid_to FROM area_parents WHERE code = $1"
        " ORDER BY valid_from",
        code,
    ))


async def children_as_of(connection: asyncpg.Connection, code: str, as_of: date) -> list[str]:
    rows = await connection.fetch(
        "SELECT code FROM area_parents WHERE parent_code = $1"
        " AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2) ORDER BY code",
        code, as_of,
    )
    return [r["code"] for r in rows]


async def close_open_parent(connection: asyncpg.Connection, code: str, valid_to: date) -> None:
    """End the area's current parent period on `valid_to` (exclusive)."""
    await connection.execute(
        "UPDATE area_parents SET valid_to = $2"
        " WHERE code = $1 AND valid_to IS NULL AND valid_from < $2",
        code, valid_to,
    )


async def set_area_end(connection: asyncpg.Connection, code: str, valid_to: date) -> None:
    await connection.execute("UPDATE areas SET valid_to = $2 WHERE code = $1", code, valid_to)


async def users_on_or_after(
    connection: asyncpg.Connection, code: str, day: date
) -> list[str]:
    """What still hangs on the area on or after `day`: child areas and clubs."""
    rows = await connection.fetch(
        """
        SELECT 'area ' || code AS what FROM area_parents
         WHERE parent_code = $1 AND (valid_to IS NULL OR valid_to > $2)
        UNION ALL
        SELECT 'club ' || club_id::text FROM club_areas
         WHERE area_code = $1 AND (valid_to IS NULL OR valid_to > $2)
        ORDER BY 1 LIMIT 5
        """,
        code, day,
    )
    return [r["what"] for r in rows]
