"""Every route × every kind of token, inside and outside its scope.

The rule table (service/auth/rules.py) must name exactly the app's routes; each
route is then called anonymously, with a bad token, and with a token of every
kind on club A's resources (its scope) and on club B's (outside it):

| caller                          | expected                                     |
|---------------------------------|----------------------------------------------|
| anonymous / unknown token       | 401 with `WWW-Authenticate: Bearer`          |
| kind not allowed by the rule    | 403 `forbidden`, inside or outside the scope |
| allowed, inside its scope       | 2xx                                          |
| allowed, outside its scope      | 404 `not_found` (as for something that does not exist) |

and no response to a scoped token ever names one of club B's ids.

A new route needs a line in RULES; if it takes a new kind of path parameter,
a resolver in PATH_PARAMETERS; if it is a write with a body, a sample in SAMPLES.
"""

from __future__ import annotations

import itertools
import re
import urllib.parse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from service.auth.rules import (
    ACCESS_KINDS,
    ADMIN,
    AUDITOR,
    AUDITOR_WRITES,
    DECIDE_CORRECTION,
    INTEGRATION_READ,
    RULES,
    WRITE_METHODS,
)
from service.auth.service import route_templates
from service.transactions import NO_TRANSACTION_PATHS
from tests.api.factories import entry_body
from tests.api.scoped_world import (
    ClubWorld,
    World,
    build_world,
    switch_off_row_level_security,
    switch_off_service_checks,
)

PARAMETER = re.compile(r"{([a-z_]+)(?::[a-z]+)?}")
_numbers = itertools.count(1)
_later_years = itertools.count(2030)


@dataclass
class Sample:
    """A request that succeeds when made inside the caller's scope."""

    params: dict[str, str] = field(default_factory=dict)  # overrides PATH_PARAMETERS
    body: Any = None
    query: str = ""  # appended to the URL, e.g. "?sequence=1"


# Path parameters naming a club's resources: resolved in club A (inside) or B (outside).
PATH_PARAMETERS: dict[str, Callable[[ClubWorld], str]] = {
    "fund_id": lambda club: club.fund_id,
    "account_id": lambda club: club.cash,
    "entry_id": lambda club: club.entry_id,
    "club_id": lambda club: club.club_id,
    "code": lambda club: club.commune,
    "loan_id": lambda club: club.loan_id,
    "member_id": lambda club: club.member_id,
    "person_id": lambda club: club.person_id,
    "correction_id": lambda club: club.correction_id,
}
# Path parameters naming service-wide things (admin-only routes): no "outside".
UNSCOPED_PARAMETERS: dict[str, Callable[[World], str]] = {
    "token_id": lambda world: world.spare_token_id,
    "asset_name": lambda world: "swagger-ui.css",  # a file of the documentation page
}


async def fund_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"name": f"Quỹ {next(_numbers)}", "currency": "VND"})


async def account_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"code": f"642{next(_numbers)}", "name": "Chi phí", "type": "expense"})


async def entry_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body=entry_body(club.cash, club.capital, 1_000))


async def reversal_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(params={"entry_id": await world.post_entry(club)}, body={"reason": "x"})


async def reopen_sample(world: World, club: ClubWorld) -> Sample:
    correction = await world.reopen_correction(club)  # the latest closed month, pending
    rejected = await world.admin.post(f"/v1/corrections/{correction}/rejection")
    assert rejected.status_code == 200, rejected.text
    closed = await world.admin.get(f"/v1/funds/{club.fund_id}/periods", params={"limit": 500})
    return Sample(params={"period": closed.json()["items"][-1]["period"]},
                  body={"reason": "x"})


async def decision_sample(world: World, club: ClubWorld, kind: str | None) -> Sample:
    """A pending correction the caller may decide: an auditor decides reopenings, a
    chair or an admin reversals (the default: what an auditor may not decide)."""
    if kind == AUDITOR:
        correction = await world.reopen_correction(club)
    else:
        correction = await world.reversal_correction(club)
    return Sample(params={"correction_id": correction})


async def token_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"person_id": club.person_id})


async def person_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"name": f"Người {next(_numbers)}", "role": "auditor",
                        "scope": f"club:{club.club_id}"})


