"""Every query on accounts and their balances."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from service.audit.repository import audit_stamp_column

ACCOUNT_SELECT = """
    SELECT a.id, a.fund_id, a.code, a.name, a.type, a.normal_side, a.allow_negative,
           a.currency, a.created_at, b.debits, b.credits, b.postings_count,
           """ + audit_stamp_column("a.fund_id", "a.id", ("account.created",)) + """ AS audit
      FROM accounts a
      JOIN account_balances b ON b.fund_id = a.fund_id AND b.account_id = a.id
"""


async def insert_account(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, account_id: uuid.UUID, code: str,
    name: str, type: str, normal_side: str, allow_negative: bool, currency: str, now: datetime,
) -> None:
    await connection.execute(
        """
        INSERT INTO accounts
            (fund_id, id, code, name, type, normal_side, allow_negative, currency, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        fund_id, account_id, code, name, type, normal_side, allow_negative, currency, now,
    )


async def get_account(
    connection: asyncpg.Connection, account_id: uuid.UUID
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        ACCOUNT_SELECT + " WHERE a.id = $1", account_id
    )
    return record


async def get_account_in_fund(
    connection: asyncpg.Connection, fund_id: uuid.UUID, account_id: uuid.UUID
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        ACCOUNT_SELECT + " WHERE a.fund_id = $1 AND a.id = $2", fund_id, account_id
    )
    return record


async def list_accounts(
    connection: asyncpg.Connection, fund_id: uuid.UUID, after_code: str | None, limit: int
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        ACCOUNT_SELECT + " WHERE a.fund_id = $1 AND ($2::text IS NULL OR a.code > $2)"
        " ORDER BY a.code LIMIT $3",
        fund_id, after_code, limit,
    ))


async def insert_accounts(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, account_ids: list[uuid.UUID],
    codes: list[str], names: list[str], types: list[str], normal_sides: list[str],
    allow_negatives: list[bool], currency: str, now: datetime,
) -> None:
    """Open several accounts in one statement (a new fund's chart)."""
    await connection.execute(
        """
        INSERT INTO accounts
            (fund_id, id, code, name, type, normal_side, allow_negative, currency, created_at)
        SELECT $1, a.id, a.code, a.name, a.type, a.normal_side, a.allow_negative, $8, $9
          FROM unnest($2::uuid[], $3::text[], $4::text[], $5::text[], $6::text[], $7::boolean[])
               AS a(id, code, name, type, normal_side, allow_negative)
        """,
        fund_id, account_ids, codes, names, types, normal_sides, allow_negatives, currency, now,
    )


async def account_ids_by_code(
    connection: asyncpg.Connection, fund_id: uuid.UUID, codes: list[str]
) -> dict[str, uuid.UUID]:
    rows = await connection.fetch(
        "SELECT code, id FROM accounts WHERE fund_id = $1 AND code = ANY($2::text[])",
        fund_id, codes,
    )
    return {r["code"]: r["id"] for r in rows}
