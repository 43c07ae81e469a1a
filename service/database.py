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


async def keep_session(connection: asyncpg.Connection) -> None:
    """What the pool does to a connection on release, beyond asyncpg's own rollback of a
    transaction left open: nothing. Every setting the service makes is transaction-local
    (`set_config(..., true)`, `SET LOCAL`): the scope of a request ends with its COMMIT
    or ROLLBACK, and it takes no session advisory lock, LISTEN or cursor WITH HOLD. So
    asyncpg's reset query (`pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`)
    would cost each request one more round trip for nothing
    (tests/integration/test_pool_release.py shows the next request sees no scope)."""


async def create_pool(
    url: str, min_size: int = 2, max_size: int = 20, connect_timeout_seconds: float = 60.0
) -> asyncpg.Pool:
    """A pool of service connections. A connection found lost is discarded by the pool and a
    new one opened on the next acquire, each attempt giving up after the connect timeout."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=min_size, max_size=max_size, init=init_connection, reset=keep_session,
        timeout=connect_timeout_seconds,
        server_settings={"application_name": "clubfund", "timezone": "UTC"},
    )
    return pool


# Settings that, when off, let a crash of the server lose or corrupt committed transactions.
DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


class NonDurableDatabase(RuntimeError):
    """The server may lose acknowledged writes in a crash; the service will not use it."""


async def require_durable_database(connection: asyncpg.Connection) -> None:
    """Refuse a server with fsync, synchronous_commit or full_page_writes off: the service
    answers 2xx only after COMMIT, which is worth something only if COMMIT is durable."""
    rows = await connection.fetch(
        "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])",
        list(DURABILITY_SETTINGS),
    )
    unsafe = sorted(f"{row['name']} = off" for row in rows if row["setting"] == "off")
    if unsafe:
        raise NonDurableDatabase(
            "the database may lose acknowledged writes in a crash (" + ", ".join(unsafe)
            + "): set " + ", ".join(f"{name} = on" for name in DURABILITY_SETTINGS)
            + " in postgresql.conf (CLUBFUND_ALLOW_NON_DURABLE_DATABASE=true is for test"
            " suites and benchmarks only)"
        )
