"""Statements, trial balances and financial statements through the API, against a
worked example whose every figure is computed by hand below."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.factories import create_account, create_fund, xlsx_table

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def post(client, fund_id, when, lines, description="Bút toán"):
    body = {
        "effective_date": when, "description": description, "currency": "VND",
        "postings": [{"account_id": a, "side": s, "amount": n} for a, s, n in lines],
    }
    response = await client.post(f"/v1/funds/{fund_id}/entries", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
async def worked(client):
    """One club year. Posting order (= sequence):
    1. 2026-01-10 seed grant 50,000,000: Dr 111 / Cr 4111
    2. 2026-02-01 loan 5,000,000: Dr 131 / Cr 111
    3. 2026-03-01 repayment: Dr 111 466,667 / Cr 131 416,667 / Cr 515 50,000
    4. 2026-03-15 expense 120,000: Dr 642 / Cr 111
    5. 2026-02-15 second grant 2,000,000, backdated: Dr 111 / Cr 4111
    6. 2025-12-20 last year's interest 30,000, backdated: Dr 111 / Cr 515
    """
    fund = await create_fund(client)
    fid = fund["id"]
    accounts = {
        "111": await create_account(client, fid, "111", "asset", False, "Tiền mặt"),
        "131": await create_account(client, fid, "131", "asset", True, "Cho vay"),
        "4111": await create_account(client, fid, "4111", "equity", True, "Vốn NS huyện"),
        "515": await create_account(client, fid, "515", "income", True, "Thu lãi"),
        "642": await create_account(client, fid, "642", "expense", True, "Chi phí"),
    }
    ids = {code: a["id"] for code, a in accounts.items()}
    entries = [
        await post(client, fid, "2026-01-10",
                   [(ids["111"], "debit", 50_000_000), (ids["4111"], "credit", 50_000_000)]),
        await post(client, fid, "2026-02-01",
                   [(ids["131"], "debit", 5_000_000), (ids["111"], "credit", 5_000_000)]),
        await post(client, fid, "2026-03-01",
                   [(ids["111"], "debit", 466_667), (ids["131"], "credit", 416_667),
                    (ids["515"], "credit", 50_000)], "Trả nợ"),
        await post(client, fid, "2026-03-15",
                   [(ids["642"], "debit", 120_000), (ids["111"], "credit", 120_000)]),
        await post(client, fid, "2026-02-15",
                   [(ids["111"], "debit", 2_000_000), (ids["4111"], "credit", 2_000_000)]),
        await post(client, fid, "2025-12-20",
                   [(ids["111"], "debit", 30_000), (ids["515"], "credit", 30_000)]),
    ]
    return {"fund": fid, "ids": ids, "entries": entries}


CASH_STATEMENT_LINES = [
    # date, sequence, debit, credit, running balance
    ("2026-02-01", 2, 0, 5_000_000, 45_030_000),
    ("2026-02-15", 5, 2_000_000, 0, 47_030_000),
    ("2026-03-01", 3, 466_667, 0, 47_496_667),
    ("2026-03-15", 4, 0, 120_000, 47_376_667),
]


async def test_a_statement_matches_the_hand_computed_one(client, worked):
    url = f"/v1/accounts/{worked['ids']['111']}/statement?from=2026-02-01&to=2026-03-31"
    response = await client.get(url)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["opening_balance"] == 50_030_000
    assert body["closing_balance"] == 47_376_667
    assert (body["total_debit"], body["total_credit"]) == (2_466_667, 5_120_000)
    assert [(i["effective_date"], i["sequence"], i["debit"], i["credit"], i["balance"])
            for i in body["items"]] == CASH_STATEMENT_LINES
    assert body["items"][2]["description"] == "Trả nợ"
    assert body["items"][2]["entry_id"] == worked["entries"][2]["id"]
    assert body["next_cursor"] is None
    assert body["account"]["code"] == "111" and body["from"] == "2026-02-01"
    assert body["columns"]["balance"] == "Balance"


async def test_the_running_balance_continues_across_pages(client, worked):
    url = f"/v1/accounts/{worked['ids']['111']}/statement?from=2026-02-01&to=2026-03-31"
    seen = []
    cursor = None
    pages = 0
    while True:
        page = (await client.get(url + "&limit=1" + (f"&cursor={cursor}" if cursor else ""))
                ).json()
        pages += 1
        assert page["opening_balance"] == 50_030_000
        assert page["closing_balance"] == 47_376_667
        seen += [(i["effective_date"], i["sequence"], i["debit"], i["credit"], i["balance"])
                 for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert seen == CASH_STATEMENT_LINES


async def test_a_statement_before_any_posting_and_of_an_empty_range(client, worked):
    url = f"/v1/accounts/{worked['ids']['131']}/statement"
    body = (await client.get(url + "?from=2025-01-01&to=2026-01-31")).json()
    assert (body["opening_balance"], body["closing_balance"], body["items"]) == (0, 0, [])
    body = (await client.get(url + "?from=2026-03-02&to=2026-03-31")).json()
    assert (body["opening_balance"], body["closing_balance"], body["items"]) == (
        4_583_333, 4_583_333, [])
    body = (await client.get(url + "?from=2026-03-01&to=2026-03-01")).json()
    assert [(i["credit"], i["balance"]) for i in body["items"]] == [(416_667, 4_583_333)]
    assert body["opening_balance"] == 5_000_000


async def test_statement_bad_requests(client, worked):
    url = f"/v1/accounts/{worked['ids']['111']}/statement"
    response = await client.get(url + "?from=2026-03-01&to=2026-02-01")
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_report_range"
    response = await client.get(url + "?from=2026-02-01&to=2026-03-31&cursor=bm90IGpzb24")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")
    first = (await client.get(url + "?from=2026-02-01&to=2026-03-31&limit=1")).json()
    response = await client.get(url + f"?from=2026-03-01&to=2026-03-31"
                                f"&cursor={first['next_cursor']}")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")
    response = await client.get(
        "/v1/accounts/00000000-0000-0000-0000-000000000001/statement")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = await client.get(url + "?from=0001-01-01")
    assert response.status_code == 422


async def test_a_trial_balance_matches_the_hand_computed_one(client, worked):
    response = await client.get(f"/v1/funds/{worked['fund']}/trial-balance?as_of=2026-03-31")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["code"], r["debits"], r["credits"], r["debit_balance"], r["credit_balance"],
             r["balance"]) for r in body["items"]] == [
        ("111", 52_496_667, 5_120_000, 47_376_667, 0, 47_376_667),
        ("131", 5_000_000, 416_667, 4_583_333, 0, 4_583_333),
        ("4111", 0, 52_000_000, 0, 52_000_000, 52_000_000),
        ("515", 0, 80_000, 0, 80_000, 80_000),
        ("642", 120_000, 0, 120_000, 0, 120_000),
    ]
    assert body["totals"] == [{
        "label": "Total", "currency": "VND", "debits": 57_616_667, "credits": 57_616_667,
        "debit_balance": 52_080_000, "credit_balance": 52_080_000, "balanced": True,
    }]
    assert body["balanced"] is True
    # As of a day between entries: the backdated grant counts, March does not.
    body = (await client.get(f"/v1/funds/{worked['fund']}/trial-balance?as_of=2026-02-20")
            ).json()
    assert [(r["code"], r["balance"]) for r in body["items"]] == [
        ("111", 47_030_000), ("131", 5_000_000), ("4111", 52_000_000), ("515", 30_000),
        ("642", 0),
    ]
    assert body["totals"][0]["debit_balance"] == body["totals"][0]["credit_balance"] == 52_030_000


async def test_a_balance_sheet_balances_with_the_hand_computed_figures(client, worked):
    response = await client.get(f"/v1/funds/{worked['fund']}/balance-sheet?as_of=2026-03-31")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(line["code"], line["amount"]) for line in body["assets"]["lines"]] == [
        ("111", 47_376_667), ("131", 4_583_333)]
    assert body["assets"]["total"] == body["total_assets"] == 51_960_000
    assert body["liabilities"] == {"label": "Liabilities", "lines": [], "total": 0}
    assert body["equity"]["total"] == 52_000_000
    assert body["prior_years_surplus"] == 30_000
    assert body["current_year_surplus"] == 50_000 - 120_000
    assert body["total_liabilities_and_equity"] == 51_960_000
    assert body["balanced"] is True and body["currency"] == "VND"
    last_year = (await client.get(
        f"/v1/funds/{worked['fund']}/balance-sheet?as_of=2025-12-31")).json()
    assert (last_year["total_assets"], last_year["prior_years_surplus"],
            last_year["current_year_surplus"]) == (30_000, 0, 30_000)


async def test_an_income_statement_matches_the_hand_computed_one(client, worked):
    url = f"/v1/funds/{worked['fund']}/income-statement"
    body = (await client.get(url + "?from=2026-01-01&to=2026-03-31")).json()
    assert [(line["code"], line["amount"]) for line in body["income"]["lines"]] == [
        ("515", 50_000)]
    assert [(line["code"], line["amount"]) for line in body["expenses"]["lines"]] == [
        ("642", 120_000)]
    assert body["surplus"] == -70_000 and body["from"] == "2026-01-01"
    body = (await client.get(url + "?from=2025-01-01&to=2025-12-31")).json()
    assert (body["income"]["total"], body["expenses"]["total"], body["surplus"]) == (
        30_000, 0, 30_000)
    body = (await client.get(url + "?from=2026-01-01&to=2026-02-28")).json()
    assert body["surplus"] == 0
    response = await client.get(url + "?from=2026-02-01&to=2026-01-01")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_report_range")
    missing = "/v1/funds/00000000-0000-0000-0000-000000000001"
    for report in ("trial-balance", "balance-sheet", "income-statement"):
        response = await client.get(f"{missing}/{report}")
        assert (response.status_code, response.json()["code"]) == (404, "not_found")


def read_csv(response) -> list[list[str]]:
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


read_xlsx = xlsx_table
EN = {"Accept-Language": "en"}


async def test_statement_exports_hold_the_same_numbers_as_the_json(client, worked):
    url = f"/v1/accounts/{worked['ids']['111']}/statement?from=2026-02-01&to=2026-03-31"
    body = (await client.get(url)).json()
    rows = read_csv(await client.get(url, headers={"Accept": "text/csv", **EN}))
    assert rows[0] == ["Date", "Entry", "Sequence", "Voucher", "Description", "Debit",
                       "Credit", "Balance"]
    assert rows[1][4:] == ["Opening balance", "", "", str(body["opening_balance"])]
    assert [[r[0], r[1], int(r[2]), int(r[5]), int(r[6]), int(r[7])] for r in rows[2:-2]] == [
        [i["effective_date"], i["entry_id"], i["sequence"], i["debit"], i["credit"],
         i["balance"]] for i in body["items"]]
    assert rows[-2][4:] == ["Totals for the period", "2466667", "5120000", ""]
    assert rows[-1][4:] == ["Closing balance", "", "", "47376667"]

    sheet = read_xlsx(await client.get(url, headers={"Accept": XLSX, **EN}))
    assert sheet[0][0] == "Date"
    assert sheet[1][7] == body["opening_balance"]
    assert [[r[0].date().isoformat(), r[1], r[2], r[5], r[6], r[7]] for r in sheet[2:-2]] == [
        [i["effective_date"], i["entry_id"], i["sequence"], i["debit"], i["credit"],
         i["balance"]] for i in body["items"]]
    assert sheet[-1][7] == body["closing_balance"] == 47_376_667
    linked = await client.get(url + "&format=xlsx", headers=EN)
    assert read_xlsx(linked) == sheet
    assert 'filename="so-quy_quy-thu_2026-02-01_2026-03-31.xlsx"' in (
        linked.headers["content-disposition"])


async def test_exports_speak_vietnamese_when_asked(client, worked):
    url = f"/v1/accounts/{worked['ids']['111']}/statement?from=2026-02-01&to=2026-03-31"
    vi = {"Accept-Language": "vi-VN,vi;q=0.9,en;q=0.5"}
    rows = read_csv(await client.get(url, headers={"Accept": "text/csv", **vi}))
    assert rows[0] == ["Ngày", "Bút toán", "Số thứ tự", "Số chứng từ", "Diễn giải", "Nợ", "Có",
                       "Số dư"]
    assert rows[1][4] == "Số dư đầu kỳ" and rows[-1][4] == "Số dư cuối kỳ"
    body = (await client.get(url, headers=vi)).json()
    assert body["columns"]["description"] == "Diễn giải" and "opening_balance" in body
    english = await client.get(url, headers={"Accept": "text/csv",
                                             "Accept-Language": "en;q=1, vi;q=0.8"})
    assert read_csv(english)[0][0] == "Date"
    tb = (await client.get(f"/v1/funds/{worked['fund']}/trial-balance?as_of=2026-03-31",
                           headers=vi)).json()
    assert [r["label"] for r in tb["items"]] == ["Tài sản", "Tài sản", "Vốn chủ sở hữu",
                                                 "Thu nhập", "Chi phí"]
    assert tb["totals"][0]["label"] == "Tổng cộng"
    sheet = (await client.get(f"/v1/funds/{worked['fund']}/balance-sheet?as_of=2026-03-31",
                              headers=vi)).json()
    assert sheet["assets"]["label"] == "Tài sản"


async def test_trial_balance_and_financial_statement_exports(client, worked):
    fund = worked["fund"]
    url = f"/v1/funds/{fund}/trial-balance?as_of=2026-03-31"
    body = (await client.get(url)).json()
    rows = read_csv(await client.get(url, headers={"Accept": "text/csv", **EN}))
    assert rows[0][:2] == ["Account code", "Account"]
    assert [[r[0], int(r[4]), int(r[5]), int(r[6]), int(r[7])] for r in rows[1:-1]] == [
        [i["code"], i["debits"], i["credits"], i["debit_balance"], i["credit_balance"]]
        for i in body["items"]]
    assert rows[-1][4:8] == ["57616667", "57616667", "52080000", "52080000"]
    sheet = read_xlsx(await client.get(url, headers={"Accept": XLSX}))
    assert [r[6] for r in sheet[1:]] == [*(i["debit_balance"] for i in body["items"]),
                                          52_080_000]

    url = f"/v1/funds/{fund}/balance-sheet?as_of=2026-03-31"
    rows = read_csv(await client.get(url, headers={"Accept": "text/csv", **EN}))
    assert rows[0] == ["Section", "Account code", "Account", "Amount"]
    assert ["Assets", "", "Total assets", "51960000"] in rows
    assert rows[-1] == ["", "", "Total liabilities, equity and surplus", "51960000"]
    sheet = read_xlsx(await client.get(url, headers={"Accept": XLSX}))
    assert sheet[-1][3] == 51_960_000

    url = f"/v1/funds/{fund}/income-statement?from=2026-01-01&to=2026-03-31"
    rows = read_csv(await client.get(url, headers={"Accept": "text/csv", **EN}))
    assert rows[1:] == [
        ["Income", "515", "Thu lãi", "50000"], ["Income", "", "Total income", "50000"],
        ["Expenses", "642", "Chi phí", "120000"], ["Expenses", "", "Total expenses", "120000"],
        ["", "", "Surplus (income − expenses)", "-70000"],
    ]


async def test_an_export_too_large_is_refused(client, worked, monkeypatch):
    from service.reports import service

    monkeypatch.setattr(service, "EXPORT_LINES_MAX", 3)
    url = f"/v1/accounts/{worked['ids']['111']}/statement?from=2026-02-01&to=2026-03-31"
    response = await client.get(url, headers={"Accept": "text/csv"})
    assert (response.status_code, response.json()["code"]) == (422, "export_too_large")
    response = await client.get(url.replace("2026-02-01", "2026-02-02"),
                                headers={"Accept": "text/csv"})
    assert response.status_code == 200


DAY_ZERO = date(2026, 1, 1)
journal_strategy = st.lists(
    st.tuples(st.integers(0, 30), st.integers(0, 2), st.integers(0, 2),
              st.integers(1, 10**9)).filter(lambda e: e[1] != e[2]),
    min_size=0, max_size=8,
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(journal=journal_strategy, first=st.integers(-2, 32), length=st.integers(0, 34),
       limit=st.integers(1, 4))
async def test_opening_plus_lines_is_closing_for_any_range(client, journal, first, length,
                                                           limit):
    fund = (await create_fund(client))["id"]
    accounts = [(await create_account(client, fund, code, kind))["id"]
                for code, kind in (("111", "asset"), ("4111", "equity"), ("642", "expense"))]
    for day, debit, credit, amount in journal:
        await post(client, fund, (DAY_ZERO + timedelta(days=day)).isoformat(),
                   [(accounts[debit], "debit", amount), (accounts[credit], "credit", amount)])
    start = DAY_ZERO + timedelta(days=first)
    end = start + timedelta(days=length)
    url = f"/v1/accounts/{accounts[0]}/statement?from={start}&to={end}&limit={limit}"
    lines, cursor, opening, closing = [], None, None, None
    while True:
        page = (await client.get(url + (f"&cursor={cursor}" if cursor else ""))).json()
        opening, closing = page["opening_balance"], page["closing_balance"]
        lines += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    balance = opening
    for line in lines:
        balance += line["debit"] - line["credit"]
        assert line["balance"] == balance
    assert balance == closing
    # The lines are exactly the cash postings in the range, in date then posting order.
    expected = sorted(
        (DAY_ZERO + timedelta(days=day), sequence)
        for sequence, (day, debit, credit, _) in enumerate(journal, start=1)
        if 0 in (debit, credit) and start <= DAY_ZERO + timedelta(days=day) <= end
    )
    assert [(date.fromisoformat(i["effective_date"]), i["sequence"]) for i in lines] == expected
    before = sum((a if d == 0 else -a) for day, d, c, a in journal
                 if 0 in (d, c) and DAY_ZERO + timedelta(days=day) < start)
    assert opening == before
