"""The queries a batch makes once for all its items: which loans are the fund's, which
keys have an answer already, and storing the answers of the items it wrote."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg


async def loans_of_fund(
    connection: asyncpg.Connection, fund_id: uuid.UUID, loan_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    rows = await connection.fetch(
        "SELECT id FROM loans WHERE fund_id = $1 AND id = ANY($2::uuid[])", fund_id, loan_ids
    )
    return {row["id"] for row in rows}


async def stored_answers(
    connection: asyncpg.Connection, principal_ids: list[str], keys: list[str]
) -> dict[str, asyncpg.Record]:
    """The stored answers of these Idempotency-Keys under any of these principals, by key
    (the first principal's answer when two have one)."""
    rows = await connection.fetch(
        """
        SELECT DISTINCT ON (key) key, request_hash, response_status, response_body
          FROM idempotency_records
         WHERE principal_id = ANY($1::text[]) AND key = ANY($2::text[])
         ORDER BY key, array_position($1::text[], principal_id)
        """,
        principal_ids, keys,
    )
    return {row["key"]: row for row in rows}


async def store_answers(
    connection: asyncpg.Connection, fund_id: uuid.UUID, principal_id: str, keys: list[str],
    request_hashes: list[str], statuses: list[int], bodies: list[bytes], now: datetime,
) -> int:
    """Store the items' answers as the single endpoints would; how many were new."""
    stored: int = await connection.fetchval(
        """
        WITH stored AS (
            INSERT INTO idempotency_records
                (fund_id, principal_id, key, request_hash, response_status, response_body,
                 created_at)
            SELECT $1, $2, a.key, a.request_hash, a.response_status, a.response_body, $7
              FROM unnest($3::text[], $4::text[], $5::int[], $6::bytea[])
                   AS a(key, request_hash, response_status, response_body)
            ON CONFLICT DO NOTHING
            RETURNING 1
        )
        SELECT count(*) FROM stored
        """,
        fund_id, principal_id, keys, request_hashes, statuses, bodies, now,
    )
    return stored
