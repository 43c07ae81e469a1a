"""Migrations are the only way the schema changes: they must run up, down and up
again revision by revision (the stairway), and build exactly what the models say."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from service import migrate
from service.database import sqlalchemy_url
from service.models import metadata
from tests.conftest import OWNER_ROLE, PgServer, run_in_thread


def revisions_in_order() -> list[str]:
    script = ScriptDirectory.from_config(migrate.alembic_config("postgresql://unused"))
    return [r.revision for r in reversed(list(script.walk_revisions("base", "heads")))]


def test_file_names_sort_in_chain_order():
    script = ScriptDirectory.from_config(migrate.alembic_config("postgresql://unused"))
    chain = [r for r in reversed(list(script.walk_revisions("base", "heads")))]
    names = [Path(r.path).name for r in chain]
    assert len(script.get_heads()) == 1, f"more than one head: {script.get_heads()}"
    assert names == sorted(names), names
    assert all(re.fullmatch(r"\d{4}_[a-z0-9_]+\.py", name) for name in names), names


async def empty_database(server: PgServer, name: str) -> str:
    connection = await asyncpg.connect(server.superuser_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await connection.execute(f'CREATE DATABASE "{name}" OWNER {OWNER_ROLE}')
    finally:
        await connection.close()
    return server.owner_url(name)


async def user_tables(url: str) -> set[str]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'alembic_version'"
        )
        return {r["tablename"] for r in rows}
    finally:
        await connection.close()


async def test_stairway_up_down_up_every_revision(test_server):
    url = await empty_database(test_server, "clubfund_stairway")
    revisions = revisions_in_order()
    assert revisions, "no migrations found"
    previous = "base"
    for revision in revisions:
        run_in_thread(lambda r=revision: migrate.upgrade(url, r))
        run_in_thread(lambda p=previous: migrate.downgrade(url, p))
        run_in_thread(lambda r=revision: migrate.upgrade(url, r))
        previous = revision
    assert await user_tables(url) >= {"funds", "accounts", "entries", "postings"}
    run_in_thread(lambda: migrate.downgrade(url, "base"))
    assert await user_tables(url) == set()
    run_in_thread(lambda: migrate.upgrade(url, "head"))
    assert await user_tables(url) >= {"funds", "accounts", "entries", "postings"}


async def test_models_and_migrations_agree(database):
    engine = create_async_engine(sqlalchemy_url(database.owner_url))
    try:
        async with engine.connect() as connection:
            differences = await connection.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
            )
    finally:
        await engine.dispose()
    assert differences == []
