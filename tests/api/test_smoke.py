from tests.api.factories import create_account, create_fund, entry_body


async def test_post_an_entry_and_read_balances(client):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset", allow_negative=False)
    capital = await create_account(client, fund["id"], "4111", "equity")
    response = await client.post(f"/v1/funds/{fund['id']}/entries",
                                 json=entry_body(cash["id"], capital["id"], 5_000_000))
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["sequence"] == 1
    assert [p["amount"] for p in entry["postings"]] == [5_000_000, 5_000_000]
    assert (await client.get(f"/v1/accounts/{cash['id']}")).json()["balance"] == 5_000_000
    assert (await client.get(f"/v1/accounts/{capital['id']}")).json()["balance"] == 5_000_000
    fetched = (await client.get(f"/v1/entries/{entry['id']}")).json()
    assert fetched == entry