async def empty_sample(world: World, club: ClubWorld) -> Sample:
    return Sample()


async def inclusion_proof_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(query="?sequence=1")


async def consistency_proof_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(query="?first=1")


async def target_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"year": 2026, "new_clubs": 2, "members": 60,
                        "plan_reference": "70/KH-UBND"})


async def programme_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(query=f"?area={club.commune}&year=2025")


async def checkpoint_verification_sample(world: World, club: ClubWorld) -> Sample:
    note = (await world.admin.get(f"/v1/funds/{club.fund_id}/audit/checkpoint")).text
    return Sample(query="?checkpoint=" + urllib.parse.quote(note))


def later_date() -> str:
    """A date after every earlier sample's: histories are appended in date order."""
    return f"{next(_later_years)}-01-01"


async def area_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"code": f"N{next(_numbers)}", "name": "Tỉnh mới", "level": "province",
                        "valid_from": "2020-01-01"})


async def reparent_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"parent_code": club.province, "valid_from": later_date()})


async def dissolution_sample(world: World, club: ClubWorld) -> Sample:
    area = (await area_sample(world, club)).body
    created = await world.admin.post("/v1/areas", json=area)
    assert created.status_code == 201, created.text
    return Sample(params={"code": area["code"]}, body={"valid_to": "2031-01-01"})


async def club_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"name": f"CLB {next(_numbers)}", "area_code": club.commune})


async def club_move_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"area_code": club.commune, "valid_from": later_date()})


async def member_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"name": "Ông B", "gender": "male", "birth_year": 1948})


async def member_update_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"name": f"Bà C {next(_numbers)}"})


async def cash_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"amount": 1_000, "source": "donor"})


async def cash_sample_without_source(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"amount": 1_000})


async def batch_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"mode": "atomic", "items": [
        {"key": f"batch-item-{next(_numbers)}", "op": "contribution", "body": {"amount": 1_000}},
    ]})


async def loan_sample(world: World, club: ClubWorld) -> Sample:
    return Sample(body={"member_id": club.member_id, "principal": 100_000, "installments": 2,
                        "rate_per_period": "0.01", "first_due_date": "2026-03-05",
                        "applied_on": "2026-02-01"})


def loan_step_sample(until: str, body: Any) -> Callable[[World, ClubWorld], Awaitable[Sample]]:
    async def sample(world: World, club: ClubWorld) -> Sample:
        return Sample(params={"loan_id": await world.loan(club, until)}, body=body)

    return sample


async def period_close_sample(world: World, club: ClubWorld) -> Sample:
    closed = await world.admin.get(f"/v1/funds/{club.fund_id}/periods", params={"limit": 500})
    last = closed.json()["items"][-1]["period"]
    year, month = divmod(int(last[:4]) * 12 + int(last[5:]), 12)  # the month after `last`
    return Sample(params={"period": f"{year:04d}-{month + 1:02d}"})


