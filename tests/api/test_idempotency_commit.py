"""A POST with an Idempotency-Key stores its answer and commits in one round trip (one
simple query, its values as literals): any key is stored and replayed as sent, and the
connection is left with no transaction, ready for the next request (a batch's
savepoints included) with nothing sent on release."""

from __future__ import annotations

import uuid

import httpx

from service.app import create_app
from service.database import create_pool
from service.settings import Settings
from tests.api.factories import create_account, create_fund, entry_body

HOSTILE_KEYS = (
    "'); DELETE FROM entries; --",
    "back\\slash \\x27 ' '' $$ $q$ E'\\''",
    "Qu\xfd \xa3 \"tr\xedch\" ;COMMIT;",  # sent as Latin-1, as headers are
)


async def test_any_key_is_stored_and_replayed_as_it_was_sent(
    anonymous, client, superuser_connection
):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset")
    capital = await create_account(client, fund["id"], "4111", "equity")
    url = f"/v1/funds/{fund['id']}/entries"
    refused = await anonymous.post(url, json=entry_body(cash["id"], capital["id"], 1_000),
                                   headers={"Idempotency-Key": HOSTILE_KEYS[0]})
    assert refused.status_code == 401
    for n, key in enumerate(HOSTILE_KEYS, start=1):
        body = entry_body(cash["id"], capital["id"], 1_000 * n)
        headers = {"Idempotency-Key": key.encode("latin-1")}
        first = await client.post(url, json=body, headers=headers)
        assert first.status_code == 201, first.text
        again = await client.post(url, json=body, headers=headers)
        assert again.status_code == 201, again.text
        assert again.headers["idempotent-replayed"] == "true"
        assert again.content == first.content
    stored = await superuser_connection.fetch(
        "SELECT key, response_status FROM idempotency_records WHERE fund_id = $1",
        uuid.UUID(fund["id"]))
    assert sorted(r["key"] for r in stored) == sorted(HOSTILE_KEYS)
    assert {r["response_status"] for r in stored} == {201}
    count = await superuser_connection.fetchval(
        "SELECT entry_count FROM funds WHERE id = $1", uuid.UUID(fund["id"]))
    assert count == len(HOSTILE_KEYS)


async def test_the_answer_is_stored_with_commit_and_the_connection_is_left_clean(
    database, new_token, audit_signing_key
):
    pool = await create_pool(database.app_url, min_size=1, max_size=1)
    sent: list[str] = []
    try:
        async with pool.acquire() as connection:
            connection.add_query_logger(lambda record: sent.append(record.query))
        app = create_app(Settings(database_url="postgresql://unused",
                                  audit_signing_key=audit_signing_key), pool=pool)
        token = await new_token("admin")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://clubfund.test",
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            fund = await create_fund(http, **{"Idempotency-Key": "fund"})
            cash = await create_account(http, fund["id"], "111", "asset")
            capital = await create_account(http, fund["id"], "4111", "equity")
            sent.clear()
            posted = await http.post(f"/v1/funds/{fund['id']}/entries",
                                     json=entry_body(cash["id"], capital["id"], 5_000),
                                     headers={"Idempotency-Key": "posting"})
            assert posted.status_code == 201, posted.text
            posting_statements = list(sent)
            # The same connection next serves an atomic batch (savepoints in its transaction).
            batch = {"mode": "atomic", "items": [
                {"key": f"item-{n}", "op": "entry",
                 "body": entry_body(cash["id"], capital["id"], 100 + n)} for n in range(3)]}
            answered = await http.post(f"/v1/funds/{fund['id']}/batches", json=batch,
                                       headers={"Idempotency-Key": "batch"})
            assert answered.status_code == 200, answered.text
            listed = await http.get(f"/v1/funds/{fund['id']}/entries")
            assert len(listed.json()["items"]) == 4
    finally:
        await pool.close()
    assert posting_statements[0].startswith("BEGIN")
    last = posting_statements[-1]
    assert last.startswith("INSERT INTO idempotency_records") and last.endswith("COMMIT")
    assert not [q for q in sent if q.strip().upper().startswith("ROLLBACK")]
