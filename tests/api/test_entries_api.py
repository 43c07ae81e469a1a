"""The journal API: bad input is refused with problem+json and leaves nothing
written; idempotency; reversals; pagination."""

from __future__ import annotations

import uuid

import pytest

from tests.api.factories import create_account, create_fund, entry_body

PROBLEM = "application/problem+json"


async def database_snapshot(connection) -> tuple:
    """Everything a write could change, read as a superuser (sees every row)."""
    return (
        await connection.fetchval("SELECT count(*) FROM entries"),
        await connection.fetchval("SELECT count(*) FROM postings"),
        await connection.fetchval("SELECT count(*) FROM idempotency_records"),
        tuple(await connection.fetch(
            "SELECT account_id, debits, credits FROM account_balances ORDER BY account_id"
        )),
        tuple(await connection.fetch("SELECT id, entry_count FROM funds ORDER BY id")),
    )


@pytest.fixture
async def ledger(client):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset", allow_negative=False)
    capital = await create_account(client, fund["id"], "4111", "equity")
    first = await client.post(f"/v1/funds/{fund['id']}/entries",
                              json=entry_body(cash["id"], capital["id"], 1_000_000))
    assert first.status_code == 201
    return {"fund": fund["id"], "cash": cash["id"], "capital": capital["id"]}


def bad_bodies(ledger) -> dict[str, tuple[object, int, str]]:
    good = entry_body(ledger["cash"], ledger["capital"], 5_000)
    unbalanced = entry_body(ledger["cash"], ledger["capital"], 5_000)
    unbalanced["postings"][1]["amount"] = 4_999
    floating = entry_body(ledger["cash"], ledger["capital"], 5_000)
    floating["postings"][0]["amount"] = 5000.0
    floating["postings"][1]["amount"] = 5000.0
    unknown = entry_body(str(uuid.uuid4()), ledger["capital"], 5_000)
    huge = entry_body(ledger["cash"], ledger["capital"], 10**15 + 1)
    overdraft = entry_body(ledger["capital"], ledger["cash"], 1_000_001)
    string_amount = entry_body(ledger["cash"], ledger["capital"], 5_000)
    string_amount["postings"][0]["amount"] = "5000"
    one_posting = dict(good, postings=good["postings"][:1])
    return {
        "unbalanced": (unbalanced, 422, "unbalanced_entry"),
        "float amount": (floating, 422, "validation_error"),
        "string amount": (string_amount, 422, "validation_error"),
        "unknown account": (unknown, 422, "unknown_account"),
        "amount over 10^15": (huge, 422, "amount_out_of_range"),
        "overdraft on cash": (overdraft, 422, "insufficient_funds"),
        "one posting": (one_posting, 422, "invalid_entry"),
        "negative amount": (entry_body(ledger["cash"], ledger["capital"], -5), 422,
                            "invalid_amount"),
        "unknown currency": (dict(good, currency="XXX"), 422, "unknown_currency"),
        "extra field": (dict(good, approved=True), 422, "validation_error"),
    }