SAMPLES: dict[tuple[str, str], Callable[[World, ClubWorld], Awaitable[Sample]]] = {
    ("POST", "/v1/funds"): fund_sample,
    ("POST", "/v1/funds/{fund_id}/accounts"): account_sample,
    ("POST", "/v1/funds/{fund_id}/entries"): entry_sample,
    ("POST", "/v1/entries/{entry_id}/reversal"): reversal_sample,
    ("POST", "/v1/tokens"): token_sample,
    ("POST", "/v1/people"): person_sample,
    ("POST", "/v1/people/{person_id}/setup-code"): empty_sample,
    ("POST", "/v1/tokens/{token_id}/revocation"): empty_sample,
    ("GET", "/v1/funds/{fund_id}/audit/proof"): inclusion_proof_sample,
    ("GET", "/v1/funds/{fund_id}/audit/consistency"): consistency_proof_sample,
    ("GET", "/v1/funds/{fund_id}/audit/checkpoint/verification"): checkpoint_verification_sample,
    ("POST", "/v1/areas"): area_sample,
    ("POST", "/v1/areas/{code}/parents"): reparent_sample,
    ("POST", "/v1/areas/{code}/dissolution"): dissolution_sample,
    ("POST", "/v1/areas/{code}/targets"): target_sample,
    ("GET", "/v1/reports/programme"): programme_sample,
    ("POST", "/v1/clubs"): club_sample,
    ("POST", "/v1/clubs/{club_id}/area"): club_move_sample,
    ("POST", "/v1/clubs/{club_id}/members"): member_sample,
    ("PATCH", "/v1/clubs/{club_id}/members/{member_id}"): member_update_sample,
    ("POST", "/v1/funds/{fund_id}/seed-grants"): cash_sample,
    ("POST", "/v1/funds/{fund_id}/donations"): cash_sample_without_source,
    ("POST", "/v1/funds/{fund_id}/contributions"): cash_sample_without_source,
    ("POST", "/v1/funds/{fund_id}/expenses"): cash_sample_without_source,
    ("POST", "/v1/funds/{fund_id}/batches"): batch_sample,
    ("POST", "/v1/funds/{fund_id}/loans"): loan_sample,
    ("POST", "/v1/loans/{loan_id}/approval"): loan_step_sample(
        "applied", {"effective_date": "2026-02-01"}),
    ("POST", "/v1/loans/{loan_id}/disbursement"): loan_step_sample(
        "approved", {"effective_date": "2026-02-05"}),
    ("POST", "/v1/loans/{loan_id}/reschedule"): loan_step_sample(
        "approved", {"installments": 6, "effective_date": "2026-02-05"}),
    ("POST", "/v1/loans/{loan_id}/repayments"): loan_step_sample(
        "disbursed", {"amount": 1_000, "effective_date": "2026-03-05"}),
    ("POST", "/v1/loans/{loan_id}/write-off"): loan_step_sample("disbursed", {"reason": "x"}),
    ("POST", "/v1/loans/{loan_id}/write-off/approval"): loan_step_sample(
        "write_off_requested", {}),
    ("POST", "/v1/loans/{loan_id}/recoveries"): loan_step_sample(
        "written_off", {"amount": 1_000}),
    ("POST", "/v1/loans/{loan_id}/waivers"): loan_step_sample(
        "disbursed", {"part": "interest", "amount": 1_000, "reason": "x",
                      "effective_date": "2026-03-05"}),
    ("POST", "/v1/funds/{fund_id}/periods/{period}/close"): period_close_sample,
    ("POST", "/v1/funds/{fund_id}/periods/{period}/reopen"): reopen_sample,
    ("POST", "/v1/corrections/{correction_id}/approval"): lambda world, club: decision_sample(
        world, club, None),
    ("POST", "/v1/corrections/{correction_id}/rejection"): lambda world, club: decision_sample(
        world, club, None),
}
# Routes whose sample depends on who calls (the decision on a correction).
CALLER_SAMPLES: dict[tuple[str, str], Callable[[World, ClubWorld, str], Awaitable[Sample]]] = {
    ("POST", "/v1/corrections/{correction_id}/approval"): decision_sample,
    ("POST", "/v1/corrections/{correction_id}/rejection"): decision_sample,
}


def app_routes(app: Any) -> set[tuple[str, str]]:
    return {(t.method, t.path) for t in route_templates(app)}


def bearer_routes(app: Any) -> set[tuple[str, str]]:
    """The routes callers reach with tokens: all but the web pages (which authenticate by
    the session cookie and decide by the person's role; tests/pages checks them)."""
    return {route for route in app_routes(app) if not RULES[route].page}


def test_the_rule_table_covers_exactly_the_apps_routes(app):
    routes = app_routes(app)
    assert routes - set(RULES) == set(), "routes without an authorisation rule"
    assert set(RULES) - routes == set(), "rules for routes the app does not serve"
    openapi_routes = {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
                      for method in operations}
    assert openapi_routes <= routes


