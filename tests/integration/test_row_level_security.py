"""The database enforces each request's fund scope on its own: raw SQL as the
service's role `clubfund_app`, around the service."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from service.auth.service import hash_token
from tests.api.factories import create_area, create_club
from tests.api.scoped_world import build_world

NOW = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)


async def fund_scoped_tables(connection: asyncpg.Connection) -> dict[str, str]:
    """{table: its fund column} for every table holding a fund's rows."""
    rows = await connection.fetch(
        "SELECT table_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'fund_id'"
    )
    tables = {r["table_name"]: "fund_id" for r in rows}
    tables["funds"] = "id"
    return tables


async def test_every_fund_and_club_scoped_table_forces_row_level_security(owner_connection):
    tables = await fund_scoped_tables(owner_connection)
    assert {"funds", "accounts", "account_balances", "entries", "postings",
            "idempotency_records"} <= set(tables)
    club_keyed = await owner_connection.fetch(
        "SELECT table_name FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'club_id'"
    )
    for table in sorted({*tables, *(r["table_name"] for r in club_keyed)}):
        row = await owner_connection.fetchrow(
            "SELECT c.relrowsecurity, c.relforcerowsecurity,"
            " (SELECT count(*) FROM pg_policy p WHERE p.polrelid = c.oid) AS policies"
            " FROM pg_class c WHERE c.oid = $1::regclass",
            table,
        )
        assert row["relrowsecurity"] and row["relforcerowsecurity"] and row["policies"] > 0, (
            f"{table} holds a fund's or a club's rows: its migration must call "
            f"SELECT clubfund_protect_fund_table('{table}') (or clubfund_protect_club_table)"
        )
    clubs = await owner_connection.fetchrow(
        "SELECT relrowsecurity FROM pg_class WHERE oid = 'clubs'::regclass"
    )
    assert clubs["relrowsecurity"]


async def test_the_service_role_sees_its_scope_only_and_nothing_without_one(
    client, client_for, owner_connection, new_token, app_connection, superuser_connection
):
    world = await build_world(client, owner_connection, new_token)
    for club in (world.a, world.b):  # an idempotency record in each fund
        treasurer = client_for(await new_token("treasurer", scope=f"club:{club.club_id}"))
        response = await treasurer.post(
            f"/v1/funds/{club.fund_id}/accounts", headers={"Idempotency-Key": "k"},
            json={"code": "6429", "name": "Chi phí khác", "type": "expense"},
        )
        assert response.status_code == 201, response.text
        grant = await treasurer.post(f"/v1/funds/{club.fund_id}/seed-grants", json={
            "amount": 2_000_000, "source": "district_budget", "decision_number": "9/QĐ-UBND",
            "effective_date": "2026-02-10"})  # a seed grant's credit in each fund
        assert grant.status_code == 201, grant.text
    tables = await fund_scoped_tables(superuser_connection)
    funds = (uuid.UUID(world.a.fund_id), uuid.UUID(world.b.fund_id))

    async def counts(connection: asyncpg.Connection) -> dict[str, tuple[int, int, int]]:
        """{table: (rows of A, rows of B, all rows)} as `connection` sees them."""
        result = {}
        for table, column in tables.items():
            row = await connection.fetchrow(
                f"SELECT count(*) FILTER (WHERE {column} = $1) AS a,"
                f" count(*) FILTER (WHERE {column} = $2) AS b, count(*) AS total FROM {table}",
                *funds,
            )
            result[table] = (row["a"], row["b"], row["total"])
        return result

    everything = await counts(superuser_connection)
    empty = [t for t, (a, b, _) in everything.items() if not (a and b)]
    assert not empty, f"give both clubs rows in {empty} (tests/api/scoped_world.py)"

    assert await counts(app_connection) == dict.fromkeys(tables, (0, 0, 0))
    assert await app_connection.fetchval("SELECT count(*) FROM clubs") == 0

    async with app_connection.transaction():  # the club's scope, as the service sets it
        found = await app_connection.fetchrow(
            "SELECT * FROM clubfund_authenticate($1)", hash_token(world.tokens["treasurer"])
        )
        assert found["failure"] is None and found["fund_ids"] == [funds[0]]
        seen = await counts(app_connection)
        assert await app_connection.fetchval("SELECT array_agg(id) FROM clubs") == [
            uuid.UUID(world.a.club_id)]
    for table, (a, b, total) in seen.items():
        assert b == 0 and total == a, table
        if table != "idempotency_records":  # those are the caller's own
            assert a == everything[table][0], table
    assert seen["idempotency_records"] == (0, 0, 0)  # another token's record

    async with app_connection.transaction():  # the scope set by hand, without a token
        await app_connection.execute(
            "SELECT set_config('clubfund.fund_ids', $1, true)", "{" + world.a.fund_id + "}"
        )
        for table, (a, b, total) in (await counts(app_connection)).items():
            assert b == 0 and total == a, table

    # The transaction-local scope ended with its transaction.
    assert await counts(app_connection) == dict.fromkeys(tables, (0, 0, 0))


