"""A write to a fund takes its lock and reads the accounts' days in one round trip
(`lock_fund_for_write`); the days are read after the lock was granted, so a posting that
waited for the fund's previous writer is judged by the core from what that writer
committed, not from what was there when it started waiting."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from tests.api.factories import create_account, create_fund, entry_body

LOCK_WAIT_POLLS_MAX = 3_000


async def wait_for_a_lock_wait(observer: asyncpg.Connection) -> None:
    """Until some session of this database waits for a lock."""
    for _ in range(LOCK_WAIT_POLLS_MAX):
        waiting = await observer.fetchval(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND wait_event_type = 'Lock'")
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no session ever waited for the fund's lock")


async def test_a_posting_that_waited_for_the_fund_is_judged_on_what_was_committed_meanwhile(
    client, database, superuser_connection
):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset", allow_negative=False)
    capital = await create_account(client, fund["id"], "4111", "equity")
    entries = f"/v1/funds/{fund['id']}/entries"
    paid_in = await client.post(entries, json=entry_body(cash["id"], capital["id"], 100_000))
    assert paid_in.status_code == 201, paid_in.text

    writer = await asyncpg.connect(database.superuser_url)
    try:
        transaction = writer.transaction()
        await transaction.start()
        # The fund's previous writer holds its lock and takes 60,000 out of the cash on
        # the day of the next posting.
        await writer.execute("SELECT 1 FROM funds WHERE id = $1 FOR NO KEY UPDATE",
                             uuid.UUID(fund["id"]))
        moved = await writer.execute(
            "UPDATE daily_balances SET credits = credits + 60000"
            " WHERE fund_id = $1 AND account_id = $2 AND effective_date = '2026-03-05'",
            uuid.UUID(fund["id"]), uuid.UUID(cash["id"]))
        assert moved == "UPDATE 1"
        waiting = asyncio.create_task(
            client.post(entries, json=entry_body(capital["id"], cash["id"], 60_000)))
        await wait_for_a_lock_wait(superuser_connection)
        assert not waiting.done()
        await transaction.commit()
        response = await waiting
    finally:
        await writer.close()
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "insufficient_funds"
    count = await superuser_connection.fetchval(
        "SELECT entry_count FROM funds WHERE id = $1", uuid.UUID(fund["id"]))
    assert count == 1  # nothing written


async def test_statements_after_the_fund_lock_use_generic_plans_until_the_transaction_ends(
    client, database
):
    # The journal's write statement takes its rows as arrays: left to choose, the
    # planner plans it afresh for every posting (see the generic_write_plans migration).
    fund = await create_fund(client)
    connection = await asyncpg.connect(database.superuser_url)
    try:
        assert await connection.fetchval("SHOW plan_cache_mode") == "auto"
        async with connection.transaction():
            rows = await connection.fetch("SELECT * FROM lock_fund_for_write($1, $2, $3, $4)",
                                          uuid.UUID(fund["id"]), [], None, False)
            assert len(rows) == 1
            assert await connection.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
        # Reads and reports, outside a fund's write, keep the planner's choice.
        assert await connection.fetchval("SHOW plan_cache_mode") == "auto"
        async with connection.transaction():
            unknown = await connection.fetch("SELECT * FROM lock_fund_for_write($1, $2, $3, $4)",
                                             uuid.uuid4(), [], None, False)
            assert unknown == []
            assert await connection.fetchval("SHOW plan_cache_mode") == "auto"
    finally:
        await connection.close()
