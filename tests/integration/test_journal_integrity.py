"""The database keeps the journal honest on its own: these tests go around the
service and talk SQL to PostgreSQL as the service's role, the owner and a superuser."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

NOW = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)


async def make_ledger(connection: asyncpg.Connection) -> dict[str, uuid.UUID]:
    """A fund with cash (may not go negative) and capital, and one posted entry."""
    fund, cash, capital, entry = (uuid.uuid4() for _ in range(4))
    await connection.execute(
        "INSERT INTO funds (id, name, currency, created_at) VALUES ($1, 'F', 'VND', $2)",
        fund, NOW,
    )
    for account, code, kind, side, negative in (
        (cash, "111", "asset", "debit", False), (capital, "4111", "equity", "credit", True),
    ):
        await connection.execute(
            "INSERT INTO accounts (fund_id, id, code, name, type, normal_side, allow_negative,"
            " currency, created_at) VALUES ($1, $2, $3, $3, $4, $5, $6, 'VND', $7)",
            fund, account, code, kind, side, negative, NOW,
        )
    async with connection.transaction():
        await insert_entry(connection, fund, entry, 1,
                           [(cash, "debit", 500), (capital, "credit", 500)])
    return {"fund": fund, "cash": cash, "capital": capital, "entry": entry}


async def insert_entry(
    connection: asyncpg.Connection, fund: uuid.UUID, entry: uuid.UUID, sequence: int,
    lines: list[tuple[uuid.UUID, str, int]],
) -> None:
    await connection.execute(
        "INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at, description,"
        " currency, metadata, actor, hash) VALUES ($1, $2, $3, $4, $5, 'x', 'VND', $6, 't', 'h')",
        fund, entry, sequence, date(2026, 3, 5), NOW, json.dumps({}),
    )
    for line, (account, side, amount) in enumerate(lines, start=1):
        await connection.execute(
            "INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,"
            " effective_date, sequence) VALUES ($1, $2, $3, $4, $5, $6, 'VND', $7, $8)",
            fund, entry, line, account, side, amount, date(2026, 3, 5), sequence,
        )


async def balance_of(connection: asyncpg.Connection, account: uuid.UUID) -> tuple[int, int]:
    row = await connection.fetchrow(
        "SELECT debits, credits FROM account_balances WHERE account_id = $1", account
    )
    return row["debits"], row["credits"]


@pytest.mark.parametrize("role", ["app", "owner"])
async def test_update_and_delete_on_postings_fail_for_the_service_and_the_owner(
    role, app_connection, owner_connection
):
    ids = await make_ledger(owner_connection)
    connection = app_connection if role == "app" else owner_connection
    statements = [
        "UPDATE postings SET amount = amount + 1",
        "DELETE FROM postings",
        "TRUNCATE postings CASCADE",
        "UPDATE entries SET description = 'changed'",
        "DELETE FROM entries",
    ]
    for statement in statements:
        with pytest.raises(asyncpg.PostgresError) as raised:
            await connection.execute(statement)
        # 42501: the role lacks the privilege; CF001: the append-only trigger said no.
        assert raised.value.sqlstate in ("42501", "CF001"), statement
    amounts = await owner_connection.fetch("SELECT amount FROM postings ORDER BY line")
    assert [r["amount"] for r in amounts] == [500, 500]
    assert await balance_of(owner_connection, ids["cash"]) == (500, 0)


async def test_the_owner_is_stopped_by_the_append_only_trigger_itself(owner_connection):
    await make_ledger(owner_connection)
    for statement in ("UPDATE postings SET amount = 1", "DELETE FROM entries",
                      "TRUNCATE postings CASCADE"):
        with pytest.raises(asyncpg.PostgresError, match="append-only") as raised:
            await owner_connection.execute(statement)
        assert raised.value.sqlstate == "CF001"


async def test_the_service_role_cannot_touch_balances_or_bypass_rls(app_connection):
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_connection.execute("UPDATE account_balances SET debits = 0")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_connection.execute("DELETE FROM idempotency_records")
    attributes = await app_connection.fetchrow(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert attributes["rolsuper"] is False and attributes["rolbypassrls"] is False


async def test_an_unbalanced_entry_is_refused_at_commit_by_the_deferred_trigger(owner_connection):
    ids = await make_ledger(owner_connection)
    with pytest.raises(asyncpg.CheckViolationError, match="does not balance"):
        async with owner_connection.transaction():
            await insert_entry(owner_connection, ids["fund"], uuid.uuid4(), 2,
                               [(ids["cash"], "debit", 100), (ids["capital"], "credit", 99)])
    with pytest.raises(asyncpg.CheckViolationError, match="at least two"):
        async with owner_connection.transaction():
            await insert_entry(owner_connection, ids["fund"], uuid.uuid4(), 2,
                               [(ids["cash"], "debit", 100)])
    assert await owner_connection.fetchval("SELECT count(*) FROM entries") == 1
    assert await balance_of(owner_connection, ids["cash"]) == (500, 0)


async def test_a_posting_added_later_to_an_old_entry_is_refused(owner_connection):
    ids = await make_ledger(owner_connection)
    with pytest.raises(asyncpg.PostgresError, match="earlier transaction"):
        async with owner_connection.transaction():
            await owner_connection.execute(
                "INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount,"
                " currency, effective_date, sequence) VALUES ($1, $2, 3, $3, 'debit', 7, 'VND',"
                " '2026-03-05', 1)",
                ids["fund"], ids["entry"], ids["cash"],
            )


async def test_balances_move_only_with_postings_and_never_below_zero_on_cash(owner_connection):
    ids = await make_ledger(owner_connection)
    with pytest.raises(asyncpg.CheckViolationError) as raised:
        async with owner_connection.transaction():
            await insert_entry(owner_connection, ids["fund"], uuid.uuid4(), 2,
                               [(ids["capital"], "debit", 501), (ids["cash"], "credit", 501)])
    assert raised.value.constraint_name == "ck_account_balances_non_negative"
    assert await balance_of(owner_connection, ids["cash"]) == (500, 0)
    async with owner_connection.transaction():
        await insert_entry(owner_connection, ids["fund"], uuid.uuid4(), 2,
                           [(ids["capital"], "debit", 500), (ids["cash"], "credit", 500)])
    assert await balance_of(owner_connection, ids["cash"]) == (500, 500)
    sums = await owner_connection.fetch(
        "SELECT b.account_id, b.debits, b.credits,"
        " (SELECT coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0) FROM postings p"
        "   WHERE p.fund_id = b.fund_id AND p.account_id = b.account_id) AS posted_debits,"
        " (SELECT coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0) FROM postings p"
        "   WHERE p.fund_id = b.fund_id AND p.account_id = b.account_id) AS posted_credits"
        " FROM account_balances b"
    )
    for row in sums:
        assert (row["debits"], row["credits"]) == (row["posted_debits"], row["posted_credits"])


async def test_postings_must_use_an_account_of_the_fund_in_its_currency(owner_connection):
    ids = await make_ledger(owner_connection)
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        async with owner_connection.transaction():
            await insert_entry(owner_connection, ids["fund"], uuid.uuid4(), 2,
                               [(ids["cash"], "debit", 1), (uuid.uuid4(), "credit", 1)])


async def see_every_fund(connection: asyncpg.Connection) -> None:
    """The transaction-local setting the service sets for an admin (row-level security)."""
    await connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)")


@pytest.mark.parametrize("role", ["app", "owner"])
async def test_a_balanced_pair_added_later_to_an_old_entry_is_refused(
    role, app_connection, owner_connection
):
    ids = await make_ledger(owner_connection)
    connection = app_connection if role == "app" else owner_connection
    with pytest.raises(asyncpg.PostgresError, match="earlier transaction") as raised:
        async with connection.transaction():
            await see_every_fund(connection)
            for line, account, side in ((3, ids["cash"], "debit"),
                                        (4, ids["capital"], "credit")):
                await connection.execute(
                    "INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount,"
                    " currency, effective_date, sequence) VALUES ($1, $2, $3, $4, $5, 7, 'VND',"
                    " '2026-03-05', 1)",
                    ids["fund"], ids["entry"], line, account, side,
                )
    assert raised.value.sqlstate == "CF002"
    assert await owner_connection.fetchval("SELECT count(*) FROM postings") == 2
    assert await balance_of(owner_connection, ids["cash"]) == (500, 0)


async def test_an_entry_and_its_postings_in_one_transaction_pass_savepoints_included(
    app_connection, owner_connection
):
    ids = await make_ledger(owner_connection)
    lines = [(ids["cash"], "debit", 10), (ids["capital"], "credit", 10)]
    first, second, third = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with app_connection.transaction():
        await see_every_fund(app_connection)
        await insert_entry(app_connection, ids["fund"], first, 2, lines)
        async with app_connection.transaction():  # a savepoint: a subtransaction's xid
            await insert_entry(app_connection, ids["fund"], second, 3, lines)
        # an entry written in a savepoint, its postings after the savepoint was released
        async with app_connection.transaction():
            await app_connection.execute(
                "INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at,"
                " description, currency, metadata, actor, hash) VALUES ($1, $2, 4, $3, $4,"
                " 'x', 'VND', '{}', 't', 'h')",
                ids["fund"], third, date(2026, 3, 5), NOW,
            )
        for line, (account, side, amount) in enumerate(lines, start=1):
            await app_connection.execute(
                "INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount,"
                " currency, effective_date, sequence) VALUES ($1, $2, $3, $4, $5, $6, 'VND',"
                " '2026-03-05', 4)",
                ids["fund"], third, line, account, side, amount,
            )
    assert await owner_connection.fetchval("SELECT count(*) FROM postings") == 8
    assert await balance_of(owner_connection, ids["cash"]) == (530, 0)


async def test_the_service_role_cannot_switch_the_guards_off(app_connection, owner_connection):
    ids = await make_ledger(owner_connection)
    statements = [
        "ALTER TABLE postings DISABLE TRIGGER trg_postings_append_only",
        "ALTER TABLE entries DISABLE TRIGGER ALL",
        "DROP TRIGGER trg_postings_join_their_entry ON postings",
        "CREATE OR REPLACE FUNCTION forbid_journal_change() RETURNS trigger"
        " LANGUAGE plpgsql AS $$ BEGIN RETURN OLD; END $$",
        "SET session_replication_role = replica",
        "ALTER TABLE postings NO FORCE ROW LEVEL SECURITY",
        "DROP TABLE postings",
    ]
    for statement in statements:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_connection.execute(statement)
    async with app_connection.transaction():
        await see_every_fund(app_connection)
        with pytest.raises(asyncpg.PostgresError) as raised:
            await app_connection.execute("DELETE FROM postings")
        assert raised.value.sqlstate in ("42501", "CF001")
    assert await balance_of(owner_connection, ids["cash"]) == (500, 0)
    assert await owner_connection.fetchval("SELECT count(*) FROM postings") == 2