@pytest.mark.parametrize("setting, value", [
    ("clubfund.fund_ids", ""), ("clubfund.fund_ids", "{}"), ("clubfund.all_funds", "off"),
    ("clubfund.all_funds", ""), ("clubfund.club_ids", "{}"),
])
async def test_an_empty_scope_sees_nothing(
    setting, value, client, owner_connection, new_token, app_connection
):
    await build_world(client, owner_connection, new_token)
    async with app_connection.transaction():
        await app_connection.execute("SELECT set_config($1, $2, true)", setting, value)
        for table in ("funds", "accounts", "entries", "postings", "account_balances", "clubs"):
            assert await app_connection.fetchval(f"SELECT count(*) FROM {table}") == 0, table


async def test_postings_move_balances_inside_the_scope_and_cannot_be_written_outside_it(
    client, owner_connection, new_token, app_connection
):
    world = await build_world(client, owner_connection, new_token)
    token_hash = hash_token(world.tokens["treasurer"])
    insert_entry = (
        "WITH e AS (INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at,"
        " description, currency, metadata, actor, hash)"
        " VALUES ($1, $2, 99, '2026-03-05', $5, 'x', 'VND', '{}', 't', 'h'))"
        " INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,"
        " effective_date, sequence) VALUES ($1, $2, 1, $3, 'debit', 700, 'VND', '2026-03-05', 99),"
        " ($1, $2, 2, $4, 'credit', 700, 'VND', '2026-03-05', 99)"
    )
    async with app_connection.transaction():
        await app_connection.execute("SELECT FROM clubfund_authenticate($1)", token_hash)
        await app_connection.execute(insert_entry, uuid.UUID(world.a.fund_id), uuid.uuid4(),
                                     uuid.UUID(world.a.cash), uuid.UUID(world.a.capital), NOW)
    # the balance trigger (SECURITY DEFINER, bound by FORCE) and the deferred
    # balancing check both ran inside the scope
    cash = await owner_connection.fetchrow(
        "SELECT debits, credits FROM account_balances WHERE account_id = $1",
        uuid.UUID(world.a.cash),
    )
    # 5,000,000 of capital, 1,000 whose reversal is pending, 700 here; 100,000 lent
    assert (cash["debits"], cash["credits"]) == (5_001_700, 100_000)

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        async with app_connection.transaction():
            await app_connection.execute("SELECT FROM clubfund_authenticate($1)", token_hash)
            await app_connection.execute(
                insert_entry, uuid.UUID(world.b.fund_id), uuid.uuid4(),
                uuid.UUID(world.b.cash), uuid.UUID(world.b.capital), NOW,
            )
    async with app_connection.transaction():
        await app_connection.execute("SELECT FROM clubfund_authenticate($1)", token_hash)
        moved = await app_connection.execute(
            "UPDATE funds SET entry_count = entry_count + 1 WHERE id = $1",
            uuid.UUID(world.b.fund_id),
        )
        assert moved == "UPDATE 0"


