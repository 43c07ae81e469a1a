"""POST /v1/funds/{fund_id}/batches: many operations in one request, each item's key its
Idempotency-Key everywhere, `atomic` all or nothing, `independent` item by item. Every
refusal is problem+json and writes nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from service.errors import ProblemDetails
from tests.api.factories import club_with_seed_grant

PROBLEM = "application/problem+json"
POSTED = "entry.posted"
REPAID = "loan.repayment"


async def snapshot(connection) -> tuple:
    """Everything a batch could write, read as a superuser."""
    return (
        await connection.fetchval("SELECT count(*) FROM entries"),
        await connection.fetchval("SELECT count(*) FROM postings"),
        tuple(await connection.fetch(
            "SELECT action, count(*) FROM audit_records GROUP BY action ORDER BY action")),
        await connection.fetchval("SELECT count(*) FROM loan_events"),
        await connection.fetchval("SELECT count(*) FROM loans"),
        await connection.fetchval("SELECT count(*) FROM idempotency_records"),
        tuple(await connection.fetch(
            "SELECT * FROM voucher_counters ORDER BY fund_id, kind, year")),
        tuple(await connection.fetch("SELECT id, entry_count FROM funds ORDER BY id")),
        tuple(await connection.fetch(
            "SELECT id, status, outstanding_principal FROM loans ORDER BY id")),
    )


async def written_since(connection, before: tuple) -> tuple[int, dict[str, int]]:
    """(entries, audit records by action) written since `before`."""
    now = await snapshot(connection)
    counts = dict(now[2])
    for action, count in before[2]:
        counts[action] -= count
    return now[0] - before[0], {action: n for action, n in counts.items() if n}


def assert_problem(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem: dict[str, Any] = response.json()
    assert problem["code"] == code
    return problem


async def club_with_loan(admin, client_for, new_token, prefix: str) -> dict[str, Any]:
    """A club with seed capital (8,000,000 in January) and a member's disbursed loan."""
    world = await club_with_seed_grant(admin, client_for, new_token, prefix,
                                       name=f"CLB {prefix}")
    treasurer, chair, fund = world["treasurer"], world["chair"], world["fund"]
    loan = await treasurer.post(f"/v1/funds/{fund}/loans", json={
        "member_id": world["member"], "principal": 5_000_000, "installments": 12,
        "rate_per_period": "0.01", "first_due_date": "2026-03-05", "applied_on": "2026-02-01"})
    assert loan.status_code == 201, loan.text
    loan_id = loan.json()["id"]
    approval = await chair.post(f"/v1/loans/{loan_id}/approval",
                                json={"effective_date": "2026-02-01"})
    assert approval.status_code == 200, approval.text
    paid_out = await treasurer.post(f"/v1/loans/{loan_id}/disbursement",
                                    json={"effective_date": "2026-02-05"})
    assert paid_out.status_code == 200, paid_out.text
    return world | {"loan": loan_id}


@pytest.fixture
async def club(client, client_for, new_token) -> dict[str, Any]:
    return await club_with_loan(client, client_for, new_token, "51")


def contribution(key: str, amount: int = 100_000, when: str = "2026-03-05") -> dict[str, Any]:
    return {"key": key, "op": "contribution",
            "body": {"amount": amount, "effective_date": when, "counterparty": "Bà Lan"}}


def repayment(key: str, loan_id: str, amount: int = 466_667,
              when: str = "2026-03-05") -> dict[str, Any]:
    return {"key": key, "op": "repayment", "loan_id": loan_id,
            "body": {"amount": amount, "effective_date": when}}


def expense(key: str, amount: int, when: str = "2026-03-05") -> dict[str, Any]:
    return {"key": key, "op": "expense", "body": {"amount": amount, "effective_date": when}}


async def send(http, fund: str, mode: str, items: list[dict[str, Any]], key: str | None,
               **headers: str):
    if key is not None:
        headers["Idempotency-Key"] = key
    return await http.post(f"/v1/funds/{fund}/batches", json={"mode": mode, "items": items},
                           headers=headers)


