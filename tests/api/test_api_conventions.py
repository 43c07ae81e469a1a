"""Conventions every route keeps: `cursor` pagination (the change feed's `after` is its
deprecated alias), 400 for a query parameter a route does not take, `Location` on every
201, and problem titles and details in the caller's language (English by default)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from ledger import errors as ledger_errors
from service import errors
from service.app import create_app
from service.locations import location_template
from service.routes import api_routes as served_api_routes
from service.settings import Settings
from tests.api.factories import create_account, create_fund, entry_body

UNKNOWN = "no_such_parameter"
OPENAPI = json.loads((Path(__file__).resolve().parents[2] / "openapi" / "openapi.json").read_text())


@pytest.fixture(scope="module")
def served() -> Any:
    """The app without a database, for what its routes declare."""
    return create_app(Settings())


def path_with_values(path: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "period":
            return "2026-01"
        if name == "code":
            return "XX1"
        return str(uuid.uuid4())

    return re.sub(r"\{([a-z_]+)\}", value, path)


def api_routes(app: Any) -> list[tuple[str, APIRoute]]:
    return [(method, route) for route in served_api_routes(app)
            for method in sorted(route.methods)]


# --- unknown query parameters -----------------------------------------------------------

async def test_an_anonymous_caller_is_refused_before_its_query_is_read(anonymous):
    response = await anonymous.get("/v1/funds", params={UNKNOWN: "1"})
    assert response.status_code == 401
    assert response.json()["code"] == "unauthenticated"


async def test_every_route_refuses_a_query_parameter_it_does_not_take(app, client):
    routes = api_routes(app)
    assert len(routes) > 40
    for method, route in routes:
        response = await client.request(method, path_with_values(route.path),
                                        params={UNKNOWN: "1"})
        assert response.status_code == 400, (method, route.path, response.text)
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["code"] == "unknown_query_parameter", (method, route.path)
        assert f"`{UNKNOWN}`" in problem["detail"]


async def test_the_refusal_names_what_the_route_takes_and_known_parameters_pass(client):
    fund = await create_fund(client)
    refused = await client.get(f"/v1/funds/{fund['id']}/entries", params={"limt": "5"})
    assert refused.status_code == 400
    assert refused.json()["detail"] == (
        "unknown query parameter `limt`; this route takes `cursor`, `limit`"
    )
    assert (await client.get(f"/v1/funds/{fund['id']}/entries",
                             params={"limit": "5"})).status_code == 200
    without = await client.get(f"/v1/funds/{fund['id']}", params={"x": ""})
    assert without.json()["detail"].endswith("this route takes none")


async def test_documentation_and_operations_routes_still_answer(anonymous):
    for path in ("/docs", "/openapi.json", "/healthz", "/readyz", "/metrics"):
        response = await anonymous.get(path)
        assert response.status_code == 200, (path, response.text)
    assert (await anonymous.get("/docs", params={"x": "1"})).status_code == 200
    assert (await anonymous.get("/openapi.json", params={"x": "1"})).status_code == 200


def test_openapi_declares_the_refusal_on_every_documented_route():
    document = OPENAPI
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if "responses" not in operation or path.startswith(("/healthz", "/readyz",
                                                                 "/metrics")):
                continue
            assert "unknown_query_parameter" in (
                operation["responses"].get("400", {}).get("description", "")
            ), (method, path)


# --- cursors everywhere -------------------------------------------------------------------

def test_every_list_pages_with_cursor_and_after_is_only_a_deprecated_alias():
    document = OPENAPI
    lists = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            names = {p["name"]: p for p in operation.get("parameters", ())
                     if p["in"] == "query"}
            if "limit" in names:
                lists += 1
                assert "cursor" in names, (method, path)
            if "after" in names:
                assert names["after"].get("deprecated") is True, (method, path)
    assert lists >= 10


async def test_the_change_feed_takes_cursor_and_still_after(anonymous, client):
    assert (await anonymous.get("/v1/events", params={"cursor": "x"})).status_code == 401
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset")
    capital = await create_account(client, fund["id"], "4111", "equity")
    for amount in (1, 2, 3):
        response = await client.post(f"/v1/funds/{fund['id']}/entries",
                                     json=entry_body(cash["id"], capital["id"], amount))
        assert response.status_code == 201
    first = (await client.get("/v1/events", params={"limit": 2})).json()
    assert first["next_cursor"] is not None
    by_cursor = (await client.get("/v1/events", params={"cursor": first["next_cursor"]})).json()
    by_after = (await client.get("/v1/events", params={"after": first["next_cursor"]})).json()
    assert by_cursor == by_after
    assert by_cursor["items"] and by_cursor["items"][0]["cursor"] != first["items"][-1]["cursor"]
    seen = [i["cursor"] for i in first["items"] + by_cursor["items"]]
    assert len(seen) == len(set(seen))
    both = await client.get("/v1/events", params={"cursor": first["next_cursor"],
                                                  "after": first["items"][0]["cursor"]})
    assert both.status_code == 400 and both.json()["code"] == "bad_request"


# --- Location on every 201 ----------------------------------------------------------------

def test_every_created_resource_has_a_location_that_is_a_route(served):
    get_paths = [route for method, route in api_routes(served) if method == "GET"]
    created = [route for method, route in api_routes(served) if route.status_code == 201]
    assert len(created) >= 15
    for route in created:
        template = location_template(route)
        assert template is not None, route.path
        fields = re.findall(r"\{([a-z_]+)\}", template)
        assert set(fields) <= set(route.response_model.model_fields), (route.path, template)
        example = path_with_values(template)
        assert any(r.path_regex.match(example) for r in get_paths), (route.path, template)
    document = OPENAPI
    for route in created:
        for method in route.methods:
            answer = document["paths"][route.path][method.lower()]["responses"]["201"]
            assert "Location" in answer["headers"], route.path


async def test_created_answers_carry_their_location_also_when_replayed(anonymous, client):
    refused = await anonymous.post("/v1/funds", json={"name": "Quỹ", "currency": "VND"})
    assert refused.status_code == 401 and "location" not in refused.headers
    headers = {"Idempotency-Key": "location-1"}
    first = await client.post("/v1/funds", json={"name": "Quỹ", "currency": "VND"},
                              headers=headers)
    assert first.status_code == 201
    assert first.headers["location"] == f"/v1/funds/{first.json()['id']}"
    again = await client.post("/v1/funds", json={"name": "Quỹ", "currency": "VND"},
                              headers=headers)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.headers["location"] == first.headers["location"]
    fetched = await client.get(first.headers["location"])
    assert fetched.status_code == 200 and fetched.json()["id"] == first.json()["id"]

    fund = first.json()["id"]
    cash = await create_account(client, fund, "111", "asset")
    capital = await create_account(client, fund, "4111", "equity")
    account = await client.post(f"/v1/funds/{fund}/accounts",
                                json={"code": "112", "name": "Bank", "type": "asset"})
    assert account.headers["location"] == f"/v1/accounts/{account.json()['id']}"
    entry = await client.post(f"/v1/funds/{fund}/entries",
                              json=entry_body(cash["id"], capital["id"], 5))
    assert entry.headers["location"] == f"/v1/entries/{entry.json()['id']}"
    assert (await client.get(entry.headers["location"])).json()["id"] == entry.json()["id"]
    reversal = await client.post(f"/v1/entries/{entry.json()['id']}/reversal", json={})
    assert reversal.headers["location"] == f"/v1/entries/{reversal.json()['id']}"


async def test_only_created_answers_carry_location(client):
    fund = await create_fund(client)
    assert "location" not in (await client.get(f"/v1/funds/{fund['id']}")).headers
    bad = await client.post("/v1/funds", json={"name": "", "currency": "VND"})
    assert bad.status_code == 422 and "location" not in bad.headers


# --- problems in the caller's language ----------------------------------------------------

VIETNAMESE = {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}


async def test_problems_are_english_by_default_and_vietnamese_when_asked(anonymous, client):
    english = (await anonymous.get("/v1/funds")).json()
    assert english["title"] == "A valid bearer token is required"
    assert english["detail"] == "send `Authorization: Bearer <token>`"
    vietnamese = (await anonymous.get("/v1/funds", headers=VIETNAMESE)).json()
    assert vietnamese["code"] == english["code"] == "unauthenticated"
    assert vietnamese["title"] == "Cần mã truy cập hợp lệ"
    assert vietnamese["detail"].startswith("hãy gửi kèm mã truy cập")
    prefers_english = await anonymous.get("/v1/funds", headers={"Accept-Language": "en,vi;q=0.8"})
    assert prefers_english.json()["title"] == english["title"]

    missing = uuid.uuid4()
    found = await client.get(f"/v1/funds/{missing}", headers=VIETNAMESE)
    assert found.status_code == 404
    assert found.json()["title"] == "Không tìm thấy"
    assert found.json()["detail"] == f"Không tìm thấy quỹ {missing}"
    assert (await client.get(f"/v1/funds/{missing}")).json()["detail"] == (
        f"fund {missing} not found"
    )
    unknown = await client.get("/v1/funds", headers=VIETNAMESE, params={"limt": "1"})
    assert unknown.json()["detail"] == (
        "không có tham số truy vấn `limt`; đường dẫn này nhận `cursor`, `limit`"
    )


async def test_core_and_validation_problems_follow_the_language(client):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset", allow_negative=False)
    capital = await create_account(client, fund["id"], "4111", "equity")
    overdraft = await client.post(f"/v1/funds/{fund['id']}/entries", headers=VIETNAMESE,
                                  json=entry_body(capital["id"], cash["id"], 5))
    assert overdraft.json()["code"] == "insufficient_funds"
    assert overdraft.json()["title"] == "Tài khoản không đủ tiền (không được âm)"
    english = await client.post(f"/v1/funds/{fund['id']}/entries",
                                json=entry_body(capital["id"], cash["id"], 5))
    assert english.json()["title"] == "Not enough money in the account"
    # The core's detail in Vietnamese, not the English one in brackets.
    assert overdraft.json()["detail"] == (
        "tài khoản 111 không được âm: ghi ngày 2026-03-05, bút toán này làm số dư cuối ngày"
        " 2026-03-05 còn -5")
    assert english.json()["detail"].startswith("account 111 may not go below zero")

    invalid = await client.post("/v1/funds", headers=VIETNAMESE,
                                json={"name": "Quỹ", "currency": "VND", "extra": 1})
    assert invalid.status_code == 422
    assert invalid.json()["title"] == "Dữ liệu gửi lên không hợp lệ"
    assert "không hợp lệ" in invalid.json()["detail"]


def all_subclasses(base: type) -> list[type]:
    found = []
    for subclass in base.__subclasses__():
        found += [subclass, *all_subclasses(subclass)]
    return found


@pytest.mark.parametrize("error_class", all_subclasses(errors.ClubfundError),
                         ids=lambda c: c.__name__)
def test_every_service_error_has_its_own_title_in_both_languages(error_class):
    assert "title" in vars(error_class) and "title_vi" in vars(error_class)
    assert error_class.title_vi and error_class.title_vi != error_class.title


def test_every_core_error_has_a_title_in_both_languages():
    for error_class in [ledger_errors.LedgerError, *all_subclasses(ledger_errors.LedgerError)]:
        title = errors.LEDGER_TITLES.get(error_class.code)
        assert title is not None, error_class.code
        assert title.vi and title.en and title.vi != title.en