async def test_an_area_scope_follows_the_tree_valid_today(owner_connection, new_token,
                                                          app_connection):
    today = datetime.now(UTC).date()
    old_district = await create_area(owner_connection, "D1", "district", valid_from="2020-01-01")
    new_province = await create_area(owner_connection, "P2", "province", valid_from="2020-01-01")
    later_province = await create_area(owner_connection, "P3", "province",
                                       valid_from="2020-01-01")
    commune = await create_area(owner_connection, "C1", "commune", parent_code=old_district,
                                valid_from="2020-01-01")
    # C1 moved from D1 to P2 last month, and will move to P3 next month.
    last_month, next_month = today - timedelta(days=30), today + timedelta(days=30)
    await owner_connection.execute(
        "UPDATE area_parents SET valid_to = $1 WHERE code = 'C1'", last_month
    )
    await owner_connection.execute(
        "INSERT INTO area_parents (code, valid_from, parent_code, valid_to)"
        " VALUES ('C1', $1, $2, $3), ('C1', $3, $4, NULL)",
        last_month, new_province, next_month, later_province,
    )
    club = await create_club(owner_connection, commune)

    async def funds_seen_by(area: str) -> list[uuid.UUID]:
        token = await new_token("auditor", scope=f"area:{area}")
        async with app_connection.transaction():
            found = await app_connection.fetchrow(
                "SELECT * FROM clubfund_authenticate($1)", hash_token(token)
            )
            assert found["failure"] is None
            visible = [r["id"] for r in await app_connection.fetch("SELECT id FROM funds")]
        assert visible == found["fund_ids"]
        return visible

    assert await funds_seen_by(new_province) == [uuid.UUID(club["fund_id"])]
    assert await funds_seen_by(commune) == [uuid.UUID(club["fund_id"])]
    assert await funds_seen_by(old_district) == []
    assert await funds_seen_by(later_province) == []


async def test_unusable_tokens_set_no_scope_and_the_hash_stays_hidden(
    client, owner_connection, new_token, app_connection, superuser_connection
):
    world = await build_world(client, owner_connection, new_token)
    expired, revoked = await new_token("admin"), await new_token("admin")
    await superuser_connection.execute(
        "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE hash = $1",
        hash_token(expired),
    )
    await superuser_connection.execute(
        "UPDATE tokens SET revoked_at = now() WHERE hash = $1", hash_token(revoked)
    )
    for token, failure in ((expired, "expired"), (revoked, "revoked"),
                           ("cf_never-issued", "unknown_token")):
        async with app_connection.transaction():
            found = await app_connection.fetchrow(
                "SELECT * FROM clubfund_authenticate($1)", hash_token(token)
            )
            assert found["failure"] == failure
            assert await app_connection.fetchval("SELECT count(*) FROM funds") == 0
            assert await app_connection.fetchval(
                "SELECT current_setting('clubfund.all_funds', true)") in (None, "")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_connection.fetch("SELECT hash FROM tokens")
    assert world.a.fund_id  # the world exists: only the scope hid it


async def test_a_connection_never_carries_a_scope_into_its_next_transaction(
    database, client, owner_connection, new_token, app_connection
):
    """The scope is transaction-local: on a bare connection (no pool resets it) and
    through the service's pool, the next transaction starts with no scope at all."""
    from service.database import create_pool

    world = await build_world(client, owner_connection, new_token)
    tokens = [world.tokens[kind] for kind in ("admin", "treasurer", "auditor")]

    async def assert_unscoped(connection: asyncpg.Connection) -> None:
        assert await connection.fetchval("SELECT count(*) FROM funds") == 0
        assert await connection.fetchval("SELECT count(*) FROM entries") == 0
        assert await connection.fetchval("SELECT count(*) FROM clubs") == 0
        for setting in ("all_funds", "fund_ids", "club_ids", "principal_id"):
            assert await connection.fetchval(
                f"SELECT current_setting('clubfund.{setting}', true)") in (None, "")

    for token in tokens:
        async with app_connection.transaction():
            await app_connection.execute("SELECT FROM clubfund_authenticate($1)",
                                         hash_token(token))
            assert await app_connection.fetchval("SELECT count(*) FROM funds") > 0
        await assert_unscoped(app_connection)

    pool = await create_pool(database.app_url, min_size=1, max_size=1)
    try:
        for token in tokens:
            async with pool.acquire() as connection, connection.transaction():
                await connection.execute("SELECT FROM clubfund_authenticate($1)",
                                         hash_token(token))
                assert await connection.fetchval("SELECT count(*) FROM funds") > 0
            async with pool.acquire() as connection:
                await assert_unscoped(connection)
    finally:
        await pool.close()