@pytest.mark.parametrize("case", [
    "unbalanced", "float amount", "string amount", "unknown account", "amount over 10^15",
    "overdraft on cash", "one posting", "negative amount", "unknown currency", "extra field",
])
async def test_bad_entries_get_a_problem_and_leave_the_database_unchanged(
    case, client, ledger, superuser_connection
):
    body, status, code = bad_bodies(ledger)[case]
    before = await database_snapshot(superuser_connection)
    response = await client.post(f"/v1/funds/{ledger['fund']}/entries", json=body,
                                 headers={"Idempotency-Key": f"bad-{case}"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["code"] == code
    assert problem["status"] == status
    assert {"type", "title", "detail"} <= problem.keys()
    assert await database_snapshot(superuser_connection) == before


async def test_malformed_json_is_a_400_problem_and_writes_nothing(
    client, ledger, superuser_connection
):
    before = await database_snapshot(superuser_connection)
    response = await client.post(
        f"/v1/funds/{ledger['fund']}/entries", content=b'{"effective_date": "2026-03-05", ',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "malformed_json"
    assert await database_snapshot(superuser_connection) == before


async def test_unknown_fund_and_entry_are_404_problems(client, ledger):
    missing = uuid.uuid4()
    body = entry_body(ledger["cash"], ledger["capital"], 5)
    for response in (
        await client.post(f"/v1/funds/{missing}/entries", json=body),
        await client.get(f"/v1/funds/{missing}"),
        await client.get(f"/v1/entries/{missing}"),
        await client.get(f"/v1/accounts/{missing}"),
        await client.get("/v1/no-such-route"),
    ):
        assert response.status_code == 404
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["code"] == "not_found"


async def test_an_entry_in_one_fund_cannot_use_another_funds_account(client, ledger):
    other = await create_fund(client, "Other")
    foreign = await create_account(client, other["id"], "111", "asset")
    body = entry_body(foreign["id"], ledger["capital"], 5)
    response = await client.post(f"/v1/funds/{ledger['fund']}/entries", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_account"


async def test_same_key_same_body_replays_the_first_response(client, ledger, superuser_connection):
    body = entry_body(ledger["cash"], ledger["capital"], 7_000)
    url = f"/v1/funds/{ledger['fund']}/entries"
    first = await client.post(url, json=body, headers={"Idempotency-Key": "k-1"})
    before = await database_snapshot(superuser_connection)
    again = await client.post(url, json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert await database_snapshot(superuser_connection) == before


async def test_same_key_other_body_is_a_409_conflict(client, ledger, superuser_connection):
    url = f"/v1/funds/{ledger['fund']}/entries"
    await client.post(url, json=entry_body(ledger["cash"], ledger["capital"], 7_000),
                      headers={"Idempotency-Key": "k-2"})
    before = await database_snapshot(superuser_connection)
    response = await client.post(url, json=entry_body(ledger["cash"], ledger["capital"], 8_000),
                                 headers={"Idempotency-Key": "k-2"})
    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_conflict"
    assert await database_snapshot(superuser_connection) == before


async def test_keys_belong_to_their_caller(client_for, new_token, ledger):
    body = entry_body(ledger["cash"], ledger["capital"], 1_000)
    url = f"/v1/funds/{ledger['fund']}/entries"
    one = client_for(await new_token("admin"))
    two = client_for(await new_token("admin"))
    first = await one.post(url, json=body, headers={"Idempotency-Key": "shared"})
    second = await two.post(url, json=body, headers={"Idempotency-Key": "shared"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


async def test_every_post_honours_idempotency_keys(client, ledger):
    account = {"code": "642", "name": "Chi phí", "type": "expense"}
    fund_url = f"/v1/funds/{ledger['fund']}/accounts"
    for url, body in (("/v1/funds", {"name": "Quỹ B", "currency": "VND"}), (fund_url, account)):
        first = await client.post(url, json=body, headers={"Idempotency-Key": url})
        again = await client.post(url, json=body, headers={"Idempotency-Key": url})
        assert first.status_code == 201 and again.json() == first.json()


async def test_a_reversal_nets_the_accounts_and_is_posted_once(client, ledger):
    url = f"/v1/funds/{ledger['fund']}/entries"
    posted = (await client.post(url, json=entry_body(ledger["cash"], ledger["capital"],
                                                     250_000))).json()
    reversal = await client.post(f"/v1/entries/{posted['id']}/reversal",
                                 json={"effective_date": "2026-03-06"})
    assert reversal.status_code == 201, reversal.text
    body = reversal.json()
    assert body["reverses_entry_id"] == posted["id"]
    assert [(p["side"], p["amount"]) for p in body["postings"]] == [
        ("credit", 250_000), ("debit", 250_000)]
    cash = (await client.get(f"/v1/accounts/{ledger['cash']}")).json()
    assert cash["balance"] == 1_000_000
    twice = await client.post(f"/v1/entries/{posted['id']}/reversal", json={})
    assert twice.status_code == 409 and twice.json()["code"] == "already_reversed"
    of_reversal = await client.post(f"/v1/entries/{body['id']}/reversal", json={})
    assert of_reversal.status_code == 422 and of_reversal.json()["code"] == "invalid_reversal"


async def test_a_reversal_that_would_overdraw_cash_is_refused(client, ledger):
    url = f"/v1/funds/{ledger['fund']}/entries"
    spend = entry_body(ledger["capital"], ledger["cash"], 1_000_000)
    (await client.post(url, json=spend)).raise_for_status()
    entries = (await client.get(url)).json()["items"]
    response = await client.post(f"/v1/entries/{entries[0]['id']}/reversal", json={})
    assert response.status_code == 422
    assert response.json()["code"] == "insufficient_funds"


async def test_lists_page_with_keyset_cursors(client, ledger):
    url = f"/v1/funds/{ledger['fund']}/entries"
    for amount in range(1, 8):
        (await client.post(url, json=entry_body(ledger["cash"], ledger["capital"],
                                                amount))).raise_for_status()
    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = (await client.get(url, params=params)).json()
        seen += [e["sequence"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(1, 9))
    bad = await client.get(url, params={"cursor": "not-a-cursor"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_cursor"
    accounts = (await client.get(f"/v1/funds/{ledger['fund']}/accounts",
                                 params={"limit": 1})).json()
    assert [a["code"] for a in accounts["items"]] == ["111"] and accounts["next_cursor"]


async def test_account_balances_are_signed_on_the_normal_side(client, ledger):
    cash = (await client.get(f"/v1/accounts/{ledger['cash']}")).json()
    capital = (await client.get(f"/v1/accounts/{ledger['capital']}")).json()
    assert (cash["normal_side"], cash["balance"]) == ("debit", 1_000_000)
    assert (capital["normal_side"], capital["balance"]) == ("credit", 1_000_000)
    assert (capital["debits"], capital["credits"]) == (0, 1_000_000)


async def test_a_fund_states_its_currencys_minor_units(anonymous, client):
    assert (await anonymous.post("/v1/funds", json={"name": "Quỹ", "currency": "USD"})
            ).status_code == 401
    vnd = await create_fund(client)
    usd = (await client.post("/v1/funds", json={"name": "Quỹ USD", "currency": "USD"})).json()
    assert (vnd["currency"], vnd["minor_units"]) == ("VND", 0)
    assert (usd["currency"], usd["minor_units"]) == ("USD", 2)
    again = (await client.get(f"/v1/funds/{usd['id']}")).json()
    assert again["minor_units"] == 2
    listed = (await client.get("/v1/funds", params={"limit": 500})).json()["items"]
    assert {f["id"]: f["minor_units"] for f in listed if f["id"] in (vnd["id"], usd["id"])} == {
        vnd["id"]: 0, usd["id"]: 2}
