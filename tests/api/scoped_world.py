"""Two clubs in two provinces, each with a fund, a chart and an entry, and a token of
every kind scoped to club A (or A's province): the world the access tests walk."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from service.auth.rules import (
    ADMIN,
    AUDITOR,
    CHAIR,
    INTEGRATION_READ,
    INTEGRATION_WRITE,
    TREASURER,
)
from tests.api.factories import create_account, create_area, create_club, entry_body

_codes = itertools.count(1)


@dataclass
class ClubWorld:
    province: str
    commune: str
    club_id: str
    fund_id: str
    cash: str = ""
    capital: str = ""
    entry_id: str = ""
    extra_ids: set[str] = field(default_factory=set)

    def ids(self) -> set[str]:
        """Every identifier of this club's data: none may show up outside its scope."""
        return {self.club_id, self.fund_id, self.cash, self.capital, self.entry_id,
                *self.extra_ids}


@dataclass
class World:
    admin: httpx.AsyncClient
    a: ClubWorld
    b: ClubWorld
    tokens: dict[str, str]  # access kind -> token scoped to club A (or A's province)
    spare_token_id: str

    async def post_entry(self, club: ClubWorld, amount: int = 1_000) -> str:
        response = await self.admin.post(f"/v1/funds/{club.fund_id}/entries",
                                         json=entry_body(club.cash, club.capital, amount))
        assert response.status_code == 201, response.text
        entry_id: str = response.json()["id"]
        club.extra_ids.add(entry_id)
        return entry_id


async def build_club(admin: httpx.AsyncClient, owner: Any, province: str) -> ClubWorld:
    await create_area(owner, province, "province")
    commune = await create_area(owner, f"{province}001", "commune", parent_code=province)
    club = await create_club(owner, commune, name=f"CLB {province}")
    world = ClubWorld(province=province, commune=commune, **club)
    world.cash = (await create_account(admin, world.fund_id, "111", "asset",
                                       allow_negative=False))["id"]
    world.capital = (await create_account(admin, world.fund_id, "4111", "equity"))["id"]
    response = await admin.post(f"/v1/funds/{world.fund_id}/entries",
                                json=entry_body(world.cash, world.capital, 5_000_000))
    assert response.status_code == 201, response.text
    world.entry_id = response.json()["id"]
    head = await admin.get(f"/v1/funds/{world.fund_id}/audit/head")  # a saved signed head
    assert head.status_code == 200, head.text
    return world


async def build_world(admin: httpx.AsyncClient, owner: Any, new_token: Any) -> World:
    number = next(_codes)
    a = await build_club(admin, owner, f"{number}1")
    b = await build_club(admin, owner, f"{number}2")
    club_a, area_a = f"club:{a.club_id}", f"area:{a.province}"
    tokens = {
        ADMIN: await new_token("admin"),
        AUDITOR: await new_token("auditor", scope=area_a),
        TREASURER: await new_token("treasurer", scope=club_a),
        CHAIR: await new_token("chair", scope=club_a),
        INTEGRATION_READ: await new_token("integration", scope=area_a),
        INTEGRATION_WRITE: await new_token("integration", scope=club_a, write=True),
    }
    spare = await admin.post("/v1/tokens", json={"role": "auditor", "scope": club_a})
    assert spare.status_code == 201, spare.text
    return World(admin=admin, a=a, b=b, tokens=tokens, spare_token_id=spare.json()["id"])


async def switch_off_row_level_security(owner: Any) -> None:
    """Leave only the service's own scope checks (each layer must hold alone)."""
    tables = await owner.fetch(
        "SELECT c.oid::regclass::text AS name FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relrowsecurity"
    )
    assert tables
    for table in tables:
        await owner.execute(
            f"ALTER TABLE {table['name']} NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY"
        )


def switch_off_service_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave only the database's row-level security (each layer must hold alone)."""
    from service.auth.principal import Principal
    from service.context import RequestContext

    monkeypatch.setattr(Principal, "sees_fund", lambda self, fund_id: True)
    monkeypatch.setattr(RequestContext, "fund_scope", property(lambda self: None))
