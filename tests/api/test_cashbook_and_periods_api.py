"""Seed grants, donations, contributions and expenses; gapless voucher numbers under
concurrency; closed periods refused by post_entry and by the database."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from tests.api.factories import accounts_by_code, post_club, post_commune
from tests.api.test_loans_api import assert_problem, snapshot


@pytest.fixture
async def fund(client) -> str:
    club = await post_club(client, await post_commune(client))
    return str(club["fund_id"])


async def test_a_club_gets_its_income_fund_with_the_default_chart(client, fund):
    accounts = await accounts_by_code(client, fund)
    assert {code: (a["type"], a["normal_side"], a["allow_negative"])
            for code, a in accounts.items()} == {
        "111": ("asset", "debit", False),
        "112": ("asset", "debit", False),
        "4111": ("equity", "credit", True),
        "4112": ("equity", "credit", True),
        "4113": ("equity", "credit", True),
        "4114": ("equity", "credit", True),
        "4118": ("equity", "credit", True),
        "515": ("income", "credit", True),
        "642": ("expense", "debit", True),
        "711": ("income", "credit", True),
        "811": ("expense", "debit", True),
    }
    read = (await client.get(f"/v1/funds/{fund}")).json()
    assert read["club_id"] is not None and read["currency"] == "VND"


@pytest.mark.parametrize(("path", "source", "debit", "credit", "voucher"), [
    ("seed-grants", "district_budget", "111", "4111", "PT-2026-0001"),
    ("seed-grants", "commune_budget", "111", "4112", "PT-2026-0001"),
    ("seed-grants", "province_budget", "111", "4112", "PT-2026-0001"),
    ("seed-grants", "donor", "111", "4113", "PT-2026-0001"),
    ("seed-grants", "members", "111", "4114", "PT-2026-0001"),
    ("donations", None, "111", "711", "PT-2026-0001"),
    ("contributions", None, "111", "4114", "PT-2026-0001"),
])
async def test_each_receipt_posts_one_entry_on_the_right_accounts(
    client, fund, path, source, debit, credit, voucher
):
    body = {"amount": 1_000_000, "effective_date": "2026-02-10",
            "decision_number": "12/QĐ-UBND", **({"source": source} if source else {})}
    response = await client.post(f"/v1/funds/{fund}/{path}", json=body)
    assert response.status_code == 201, response.text
    entry = response.json()
    assert entry["voucher_number"] == voucher
    accounts = await accounts_by_code(client, fund)
    by_id = {a["id"]: code for code, a in accounts.items()}
    assert [(by_id[p["account_id"]], p["side"], p["amount"]) for p in entry["postings"]] == [
        (debit, "debit", 1_000_000), (credit, "credit", 1_000_000)]
    assert entry["metadata"]["operation"] in {"seed_grant", "donation", "contribution"}


async def test_an_expense_is_a_payment_and_never_exceeds_the_cash(
    client, fund, superuser_connection
):
    await client.post(f"/v1/funds/{fund}/donations",
                      json={"amount": 700_000, "effective_date": "2026-02-01"})
    paid = await client.post(f"/v1/funds/{fund}/expenses",
                             json={"amount": 200_000, "effective_date": "2026-02-02"})
    assert paid.json()["voucher_number"] == "PC-2026-0001"
    before = await snapshot(superuser_connection)
    too_much = await client.post(f"/v1/funds/{fund}/expenses",
                                 json={"amount": 500_001, "effective_date": "2026-02-03"})
    assert_problem(too_much, 422, "insufficient_funds")
    from_bank = await client.post(f"/v1/funds/{fund}/expenses", json={
        "amount": 1, "effective_date": "2026-02-03", "payment_method": "bank"})
    assert_problem(from_bank, 422, "insufficient_funds")
    assert await snapshot(superuser_connection) == before


@pytest.mark.parametrize(("path", "body", "code"), [
    ("seed-grants", {"amount": 5}, "validation_error"),  # no source
    ("seed-grants", {"amount": 5, "source": "district_budget"}, "validation_error"),
    ("contributions", {"amount": 5, "source": "donor"}, "validation_error"),
    ("donations", {"amount": 5.0}, "validation_error"),
    ("donations", {"amount": 0}, "invalid_amount"),
    ("donations", {"amount": 5, "payment_method": "gold"}, "validation_error"),
])
async def test_bad_cash_operations_are_refused(client, fund, path, body, code):
    response = await client.post(f"/v1/funds/{fund}/{path}", json=body)
    assert_problem(response, 422, code)


async def test_voucher_numbers_stay_gapless_under_concurrent_requests(
    client, client_for, new_token, fund
):
    await client.post(f"/v1/funds/{fund}/donations",
                      json={"amount": 10_000_000, "effective_date": "2025-01-02"})
    clients = [client_for(await new_token("admin")) for _ in range(8)]

    async def post(n: int):
        http = clients[n % len(clients)]
        kind = "expenses" if n % 3 == 0 else "contributions"
        year = "2025" if n % 4 == 0 else "2026"
        return await http.post(f"/v1/funds/{fund}/{kind}", json={
            "amount": 1_000 + n, "effective_date": f"{year}-06-{1 + n % 28:02d}"})

    responses = await asyncio.gather(*(post(n) for n in range(60)))
    assert {r.status_code for r in responses} == {201}
    vouchers = [r.json()["voucher_number"] for r in responses]
    for prefix, year in (("PT", 2025), ("PC", 2025), ("PT", 2026), ("PC", 2026)):
        numbers = sorted(int(v.rsplit("-", 1)[1]) for v in vouchers
                         if v.startswith(f"{prefix}-{year}-"))
        first = 2 if (prefix, year) == ("PT", 2025) else 1  # the donation took PT-2025-0001
        assert numbers == list(range(first, first + len(numbers))), (prefix, year)
    assert len(set(vouchers)) == 60


async def test_closing_a_month_refuses_entries_dated_in_it_and_writes_nothing(
    client, fund, superuser_connection
):
    await client.post(f"/v1/funds/{fund}/donations",
                      json={"amount": 1_000_000, "effective_date": "2026-01-20"})
    closed = await client.post(f"/v1/funds/{fund}/periods/2026-01/close")
    assert closed.status_code == 201, closed.text
    assert closed.json()["period"] == "2026-01" and closed.json()["last_day"] == "2026-01-31"
    before = await snapshot(superuser_connection)
    for path, body in [
        ("donations", {"amount": 5, "effective_date": "2026-01-31"}),
        ("expenses", {"amount": 5, "effective_date": "2025-12-31"}),
    ]:
        response = await client.post(f"/v1/funds/{fund}/{path}", json=body,
                                     headers={"Idempotency-Key": f"closed-{path}"})
        assert_problem(response, 409, "period_closed")
    accounts = await accounts_by_code(client, fund)
    raw = await client.post(f"/v1/funds/{fund}/entries", json={
        "effective_date": "2026-01-15", "description": "late", "currency": "VND",
        "postings": [{"account_id": accounts["111"]["id"], "side": "debit", "amount": 1},
                     {"account_id": accounts["711"]["id"], "side": "credit", "amount": 1}]})
    assert_problem(raw, 409, "period_closed")
    assert await snapshot(superuser_connection) == before
    opened = await client.post(f"/v1/funds/{fund}/donations",
                               json={"amount": 5, "effective_date": "2026-02-01"})
    assert opened.status_code == 201


async def test_a_reversal_of_an_entry_in_a_closed_month_is_dated_in_an_open_one(
    client, client_for, new_token, fund
):
    wrong = (await client.post(f"/v1/funds/{fund}/donations",
                               json={"amount": 1_000_000, "effective_date": "2026-01-20"})).json()
    assert (await client.post(f"/v1/funds/{fund}/periods/2026-01/close")).status_code == 201
    in_closed = await client.post(f"/v1/entries/{wrong['id']}/reversal",
                                  json={"effective_date": "2026-01-25", "reason": "nhầm"})
    assert_problem(in_closed, 409, "period_closed")
    request = await client.post(f"/v1/entries/{wrong['id']}/reversal", json={"reason": "nhầm"})
    assert request.status_code == 202, request.text
    second = client_for(await new_token("admin"))
    approval = await second.post(f"/v1/corrections/{request.json()['id']}/approval")
    assert approval.status_code == 200, approval.text
    assert approval.json()["effective_date"] > "2026-01-31"
    assert (await accounts_by_code(client, fund))["711"]["balance"] == 0


async def test_months_close_in_order_and_only_once_they_have_ended(client, fund):
    url = f"/v1/funds/{fund}/periods"
    assert (await client.post(f"{url}/2025-11/close")).status_code == 201
    assert_problem(await client.post(f"{url}/2025-11/close"), 409, "period_already_closed")
    assert_problem(await client.post(f"{url}/2025-10/close"), 409, "period_already_closed")
    assert_problem(await client.post(f"{url}/2026-01/close"), 409, "period_out_of_order")
    assert (await client.post(f"{url}/2025-12/close")).status_code == 201
    assert_problem(await client.post(f"{url}/2099-12/close"), 409, "period_out_of_order")
    assert_problem(await client.post(f"{url}/2025-13/close"), 422, "invalid_period")
    listed = (await client.get(url)).json()
    assert [p["period"] for p in listed["items"]] == ["2025-11", "2025-12"]
    other = await post_club(client, "51101", name="CLB mới")
    assert_problem(await client.post(f"/v1/funds/{other['fund_id']}/periods/2099-01/close"),
                   409, "period_not_ended")


async def test_the_database_refuses_journal_rows_in_a_closed_month_on_any_path(
    client, fund, app_connection, owner_connection
):
    old = (await client.post(f"/v1/funds/{fund}/donations",
                             json={"amount": 1_000, "effective_date": "2026-01-20"})).json()
    assert (await client.post(f"/v1/funds/{fund}/periods/2026-01/close")).status_code == 201
    accounts = await accounts_by_code(client, fund)
    fund_id = uuid.UUID(fund)
    await app_connection.execute("SELECT set_config('clubfund.all_funds', 'on', false)")
    with pytest.raises(asyncpg.CheckViolationError, match="closed period"):
        await app_connection.execute(
            "INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at,"
            " description, currency, metadata, actor, hash)"
            " VALUES ($1, $2, 999, '2026-01-31', now(), 'x', 'VND', '{}', 'x', 'x')",
            fund_id, uuid.uuid4(),
        )
    with pytest.raises(asyncpg.CheckViolationError, match="closed period"):
        # a balanced pair of postings appended to the old entry, claiming a later date
        await app_connection.execute(
            "INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount,"
            " currency, effective_date, sequence) VALUES"
            " ($1, $2, 3, $3, 'debit', 1, 'VND', '2026-03-01', 1),"
            " ($1, $2, 4, $4, 'credit', 1, 'VND', '2026-03-01', 1)",
            fund_id, uuid.UUID(old["id"]), uuid.UUID(accounts["111"]["id"]),
            uuid.UUID(accounts["711"]["id"]),
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_connection.execute("DELETE FROM closed_periods")
    with pytest.raises(asyncpg.PostgresError, match="forbidden"):
        await owner_connection.execute("DELETE FROM closed_periods")
