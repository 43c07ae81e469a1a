"""An atomic batch writes its consecutive journal entries together (one statement for the
entries and postings, one for their audit records), judging each entry as if the earlier
ones were already written: what the single endpoint would have answered, item by item."""

from __future__ import annotations

from typing import Any

from tests.api.factories import accounts_by_code, club_with_seed_grant, entry_body


def entry(key: str, debit: str, credit: str, amount: int) -> dict[str, Any]:
    return {"key": key, "op": "entry", "body": entry_body(debit, credit, amount)}


async def test_an_anonymous_caller_is_refused(anonymous, client, client_for, new_token):
    world = await club_with_seed_grant(client, client_for, new_token, "53")
    response = await anonymous.post(f"/v1/funds/{world['fund']}/batches",
                                    json={"mode": "atomic", "items": []},
                                    headers={"Idempotency-Key": "b"})
    assert response.status_code == 401, response.text


async def test_later_entries_see_the_earlier_ones_and_answer_as_written(
    client, client_for, new_token, superuser_connection
):
    world = await club_with_seed_grant(client, client_for, new_token, "53")
    treasurer, fund = world["treasurer"], world["fund"]
    codes = await accounts_by_code(treasurer, fund)
    cash, expenses = codes["111"]["id"], codes["642"]["id"]
    # 8,000,000 of seed money in cash: spend it all, take in 100,000, spend that too.
    items = [entry("spend-all", expenses, cash, 8_000_000),
             {"key": "contribution", "op": "contribution",
              "body": {"amount": 100_000, "effective_date": "2026-03-05"}},
             entry("spend-more", expenses, cash, 60_000), entry("spend-rest", expenses, cash,
                                                                40_000)]
    response = await treasurer.post(f"/v1/funds/{fund}/batches",
                                     json={"mode": "atomic", "items": items},
                                     headers={"Idempotency-Key": "together-1"})
    assert response.status_code == 200, response.text
    answers = response.json()["items"]
    assert [a["status"] for a in answers] == [201, 201, 201, 201]
    results = [answers[0]["result"], answers[2]["result"], answers[3]["result"]]
    for result in results:
        stored = await treasurer.get(f"/v1/entries/{result['id']}")
        assert stored.json() == result
    assert results[0]["sequence"] < results[1]["sequence"] < results[2]["sequence"]
    stamps = [result["audit"]["sequence"] for result in results]
    assert stamps[1] + 1 == stamps[2] and stamps[0] < stamps[1]
    cash_balance = await superuser_connection.fetchval(
        "SELECT debits - credits FROM account_balances WHERE account_id = $1", cash)
    assert cash_balance == 0
    # Cash taken in by one entry may be spent by the next in the same batch.
    capital = codes["4111"]["id"]
    in_and_out = await treasurer.post(
        f"/v1/funds/{fund}/batches", headers={"Idempotency-Key": "together-2"},
        json={"mode": "atomic", "items": [entry("in", cash, capital, 10),
                                          entry("out", expenses, cash, 10)]})
    assert in_and_out.status_code == 200, in_and_out.text
    # One unit more than the cash holds is refused, naming that item only.
    more = [entry("in-2", cash, capital, 10), entry("out-2", expenses, cash, 10),
            entry("too-much", expenses, cash, 1)]
    refused = await treasurer.post(f"/v1/funds/{fund}/batches",
                                   json={"mode": "atomic", "items": more},
                                   headers={"Idempotency-Key": "together-3"})
    assert refused.status_code == 422, refused.text
    assert [(e["index"], e["problem"]["code"]) for e in refused.json()["errors"]] == [
        (2, "insufficient_funds")]
    assert await superuser_connection.fetchval(
        "SELECT debits - credits FROM account_balances WHERE account_id = $1", cash) == 0
