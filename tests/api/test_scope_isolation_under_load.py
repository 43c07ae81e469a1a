"""2,000 interleaved requests from tokens of different clubs through a pool of 4
connections (so every connection serves many scopes in turn): no response ever
carries a row of a club outside the caller's scope, and foreign ids are not found.
Run once more with the service's own checks switched off: the database alone holds.
An admin (every fund) takes turns on the same connections as everyone else."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from service.app import create_app
from service.database import create_pool
from service.settings import Settings
from tests.api.factories import entry_body
from tests.api.scoped_world import ClubWorld, build_club, switch_off_service_checks

REQUESTS = 2_000
IN_FLIGHT = 24
POOL_SIZE_MAX = 4


@dataclass
class Caller:
    name: str
    token: str
    clubs: list[ClubWorld]  # the clubs in its scope
    writes: bool


def fund_ids_in(document: Any) -> set[str]:
    """Every `fund_id` (and a fund's own `id`) anywhere in a response."""
    found: set[str] = set()
    if isinstance(document, dict):
        if "fund_id" in document:
            found.add(str(document["fund_id"]))
        if "entry_count" in document and "id" in document:  # a fund
            found.add(str(document["id"]))
        for value in document.values():
            found |= fund_ids_in(value)
    elif isinstance(document, list):
        for value in document:
            found |= fund_ids_in(value)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("layers", ["service and database", "database alone"])
async def test_interleaved_requests_of_many_clubs_never_see_each_other(
    database, client, owner_connection, new_token, monkeypatch, layers
):
    clubs = [await build_club(client, owner_connection, f"9{n}", new_token) for n in range(4)]
    # a second club in the first club's province: the province auditor sees both
    sibling = await build_club(client, owner_connection, "95", new_token)
    await owner_connection.execute("UPDATE area_parents SET parent_code = $1 WHERE code = $2",
                                   clubs[0].province, sibling.commune)
    callers = []
    for club in clubs:
        scope = f"club:{club.club_id}"
        callers += [
            Caller(f"treasurer {club.province}", await new_token("treasurer", scope=scope),
                   [club], True),
            Caller(f"chair {club.province}", await new_token("chair", scope=scope), [club], True),
            Caller(f"auditor {club.province}", await new_token("auditor", scope=scope),
                   [club], False),
        ]
    callers.append(Caller("province auditor", await new_token(
        "auditor", scope=f"area:{clubs[0].province}"), [clubs[0], sibling], False))
    callers.append(Caller("integration", await new_token(
        "integration", scope=f"area:{clubs[1].province}", write=True), [clubs[1]], True))
    every_club = [*clubs, sibling]
    callers.append(Caller("admin", await new_token("admin"), every_club, True))
    if layers == "database alone":
        switch_off_service_checks(monkeypatch)

    pool = await create_pool(database.app_url, min_size=1, max_size=POOL_SIZE_MAX)
    app = create_app(Settings(database_url="postgresql://unused"), pool=pool)
    transport = httpx.ASGITransport(app=app)
    rng = random.Random(5)
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(number: int) -> None:
        caller = rng.choice(callers)
        own = rng.choice(caller.clubs)
        others = [c for c in every_club if c not in caller.clubs]
        target = rng.choice((own, rng.choice(others))) if others else own
        inside = target in caller.clubs
        kind = rng.choice(["funds", "fund", "accounts", "account", "entries", "entry", "post"])
        if kind == "post" and not caller.writes:
            kind = "entries"
        method, url, body = "GET", {
            "funds": "/v1/funds",
            "fund": f"/v1/funds/{target.fund_id}",
            "accounts": f"/v1/funds/{target.fund_id}/accounts",
            "account": f"/v1/accounts/{target.cash}",
            "entries": f"/v1/funds/{target.fund_id}/entries?limit=5",
            "entry": f"/v1/entries/{target.entry_id}",
            "post": f"/v1/funds/{target.fund_id}/entries",
        }[kind], None
        if kind == "post":
            method, body = "POST", entry_body(target.cash, target.capital, number + 1)
        async with gate, httpx.AsyncClient(
            transport=transport, base_url="http://clubfund.test",
            headers={"Authorization": f"Bearer {caller.token}"},
        ) as http:
            response = await http.request(method, url, json=body)
        statuses[response.status_code] += 1
        allowed = {c.fund_id for c in caller.clubs}
        where = f"#{number} {caller.name} {method} {url}"
        if kind != "funds" and not inside:
            if response.status_code != 404:
                failures.append(f"{where}: expected 404, got {response.status_code}")
            return
        if response.status_code not in (200, 201):
            failures.append(f"{where}: got {response.status_code} {response.text[:200]}")
            return
        seen = fund_ids_in(response.json())
        if not seen or not seen <= allowed:
            failures.append(f"{where}: saw funds {seen - allowed or 'none'}")
        if kind == "funds" and seen != allowed:
            failures.append(f"{where}: listed {seen}, expected {allowed}")

    try:
        await asyncio.gather(*(one(n) for n in range(REQUESTS)))
        assert pool.get_size() <= POOL_SIZE_MAX
    finally:
        await pool.close()
    assert not failures, f"{len(failures)} of {REQUESTS} requests failed:\n" + "\n".join(
        failures[:30])
    assert sum(statuses.values()) == REQUESTS
    assert statuses[404] > 200 and statuses[200] > 500 and statuses[201] > 50, statuses
