"""A scoped token learns nothing about areas outside its scope: every route that takes an
area answers for a foreign area exactly as for one that does not exist."""

from __future__ import annotations

import pytest

from service.auth.rules import ADMIN
from tests.api.scoped_world import build_world

AREA_ROUTES = (
    "/v1/reports/portfolio?area={code}",
    "/v1/reports/portfolio?area={code}&as_of=2026-02-28&format=csv",
    "/v1/clubs?area={code}",
    "/v1/areas/{code}",
)
UNKNOWN = "987654"


def shape(text: str, code: str) -> str:
    return text.replace(code, "<area>")


@pytest.mark.parametrize("route", AREA_ROUTES)
async def test_a_foreign_area_answers_like_an_unknown_one(
    route, anonymous, client, client_for, owner_connection, new_token
):
    assert (await anonymous.get(route.format(code=UNKNOWN))).status_code == 401
    world = await build_world(client, owner_connection, new_token)
    for access, token in world.tokens.items():
        if access == ADMIN:
            continue
        http = client_for(token)
        unknown = await http.get(route.format(code=UNKNOWN))
        assert unknown.status_code in (404, 422), (access, unknown.text)
        for foreign in (world.b.province, world.b.commune):
            answer = await http.get(route.format(code=foreign))
            assert answer.status_code == unknown.status_code, (access, foreign, answer.text)
            assert answer.headers["content-type"] == unknown.headers["content-type"]
            assert shape(answer.text, foreign) == shape(unknown.text, UNKNOWN), access
        # the caller's own province still answers
        own = await http.get(route.format(code=world.a.province))
        assert own.status_code == 200, (access, own.text)
    # an admin sees every area
    assert (await client.get(route.format(code=world.b.province))).status_code == 200
