"""Bearer tokens: issued by an admin, shown once, stored as a hash, expiring and
revocable; every write names its token; tokens never reach the logs."""

from __future__ import annotations

import logging

import pytest

from service.auth.service import hash_token
from tests.api.factories import create_person, entry_body
from tests.api.scoped_world import build_world

PROBLEM = "application/problem+json"


async def test_without_a_usable_token_every_protected_route_answers_401(
    anonymous, client_for, new_token, superuser_connection
):
    response = await anonymous.get("/v1/tokens")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="clubfund"'
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "unauthenticated"
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Bearer " + "x" * 300, "cf_token"):
        response = await anonymous.get("/v1/funds", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["www-authenticate"].startswith("Bearer")
    expired, revoked = await new_token("admin"), await new_token("admin")
    await superuser_connection.execute(
        "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE hash = $1",
        hash_token(expired),
    )
    await superuser_connection.execute(
        "UPDATE tokens SET revoked_at = now() WHERE hash = $1", hash_token(revoked)
    )
    for token in (expired, revoked, "cf_never-issued"):
        response = await client_for(token).get("/v1/funds")
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == (
            'Bearer realm="clubfund", error="invalid_token"')
    assert (await anonymous.get("/healthz")).status_code == 200
    assert (await anonymous.get("/readyz")).status_code == 200


async def test_an_admin_issues_a_token_that_works_at_once_and_is_shown_once(
    client, client_for, owner_connection, new_token, superuser_connection
):
    world = await build_world(client, owner_connection, new_token)
    person = await create_person(client, "treasurer", f"club:{world.a.club_id}")
    response = await client.post("/v1/tokens", json={
        "person_id": person["id"], "label": "thủ quỹ A", "expires_days": 30,
    })
    assert response.status_code == 201, response.text
    created = response.json()
    secret = created["token"]
    assert secret.startswith("cf_") and len(secret) >= 40
    assert created["id"].startswith("tok_") and created["scope"] == f"club:{world.a.club_id}"
    assert created["person_id"] == person["id"] and created["role"] == "treasurer"
    assert created["write"] is False and created["expires_at"] and created["revoked_at"] is None

    treasurer = client_for(secret)
    funds = (await treasurer.get("/v1/funds")).json()["items"]
    assert [f["id"] for f in funds] == [world.a.fund_id]

    listed = (await client.get("/v1/tokens", params={"limit": 500})).json()["items"]
    mine = [t for t in listed if t["id"] == created["id"]]
    assert mine and "token" not in mine[0] and "hash" not in mine[0]
    assert secret not in str(listed)
    stored = await superuser_connection.fetchrow(
        "SELECT hash FROM tokens WHERE id = $1", created["id"]
    )
    assert stored["hash"] == hash_token(secret)
    dump = await superuser_connection.fetchval(
        "SELECT string_agg(t::text, ' ') FROM (SELECT * FROM tokens) t"
    )
    assert secret not in dump


async def test_a_replayed_creation_does_not_show_the_secret_again(client, superuser_connection):
    body = {"person_id": (await create_person(client, "admin"))["id"], "label": "ops"}
    first = await client.post("/v1/tokens", json=body, headers={"Idempotency-Key": "t-1"})
    again = await client.post("/v1/tokens", json=body, headers={"Idempotency-Key": "t-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["token"] and again.json()["token"] is None
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    stored = await superuser_connection.fetch("SELECT response_body FROM idempotency_records")
    assert all(first.json()["token"].encode() not in r["response_body"] for r in stored)


async def test_revocation_takes_effect_on_the_next_request(client, client_for):
    admin = {"person_id": (await create_person(client, "admin"))["id"]}
    issued = (await client.post("/v1/tokens", json=admin)).json()
    http = client_for(issued["token"])
    assert (await http.get("/v1/funds")).status_code == 200
    response = await client.post(f"/v1/tokens/{issued['id']}/revocation")
    assert response.status_code == 200, response.text
    revoked = response.json()
    assert revoked["revoked_at"] and revoked["revoked_by"].startswith("person:")
    assert (await http.get("/v1/funds")).status_code == 401
    again = await client.post(f"/v1/tokens/{issued['id']}/revocation")
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked["revoked_at"]
    # a token may revoke itself
    own = (await client.post("/v1/tokens", json=admin)).json()
    self_revoked = await client_for(own["token"]).post(f"/v1/tokens/{own['id']}/revocation")
    assert self_revoked.status_code == 200
    assert (await client_for(own["token"]).get("/v1/funds")).status_code == 401
    missing = await client.post("/v1/tokens/tok_0000000000000000/revocation")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


@pytest.mark.parametrize("body, detail", [
    ({"role": "admin", "scope": "area:11"}, "no scope"),
    ({"role": "auditor"}, "needs a scope"),
    ({"role": "treasurer", "scope": "area:11"}, "one club"),
    ({"role": "chair"}, "club:<club_id>"),
    ({"role": "integration", "scope": "club:not-a-uuid"}, "not a club id"),
    ({"role": "auditor", "scope": "club:00000000-0000-0000-0000-000000000001"}, "does not exist"),
    ({"role": "auditor", "scope": "area:nowhere"}, "does not exist"),
])
async def test_roles_and_scopes_must_fit(
    client, owner_connection, new_token, superuser_connection, body, detail
):
    await build_world(client, owner_connection, new_token)
    people = await superuser_connection.fetchval("SELECT count(*) FROM people")
    response = await client.post("/v1/people", json={"name": "Bà B", **body})
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_scope" and detail in response.json()["detail"]
    assert await superuser_connection.fetchval("SELECT count(*) FROM people") == people


async def test_write_only_matters_for_integrations(client, owner_connection, new_token):
    world = await build_world(client, owner_connection, new_token)
    scope = f"club:{world.a.club_id}"
    treasurer = await client.post("/v1/tokens", json={
        "person_id": (await create_person(client, "treasurer", scope))["id"], "write": True})
    integration = await client.post("/v1/tokens", json={
        "person_id": (await create_person(client, "integration", scope))["id"], "write": True})
    assert treasurer.json()["write"] is False and integration.json()["write"] is True
    admin = (await create_person(client, "admin"))["id"]
    never = await client.post("/v1/tokens", json={"person_id": admin, "expires_days": None})
    assert never.json()["expires_at"] is None
    bad = await client.post("/v1/tokens", json={"person_id": admin, "expires_days": 0})
    assert bad.status_code == 422 and bad.json()["code"] == "validation_error"


async def test_every_write_names_its_person_whichever_token_she_used(
    client, client_for, owner_connection, new_token, superuser_connection
):
    world = await build_world(client, owner_connection, new_token)
    person = await create_person(client, "chair", f"club:{world.a.club_id}")
    issued = await client.post("/v1/tokens", json={"person_id": person["id"]})
    chair = client_for(issued.json()["token"])
    response = await chair.post(f"/v1/funds/{world.a.fund_id}/entries",
                                json=entry_body(world.a.cash, world.a.capital, 10_000))
    assert response.status_code == 201, response.text
    actor = f"person:{person['id']}"
    assert person["actor"] == actor
    assert response.json()["actor"] == actor
    assert await superuser_connection.fetchval(
        "SELECT actor FROM entries WHERE id = $1", response.json()["id"]
    ) == actor
    reversal = await chair.post(f"/v1/entries/{response.json()['id']}/reversal",
                                json={"reason": "nhầm"})
    assert reversal.status_code == 202, reversal.text
    assert reversal.json()["requested_by"] == actor
    # her second token is still her
    second = await client.post("/v1/tokens", json={"person_id": person["id"]})
    assert second.json()["id"] != issued.json()["id"]
    again = await client_for(second.json()["token"]).post(
        f"/v1/funds/{world.a.fund_id}/entries",
        json=entry_body(world.a.cash, world.a.capital, 20_000))
    assert again.status_code == 201 and again.json()["actor"] == actor
    records = (await client.get(f"/v1/funds/{world.a.fund_id}/audit",
                                params={"limit": 500})).json()["items"]
    for entry in (response.json(), again.json()):
        stamped = [r["record"] for r in records if r["sequence"] == entry["audit"]["sequence"]]
        assert stamped and stamped[0]["actor"] == actor
        assert stamped[0]["data"]["id"] == entry["id"]
    requested = [r["record"] for r in records if r["record"]["action"].startswith("correction")]
    assert requested and requested[-1]["actor"] == actor


async def test_tokens_never_reach_the_logs_and_refusals_do(
    client, client_for, owner_connection, new_token, caplog
):
    world = await build_world(client, owner_connection, new_token)
    caplog.set_level(logging.DEBUG)
    auditor = client_for(world.tokens["auditor"])
    refused = await auditor.post(f"/v1/funds/{world.a.fund_id}/entries",
                                 json=entry_body(world.a.cash, world.a.capital, 1))
    assert refused.status_code == 403
    assert (await client_for("cf_wrong").get("/v1/funds")).status_code == 401
    assert (await client_for(None).get("/v1/funds")).status_code == 401
    issued = await client.post("/v1/tokens",
                               json={"person_id": (await create_person(client, "admin"))["id"]})
    assert (await client_for(issued.json()["token"]).get("/v1/tokens")).status_code == 200
    text = "\n".join(r.getMessage() for r in caplog.records)
    for token in (*world.tokens.values(), issued.json()["token"], "cf_wrong"):
        assert token not in text
    refusals = [r.getMessage() for r in caplog.records if r.name == "clubfund.auth"]
    assert any("authorisation refused" in m and "reason=auditor" in m
               and "POST /v1/funds/{fund_id}/entries" in m for m in refusals), refusals
    assert any("authentication failed" in m and "presented:" + hash_token("cf_wrong")[:12] in m
               and "unknown_token" in m and "GET /v1/funds" in m for m in refusals), refusals
    assert any("actor=anonymous" in m and "no bearer token" in m for m in refusals), refusals


async def test_the_last_usable_admin_token_is_not_revoked(
    anonymous, client, client_for, superuser_connection
):
    anonymous_refused = await anonymous.post("/v1/tokens/tok_0000000000000000/revocation")
    assert anonymous_refused.status_code == 401
    (only,) = (await client.get("/v1/tokens")).json()["items"]

    async def written() -> tuple[object, ...]:
        return (
            tuple(await superuser_connection.fetch(
                "SELECT id, revoked_at, revoked_by FROM tokens ORDER BY id")),
            await superuser_connection.fetchval("SELECT count(*) FROM audit_records"),
        )

    before = await written()
    refused = await client.post(f"/v1/tokens/{only['id']}/revocation")
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"] == PROBLEM
    assert refused.json()["code"] == "last_admin_token"
    assert await written() == before
    assert (await client.get("/v1/funds")).status_code == 200
    # another admin token that has expired does not count; a working one does
    admin_person = {"person_id": (await create_person(client, "admin"))["id"]}
    expired = (await client.post("/v1/tokens", json=admin_person)).json()
    await superuser_connection.execute(
        "UPDATE tokens SET expires_at = now() - interval '1 second' WHERE id = $1",
        expired["id"],
    )
    again = await client.post(f"/v1/tokens/{only['id']}/revocation")
    assert again.status_code == 409 and again.json()["code"] == "last_admin_token"
    second = (await client.post("/v1/tokens", json=admin_person)).json()
    assert (await client.post(f"/v1/tokens/{only['id']}/revocation")).status_code == 200
    successor = client_for(second["token"])
    last = await successor.post(f"/v1/tokens/{second['id']}/revocation")
    assert last.status_code == 409 and last.json()["code"] == "last_admin_token"
    # revoking an already revoked admin token is not blocked by the rule
    assert (await successor.post(f"/v1/tokens/{only['id']}/revocation")).status_code == 200