async def test_an_anonymous_caller_is_refused_and_nothing_is_written(
    anonymous, club, superuser_connection
):
    before = await snapshot(superuser_connection)
    response = await send(anonymous, club["fund"], "independent", [contribution("c1")], "b1")
    assert_problem(response, 401, "unauthenticated")
    assert await snapshot(superuser_connection) == before


async def test_an_atomic_batch_with_one_bad_item_writes_nothing(club, superuser_connection):
    before = await snapshot(superuser_connection)
    items = [contribution("c1"), repayment("r1", club["loan"]),
             expense("too-much", 50_000_000), contribution("c2"), repayment("r2", club["loan"]),
             expense("also-too-much", 60_000_000)]
    response = await send(club["treasurer"], club["fund"], "atomic", items, "atomic-1")
    problem = assert_problem(response, 422, "batch_refused")
    ProblemDetails.model_validate(problem)  # the refused items fit the documented schema
    # Each refused item's problem, the others checked as if written before it.
    assert [(e["index"], e["key"], e["problem"]["code"]) for e in problem["errors"]] == [
        (2, "too-much", "insufficient_funds"), (5, "also-too-much", "insufficient_funds")]
    assert await snapshot(superuser_connection) == before  # no entry, voucher, audit record
    fixed = await send(club["treasurer"], club["fund"], "atomic",
                       [*items[:2], expense("enough", 50_000), *items[3:5]], "atomic-2")
    assert fixed.status_code == 200, fixed.text
    assert [item["status"] for item in fixed.json()["items"]] == [201, 201, 201, 201, 201]
    assert await written_since(superuser_connection, before) == (5, {POSTED: 5, REPAID: 2})


async def test_an_independent_batch_with_one_bad_item_writes_the_others(
    club, superuser_connection
):
    before = await snapshot(superuser_connection)
    items = [contribution("c1"), expense("too-much", 50_000_000),
             repayment("r1", club["loan"]), contribution("c2", 0)]
    response = await send(club["treasurer"], club["fund"], "independent", items, "meeting-1")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [(i["key"], i["status"]) for i in answer["items"]] == [
        ("c1", 201), ("too-much", 422), ("r1", 201), ("c2", 422)]
    assert answer["items"][1]["problem"]["code"] == "insufficient_funds"
    assert "result" not in answer["items"][1] and "problem" not in answer["items"][0]
    assert answer["items"][3]["problem"]["code"] == "invalid_amount"
    assert await written_since(superuser_connection, before) == (2, {POSTED: 2, REPAID: 1})
    first, repaid = answer["items"][0]["result"], answer["items"][2]["result"]
    # The same answers as the single endpoints give: a receipt voucher each, in order.
    assert first["voucher_number"] == "PT-2026-0002"
    assert repaid["allocation"]["principal"] + repaid["allocation"]["interest"] == 466_667
    loan = (await club["treasurer"].get(f"/v1/loans/{club['loan']}")).json()
    assert loan["outstanding_principal"] == 5_000_000 - repaid["allocation"]["principal"]
    entry = await club["treasurer"].get(f"/v1/entries/{first['id']}")
    assert entry.json() == first


