"""The change feed: a consumer polling `GET /v1/events` while 20 writers post concurrently
sees every committed event exactly once, in order (cursors only grow, and each fund's
records arrive in sequence order).

Some extra writers hold their transaction open for a while after taking their
transaction id and before appending, then commit late: with a feed ordered by
an insertion counter, the consumer would already be past their position and
skip them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import random
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest

from ledger.audit_records import record_parts
from service.pagination import decode_cursor, sequence_key, uuid_key
from tests.api.factories import create_account, create_fund, entry_body
from tests.api.scoped_world import build_world

WRITERS = 20
ENTRIES_PER_WRITER = 15
SLOW_WRITERS = 4


def cursor_key(cursor: str) -> tuple:
    key = decode_cursor(cursor, sequence_key, uuid_key, sequence_key)
    assert key is not None
    return key


async def test_the_feed_needs_a_token_and_starts_empty(anonymous, client):
    response = await anonymous.get("/v1/events")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"
    response = await client.get("/v1/events")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


async def test_a_scoped_token_reads_only_its_funds_events(client, owner_connection, new_token,
                                                          client_for):
    world = await build_world(client, owner_connection, new_token)
    for kind in ("auditor", "integration_read"):
        reader = client_for(world.tokens[kind])
        items = (await reader.get("/v1/events", params={"limit": 500})).json()["items"]
        assert items and {i["fund_id"] for i in items} == {world.a.fund_id}
    everything = (await client.get("/v1/events", params={"limit": 500})).json()["items"]
    assert {world.a.fund_id, world.b.fund_id} <= {i["fund_id"] for i in everything}


async def test_a_bad_cursor_is_refused(client):
    for cursor in ("nonsense", base64.urlsafe_b64encode(b'[1,"x",2]').decode(),
                   base64.urlsafe_b64encode(b"[1]").decode()):
        response = await client.get("/v1/events", params={"cursor": cursor})
        assert response.status_code == 400, response.text
        assert response.json()["code"] == "invalid_cursor"


@pytest.mark.slow
async def test_the_feed_sees_every_event_once_and_in_order_under_concurrent_writes(
    client, client_for, new_token, database, superuser_connection
):
    funds = [await create_fund(client, name=f"Quỹ {n}") for n in range(4)]
    accounts = {}
    for fund in funds:
        cash = await create_account(client, fund["id"], "111", "asset")
        capital = await create_account(client, fund["id"], "4111", "equity")
        accounts[fund["id"]] = (cash["id"], capital["id"])
    writers_done = asyncio.Event()
    seen: list[dict] = []
    cursors: list[tuple] = []

    async def writer(number: int) -> None:
        http = client_for(await new_token("admin"))
        rng = random.Random(number)
        for n in range(ENTRIES_PER_WRITER):
            fund_id = rng.choice(funds)["id"]
            cash, capital = accounts[fund_id]
            response = await http.post(f"/v1/funds/{fund_id}/entries",
                                       json=entry_body(cash, capital, 1 + n,
                                                       description=f"w{number} e{n}"))
            assert response.status_code == 201, response.text

    async def slow_writer(number: int) -> None:
        connection = await asyncpg.connect(database.app_url)
        rng = random.Random(1000 + number)
        try:
            for n in range(5):
                fund_id = uuid.UUID(rng.choice(funds)["id"])
                async with connection.transaction():
                    await connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)")
                    await connection.fetchval("SELECT pg_current_xact_id()")  # an early id
                    await asyncio.sleep(rng.uniform(0.05, 0.3))
                    head, tail = record_parts({
                        "fund_id": str(fund_id), "recorded_at": datetime.now(UTC).isoformat(),
                        "actor": "slow", "action": "test.slow", "request_id": f"s{number}-{n}",
                        "data": {"n": n}})
                    await connection.fetch(
                        "SELECT * FROM append_audit_record($1, $2, NULL, $3, $4)",
                        fund_id, "test.slow", head, tail)
                    await asyncio.sleep(rng.uniform(0.0, 0.2))  # commit late
        finally:
            await connection.close()

    async def consumer() -> None:
        http = client_for(await new_token("admin"))
        after = None
        idle_after_done = 0
        while idle_after_done < 2:
            finished = writers_done.is_set()
            params = {"limit": 7, **({"cursor": after} if after else {})}
            page = (await http.get("/v1/events", params=params)).json()
            for item in page["items"]:
                seen.append(item)
                cursors.append(cursor_key(item["cursor"]))
            if page["items"]:
                assert page["next_cursor"] == page["items"][-1]["cursor"]
            after = page["next_cursor"] or after
            if finished and not page["items"]:
                idle_after_done += 1
            await asyncio.sleep(0.005)

    reading = asyncio.create_task(consumer())
    await asyncio.gather(*(writer(n) for n in range(WRITERS)),
                         *(slow_writer(n) for n in range(SLOW_WRITERS)))
    writers_done.set()
    await reading

    committed = await superuser_connection.fetch(
        "SELECT fund_id, sequence, leaf_hash FROM audit_records ORDER BY fund_id, sequence")
    expected = {(str(r["fund_id"]), r["sequence"]): bytes(r["leaf_hash"]).hex()
                for r in committed}
    got = [(item["fund_id"], item["sequence"]) for item in seen]
    assert len(expected) == 4 * 3 + WRITERS * ENTRIES_PER_WRITER + SLOW_WRITERS * 5
    assert len(got) == len(set(got)), "an event was repeated"
    assert set(got) == set(expected), "an event was skipped"
    assert all(expected[(i["fund_id"], i["sequence"])] == i["leaf_hash"] for i in seen)
    assert cursors == sorted(cursors) and len(set(cursors)) == len(cursors)
    last: dict[str, int] = {}
    for fund_id, sequence in got:
        assert sequence == last.get(fund_id, 0) + 1, "a fund's events arrived out of order"
        last[fund_id] = sequence
    assert all(json.dumps(i["record"]) for i in seen)
