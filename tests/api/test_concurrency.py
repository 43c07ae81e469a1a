"""32 concurrent clients post 100 entries each across the same 4 accounts; a third of
the entries are sent twice with the same Idempotency-Key (half of those retries race
the original, half come after it). Nothing is lost, nothing is doubled, no 5xx."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from tests.api.factories import create_account, create_fund, entry_body

CLIENTS = 32
ENTRIES_PER_CLIENT = 100


@pytest.mark.slow
async def test_concurrent_postings_with_retries_lose_and_double_nothing(
    client, client_for, new_token, superuser_connection
):
    fund = await create_fund(client)
    accounts = [
        (await create_account(client, fund["id"], code, kind))["id"]
        for code, kind in (("111", "asset"), ("112", "asset"), ("4111", "equity"),
                           ("4113", "equity"))
    ]
    url = f"/v1/funds/{fund['id']}/entries"
    statuses: Counter[int] = Counter()
    expected_net: Counter[str] = Counter()

    async def one_client(number: int) -> None:
        http = client_for(await new_token("admin"))
        rng = random.Random(number)
        for n in range(ENTRIES_PER_CLIENT):
            debit, credit = rng.sample(accounts, 2)
            amount = rng.randint(1, 1_000_000)
            expected_net[debit] += amount
            expected_net[credit] -= amount
            body = entry_body(debit, credit, amount, description=f"client {number} entry {n}")
            headers = {"Idempotency-Key": f"c{number}-e{n}"}
            if n % 3 == 0:
                if n % 2 == 0:  # the retry races the original
                    responses = await asyncio.gather(
                        http.post(url, json=body, headers=headers),
                        http.post(url, json=body, headers=headers),
                    )
                else:  # the retry comes after the original answered
                    responses = [await http.post(url, json=body, headers=headers)]
                    responses.append(await http.post(url, json=body, headers=headers))
                assert responses[0].json()["id"] == responses[1].json()["id"]
            else:
                responses = [await http.post(url, json=body, headers=headers)]
            for response in responses:
                statuses[response.status_code] += 1

    await asyncio.gather(*(one_client(n) for n in range(CLIENTS)))

    total = CLIENTS * ENTRIES_PER_CLIENT
    assert set(statuses) == {201}, statuses
    assert statuses[201] > total  # the retries were answered too
    db = superuser_connection
    assert await db.fetchval("SELECT count(*) FROM entries WHERE fund_id = $1", fund["id"]) == total
    sequences = await db.fetch(
        "SELECT sequence FROM entries WHERE fund_id = $1 ORDER BY sequence", fund["id"]
    )
    assert [r["sequence"] for r in sequences] == list(range(1, total + 1))
    assert await db.fetchval("SELECT count(*) FROM postings WHERE fund_id = $1",
                             fund["id"]) == 2 * total
    rows = await db.fetch(
        """
        SELECT b.account_id, b.debits, b.credits,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0) AS posted_debits,
               coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0) AS posted_credits
          FROM account_balances b
          LEFT JOIN postings p ON p.fund_id = b.fund_id AND p.account_id = b.account_id
         WHERE b.fund_id = $1
         GROUP BY b.account_id, b.debits, b.credits
        """,
        fund["id"],
    )
    for row in rows:
        assert (row["debits"], row["credits"]) == (row["posted_debits"], row["posted_credits"])
        assert row["debits"] - row["credits"] == expected_net[str(row["account_id"])]
    assert sum(r["debits"] for r in rows) == sum(r["credits"] for r in rows)
