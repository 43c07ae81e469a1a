"""Connection pools and URLs. SQL itself lives in each domain's repository."""

from __future__ import annotations

import json

import asyncpg


def sqlalchemy_url(url: str) -> str:
    """The same server for SQLAlchemy's asyncpg dialect (used by migrations only)."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix):]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


async def init_connection(connection: asyncpg.Connection) -> None:
    await connection.set_type_codec(
        "jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )
    await connection.set_type_codec(
        "json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
    )


async def create_pool(url: str, min_size: int = 2, max_size: int = 20) -> asyncpg.Pool:
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=init_connection,
        server_settings={"application_name": "clubfund", "timezone": "UTC"},
    )
    return pool
