"""Migrations are the only way the schema changes: they must run up, down and up
again revision by revision (the stairway), and build exactly what the models say."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
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


PEOPLE_REVISION = "2026_11_30_people"


@contextlib.asynccontextmanager
async def seeing_every_fund(url: str) -> AsyncIterator[asyncpg.Connection]:
    """The owner's connection with every fund in scope (row-level security binds it)."""
    connection = await asyncpg.connect(url, server_settings={"clubfund.all_funds": "on"})
    try:
        yield connection
    finally:
        await connection.close()


def revision_before(revision: str) -> str:
    revisions = revisions_in_order()
    return revisions[revisions.index(revision) - 1]


async def test_the_people_migration_gives_each_existing_token_a_person(test_server):
    """Upgraded with tokens (and a loan waiting for its approval) present: each token
    belongs to a person of its own with its role and scope, still authenticates, and the
    waiting loan names the person; downgraded, the tokens are as they were."""
    import uuid
    from datetime import UTC, date, datetime

    from service.auth.service import hash_token
    from tests.api.factories import create_area, create_club

    url = await empty_database(test_server, "clubfund_people_migration")
    previous = revision_before(PEOPLE_REVISION)
    run_in_thread(lambda: migrate.upgrade(url, previous))
    now = datetime.now(UTC)
    async with seeing_every_fund(url) as connection:
        province = await create_area(connection, "51")
        club = await create_club(connection, await create_area(
            connection, "51101", "commune", parent_code=province))
        club_id = uuid.UUID(club["club_id"])
        tokens = {  # id: (role, club, area, label)
            "tok_00000000000000a1": ("admin", None, None, "ops"),
            "tok_00000000000000b2": ("treasurer", club_id, None, None),
            "tok_00000000000000c3": ("auditor", None, province, "Sở Tài chính"),
            "tok_00000000000000d4": ("integration", club_id, None, "Zalo"),
        }
        for token_id, (role, scope_club, scope_area, label) in tokens.items():
            await connection.execute(
                "INSERT INTO tokens (id, hash, role, scope_club_id, scope_area_code, can_write,"
                " label, created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'cli')",
                token_id, hash_token(token_id), role, scope_club, scope_area,
                role == "integration", label, now)
        member_id, loan_id = uuid.uuid4(), uuid.uuid4()
        await connection.execute(
            "INSERT INTO members (id, club_id, name, gender, birth_year, status, created_at)"
            " VALUES ($1, $2, 'Bà A', 'female', 1950, 'active', $3)", member_id, club_id, now)
        applied_by = "tok_00000000000000b2:treasurer"
        await connection.execute(
            """INSERT INTO loans (fund_id, id, number, member_id, status, principal,
                   installments, frequency, interest_method, amortization, rate_per_period,
                   day_count, grace_periods, rounding_unit, penalty_rate_per_day,
                   first_due_date, applied_on, applied_by, outstanding_principal,
                   repayment_state, events_count, created_at, updated_at)
               VALUES ($1, $2, 1, $3, 'applied', 5000000, 12, 'monthly', 'flat', 'equal',
                   0.01, 'actual', 0, 1, 0, $4, $5, $6, 0, '{}', 0, $7, $7)""",
            uuid.UUID(club["fund_id"]), loan_id, member_id, date(2026, 3, 5),
            date(2026, 2, 1), applied_by, now)

    run_in_thread(lambda: migrate.upgrade(url, PEOPLE_REVISION))
    async with seeing_every_fund(url) as connection:
        rows = await connection.fetch(
            "SELECT t.id, t.can_write, p.id AS person_id, p.name, p.role, p.scope_club_id,"
            " p.scope_area_code, p.phone, p.created_by FROM tokens t"
            " JOIN people p ON p.id = t.person_id ORDER BY t.id")
        assert [r["id"] for r in rows] == sorted(tokens)
        assert len({r["person_id"] for r in rows}) == len(tokens)  # a person each
        for row in rows:
            role, scope_club, scope_area, label = tokens[row["id"]]
            assert (row["role"], row["scope_club_id"], row["scope_area_code"]) == (
                role, scope_club, scope_area)
            assert row["name"] == (label or f"token {row['id']}")
            assert row["phone"] is None and row["created_by"] == "cli"
            found = await connection.fetchrow(
                "SELECT * FROM clubfund_authenticate($1)", hash_token(row["id"]))
            assert found["failure"] is None and found["person_id"] == row["person_id"]
            assert found["role"] == role and found["can_write"] == (role == "integration")
        treasurer = next(r["person_id"] for r in rows if r["id"] == "tok_00000000000000b2")
        assert await connection.fetchval("SELECT applied_by FROM loans WHERE id = $1",
                                         loan_id) == f"person:{treasurer}"

    run_in_thread(lambda: migrate.downgrade(url, previous))
    async with seeing_every_fund(url) as connection:
        back = await connection.fetch(
            "SELECT id, role, scope_club_id, scope_area_code, can_write, label FROM tokens"
            " ORDER BY id")
        assert {r["id"]: (r["role"], r["scope_club_id"], r["scope_area_code"], r["label"])
                for r in back} == tokens
        assert await connection.fetchval("SELECT applied_by FROM loans WHERE id = $1",
                                         loan_id) == applied_by
        found = await connection.fetchrow("SELECT * FROM clubfund_authenticate($1)",
                                          hash_token("tok_00000000000000c3"))
        assert found["failure"] is None and found["scope"] == "area:51"