async def test_replaying_a_batch_or_an_item_writes_nothing_and_answers_the_original(
    club, superuser_connection
):
    treasurer, fund = club["treasurer"], club["fund"]
    single = await treasurer.post(f"/v1/funds/{fund}/contributions",
                                  json=contribution("x")["body"],
                                  headers={"Idempotency-Key": "single-first"})
    assert single.status_code == 201, single.text
    items = [contribution("c1"), repayment("r1", club["loan"]),
             {**contribution("single-first"), "key": "single-first"}]
    first = await send(treasurer, fund, "independent", items, "meeting-1")
    assert first.status_code == 200, first.text
    answer = first.json()
    # A key first used on the single endpoint replays inside the batch.
    assert answer["items"][2] == {"key": "single-first", "status": 201, "result": single.json()}
    before = await snapshot(superuser_connection)
    again = await send(treasurer, fund, "independent", items, "meeting-1")
    assert again.status_code == 200 and again.json() == answer
    assert again.headers["idempotent-replayed"] == "true"
    later = await send(treasurer, fund, "atomic", [items[1], items[0]], "meeting-2")
    assert later.status_code == 200, later.text
    assert later.json()["items"] == [answer["items"][1], answer["items"][0]]
    repaid = await treasurer.post(f"/v1/loans/{club['loan']}/repayments",
                                  json=items[1]["body"], headers={"Idempotency-Key": "r1"})
    assert (repaid.status_code, repaid.json()) == (201, answer["items"][1]["result"])
    assert repaid.headers["location"] == f"/v1/entries/{repaid.json()['entry_id']}"
    contributed = await treasurer.post(f"/v1/funds/{fund}/contributions",
                                       json=items[0]["body"], headers={"Idempotency-Key": "c1"})
    assert (contributed.status_code, contributed.json()) == (201, answer["items"][0]["result"])
    assert await written_since(superuser_connection, before) == (0, {})
    other_body = await send(treasurer, fund, "independent", [contribution("c1", 5)], "meeting-3")
    assert other_body.json()["items"][0]["problem"]["code"] == "idempotency_conflict"
    assert await written_since(superuser_connection, before) == (0, {})


async def test_concurrent_replays_of_one_batch_write_once(club, superuser_connection):
    before = await snapshot(superuser_connection)
    items = [contribution(f"c{n}") for n in range(5)] + [repayment("r1", club["loan"])]
    responses = await asyncio.gather(*(
        send(club["treasurer"], club["fund"], "independent", items, "meeting-concurrent")
        for _ in range(4)))
    assert {r.status_code for r in responses} == {200}, [r.text for r in responses]
    assert len({r.text for r in responses}) == 1
    assert await written_since(superuser_connection, before) == (6, {POSTED: 6, REPAID: 1})


@pytest.mark.parametrize("case", [
    "too_many", "duplicate_key", "batch_key", "unknown_op", "no_key", "bad_body_atomic",
    "loan_id_missing",
])
async def test_a_malformed_batch_is_refused_whole_and_writes_nothing(
    club, superuser_connection, case
):
    fund, loan = club["fund"], club["loan"]
    items: list[dict[str, Any]] = [contribution("c1"), repayment("r1", loan)]
    key: str | None = f"batch-{case}"
    mode, expected = "atomic", (422, "validation_error")
    if case == "too_many":
        items = [contribution(f"c{n}", 1_000) for n in range(1_001)]
    elif case == "duplicate_key":
        items.append(contribution("c1", 5))
        mode = "independent"
    elif case == "batch_key":
        items.append(contribution(f"batch-{case}"))
        mode = "independent"
    elif case == "unknown_op":
        items.append({"key": "t1", "op": "transfer", "body": {"amount": 1}})
        mode = "independent"
    elif case == "no_key":
        key, mode, expected = None, "independent", (400, "idempotency_key_required")
    elif case == "bad_body_atomic":
        items.append({"key": "c3", "op": "contribution", "body": {"amount": "many"}})
        expected = (422, "batch_refused")
    elif case == "loan_id_missing":
        items.append({"key": "r2", "op": "repayment", "body": {"amount": 1}})
        expected = (422, "batch_refused")
    before = await snapshot(superuser_connection)
    response = await send(club["treasurer"], fund, mode, items, key)
    problem = assert_problem(response, *expected)
    if expected[1] == "batch_refused":
        assert [e["index"] for e in problem["errors"]] == [2]
        assert problem["errors"][0]["problem"]["code"] == "validation_error"
    assert await snapshot(superuser_connection) == before


async def test_a_loan_of_another_fund_is_not_found(
    client, club, client_for, new_token, superuser_connection
):
    other = await club_with_loan(client, client_for, new_token, "52")
    before = await snapshot(superuser_connection)
    items = [repayment("r-other", other["loan"]), contribution("c1")]
    response = await send(client, club["fund"], "independent", items, "cross-fund")
    assert response.status_code == 200, response.text
    refused, written = response.json()["items"]
    assert (refused["status"], refused["problem"]["code"]) == (404, "not_found")
    assert written["status"] == 201
    assert await written_since(superuser_connection, before) == (1, {POSTED: 1})
    atomic = await send(client, club["fund"], "atomic", items[:1], "cross-fund-atomic")
    assert assert_problem(atomic, 422, "batch_refused")["errors"][0]["status"] == 404
    assert await written_since(superuser_connection, before) == (1, {POSTED: 1})