def test_reads_and_writes_follow_the_roles():
    for (method, path), rule in RULES.items():
        if rule.page:
            assert not rule.public and not rule.roles, f"{method} {path}: a page is a page"
            continue
        if path.startswith(NO_TRANSACTION_PATHS):
            assert rule.public, f"{path} bypasses authentication: it must be public"
        assert rule.public or rule.roles, f"{method} {path} allows nobody"
        assert rule.roles <= ACCESS_KINDS, f"{method} {path} names an unknown kind of token"
        if method in WRITE_METHODS:
            assert not rule.public, f"{method} {path}: a write cannot be public"
            assert INTEGRATION_READ not in rule.roles, (
                f"{method} {path}: read-only integrations never write"
            )
            # Auditors write the plan's targets and their decision on a correction
            # (reopening a month), nothing else.
            assert AUDITOR not in rule.roles or (method, path) in AUDITOR_WRITES or (
                rule is DECIDE_CORRECTION), f"{method} {path}: auditors never write"
            assert (method, path) in SAMPLES, f"add a sample request for {method} {path}"


def fill(path: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, (
            f"path parameter {{{name}}} of {path}: add a resolver to PATH_PARAMETERS "
            "(or UNSCOPED_PARAMETERS)"
        )
        return values[name]

    return PARAMETER.sub(value, path)


async def request_for(
    world: World, method: str, path: str, club: ClubWorld, kind: str | None = None
) -> tuple[str, Any]:
    names = PARAMETER.findall(path)
    values = {n: PATH_PARAMETERS[n](club) for n in names if n in PATH_PARAMETERS}
    values |= {n: UNSCOPED_PARAMETERS[n](world) for n in names if n in UNSCOPED_PARAMETERS}
    sample = Sample()
    if kind is not None and (method, path) in CALLER_SAMPLES:
        sample = await CALLER_SAMPLES[(method, path)](world, club, kind)
    elif (method, path) in SAMPLES:
        sample = await SAMPLES[(method, path)](world, club)
    values |= sample.params
    return fill(path, values) + sample.query, sample.body


async def call(http: httpx.AsyncClient, method: str, url: str, body: Any) -> httpx.Response:
    """The request; every POST with a fresh Idempotency-Key (a batch needs one)."""
    headers = {"Idempotency-Key": f"matrix-{next(_numbers)}"} if method == "POST" else {}
    if body is None and method in WRITE_METHODS:
        return await http.request(method, url, headers=headers)
    return await http.request(method, url, headers=headers,
                              json=body if method in WRITE_METHODS else None)


# Each layer alone must keep every scope: the service's own checks, and the
# database's row-level security.
@pytest.mark.parametrize("layers", ["service and database", "service alone", "database alone"])
async def test_every_route_with_every_kind_of_token_inside_and_outside_its_scope(
    app, client, client_for, owner_connection, new_token, monkeypatch, layers
):
    world = await build_world(client, owner_connection, new_token)
    if layers == "service alone":
        await switch_off_row_level_security(owner_connection)
    if layers == "database alone":
        switch_off_service_checks(monkeypatch)
    anonymous = client_for(None)
    stranger = client_for("cf_" + "x" * 43)
    callers = {kind: client_for(token) for kind, token in world.tokens.items()}
    b_ids = world.b.ids()
    failures: list[str] = []
    cells = 0

    def expect(condition: bool, cell: str, response: httpx.Response) -> None:
        nonlocal cells
        cells += 1
        if not condition:
            failures.append(f"{cell}: got {response.status_code} {response.text[:200]}")

    for method, path in sorted(bearer_routes(app)):
        rule = RULES[(method, path)]
        where = f"{method} {path}"
        if rule.public:
            url, _ = await request_for(world, method, path, world.a)
            response = await call(anonymous, method, url, None)
            expect(response.status_code == 200, f"{where} anonymous", response)
            continue
        url, body = await request_for(world, method, path, world.a)
        for name, http in (("anonymous", anonymous), ("unknown token", stranger)):
            response = await call(http, method, url, body)
            expect(response.status_code == 401
                   and response.headers.get("www-authenticate", "").startswith("Bearer")
                   and response.json()["code"] == "unauthenticated",
                   f"{where} {name}", response)
        scoped = any(name in PATH_PARAMETERS for name in PARAMETER.findall(path))
        for kind in sorted(ACCESS_KINDS):
            allowed = rule.allows(kind)
            places = [("inside", world.a)]
            if scoped and kind != ADMIN:
                places.append(("outside", world.b))
            for place, club in places:
                url, body = await request_for(world, method, path, club, kind)
                response = await call(callers[kind], method, url, body)
                cell = f"{where} as {kind} {place} its scope"
                if not allowed:
                    expect(response.status_code == 403
                           and response.json()["code"] == "forbidden", cell, response)
                elif place == "inside":
                    expect(200 <= response.status_code < 300, cell, response)
                else:
                    expect(response.status_code == 404
                           and response.json()["code"] == "not_found", cell, response)
                if kind != ADMIN:
                    asked = url + repr(body)  # an id the caller sent may be echoed
                    leaked = {i for i in b_ids if i in response.text and i not in asked}
                    expect(not leaked, f"{cell} leaks club B's {leaked}", response)

    assert not failures, f"{len(failures)} of {cells} cells failed:\n" + "\n".join(failures)
    assert cells > 200


@pytest.mark.parametrize("scope_kind", ["area", "club"])
async def test_auditors_get_403_on_every_write_but_their_plans_targets(
    app, client, client_for, owner_connection, new_token, superuser_connection, scope_kind
):
    world = await build_world(client, owner_connection, new_token)
    scope = f"area:{world.a.province}" if scope_kind == "area" else f"club:{world.a.club_id}"
    auditor = client_for(await new_token("auditor", scope=scope))
    before = await superuser_connection.fetchval("SELECT count(*) FROM entries")
    prepared = world.sample_entries
    writes = sorted(route for route in bearer_routes(app) if route[0] in WRITE_METHODS)
    assert writes
    for method, path in writes:
        for club in (world.a, world.b):
            url, body = await request_for(world, method, path, club)
            response = await call(auditor, method, url, body)
            if (method, path) in AUDITOR_WRITES and scope_kind == "area":
                # The plan's targets: a province's auditor keeps her own province's.
                expected = (201, None) if club is world.a else (404, "not_found")
                assert (response.status_code, response.json().get("code")) == expected, url
                continue
            # The decisions on corrections are open to auditors (reopening a month): the
            # service refuses them a reversal (403), and another area's is not found.
            status, code = (404, "not_found") if (
                club is world.b and RULES[(method, path)] is DECIDE_CORRECTION
            ) else (403, "forbidden")
            assert response.status_code == status, (method, url, response.text)
            assert response.json()["code"] == code
    # Only the samples' own set-up (by the admin) wrote entries.
    after = await superuser_connection.fetchval("SELECT count(*) FROM entries")
    assert after - before == world.sample_entries - prepared
    assert world.sample_entries - prepared >= 2  # the reversal samples' entries at least


async def test_a_treasurer_of_club_a_finds_nothing_of_club_b(
    app, client, client_for, owner_connection, new_token
):
    world = await build_world(client, owner_connection, new_token)
    treasurer = client_for(world.tokens["treasurer"])
    reads = sorted(route for route in app_routes(app)
                   if route[0] == "GET" and RULES[route].allows("treasurer")
                   and any(n in PATH_PARAMETERS for n in PARAMETER.findall(route[1])))
    assert ("GET", "/v1/funds/{fund_id}") in reads and ("GET", "/v1/accounts/{account_id}") in reads
    for method, path in reads:
        mine, _ = await request_for(world, method, path, world.a)
        theirs, _ = await request_for(world, method, path, world.b)
        assert (await treasurer.get(mine)).status_code == 200, mine
        response = await treasurer.get(theirs)
        assert response.status_code == 404, (theirs, response.text)
        assert response.json()["code"] == "not_found"
    funds = (await treasurer.get("/v1/funds")).json()["items"]
    assert [f["id"] for f in funds] == [world.a.fund_id]


async def test_a_route_without_a_rule_is_refused(app, client, caplog):
    @app.get("/v1/unruled", responses={404: {}})
    async def unruled() -> dict[str, str]:
        return {"secret": "nobody declared who may read this"}

    app.state.route_templates = None  # routes changed: match again
    response = await client.get("/v1/unruled")
    assert response.status_code == 500 and "secret" not in response.text
    assert "has no authorisation rule" in response.json()["detail"]
    assert any("GET /v1/unruled has no authorisation rule" in r.getMessage()
               for r in caplog.records)
    assert ("GET", "/v1/unruled") in app_routes(app) - set(RULES)