async def test_an_item_in_a_closed_month_is_refused_in_vietnamese_and_the_others_written(
    club, superuser_connection
):
    closed = await club["chair"].post(f"/v1/funds/{club['fund']}/periods/2026-01/close")
    assert closed.status_code == 201, closed.text
    before = await snapshot(superuser_connection)
    items = [contribution("late", when="2026-01-20"), repayment("r1", club["loan"]),
             contribution("c1")]
    response = await send(club["treasurer"], club["fund"], "independent", items, "meeting-vi",
                          **{"Accept-Language": "vi"})
    assert response.status_code == 200, response.text
    late, repaid, contributed = response.json()["items"]
    assert (late["status"], late["problem"]["code"]) == (409, "period_closed")
    assert late["problem"]["title"] == "Tháng này đã khóa sổ"
    assert (repaid["status"], contributed["status"]) == (201, 201)
    assert await written_since(superuser_connection, before) == (2, {POSTED: 2, REPAID: 1})
    # Not stored: once the month is reopened, the same key is written.
    assert await superuser_connection.fetchval(
        "SELECT count(*) FROM idempotency_records WHERE key = 'late'") == 0


async def test_every_operation_runs_through_a_batch(club, superuser_connection):
    treasurer, fund = club["treasurer"], club["fund"]
    accounts = (await treasurer.get(f"/v1/funds/{fund}/accounts",
                                    params={"limit": 500})).json()["items"]
    code = {a["code"]: a["id"] for a in accounts}
    items = [
        {"key": "e1", "op": "entry", "body": {
            "effective_date": "2026-03-01", "description": "Chuyển tiền gửi", "currency": "VND",
            "postings": [{"account_id": code["112"], "side": "debit", "amount": 10_000},
                         {"account_id": code["111"], "side": "credit", "amount": 10_000}]}},
        {"key": "g1", "op": "seed_grant", "body": {
            "amount": 1_000_000, "source": "donor", "effective_date": "2026-03-01"}},
        {"key": "d1", "op": "donation", "body": {"amount": 20_000, "effective_date": "2026-03-01"}},
        contribution("c1"), expense("x1", 5_000),
        {"key": "a1", "op": "loan_application", "body": {
            "member_id": club["member"], "principal": 1_000_000, "installments": 6,
            "rate_per_period": "0.01", "first_due_date": "2026-04-05",
            "applied_on": "2026-03-01"}},
        repayment("r1", club["loan"]),
        {"key": "p1", "op": "disbursement", "loan_id": club["loan"]},
    ]
    before = await snapshot(superuser_connection)
    response = await send(treasurer, fund, "independent", items, "all-ops")
    assert response.status_code == 200, response.text
    statuses = {i["key"]: (i["status"], (i.get("problem") or {}).get("code"))
                for i in response.json()["items"]}
    assert statuses == {"e1": (201, None), "g1": (201, None), "d1": (201, None),
                        "c1": (201, None), "x1": (201, None), "a1": (201, None),
                        "r1": (201, None), "p1": (409, "invalid_loan_state")}
    assert await written_since(superuser_connection, before) == (
        6, {POSTED: 6, "loan.applied": 1, REPAID: 1})


def test_each_operation_is_its_single_endpoint(app):
    """Each batch operation names the single endpoint's path, success status and body
    schema: what a batch stores under an item's key is what that endpoint replays."""
    from service.batches.service import OPERATIONS
    from service.routes import api_routes

    posts = {route.path: route for route in api_routes(app) if "POST" in route.methods}
    for name, operation in OPERATIONS.items():
        target = "{loan_id}" if operation.on_loan else "{fund_id}"
        route = posts[operation.path.replace("{target}", target)]
        assert (route.status_code or 200) == operation.status, name
        [body] = route.dependant.body_params
        assert body.field_info.annotation in (operation.schema, operation.schema | None), name
