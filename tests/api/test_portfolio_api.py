"""The portfolio report against a worked example of three clubs in two communes,
every figure computed by hand below."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from tests.api.factories import (
    accounts_by_code,
    create_account,
    create_area,
    create_club,
    post_club,
    post_commune,
    post_member,
    xlsx_table,
)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FIGURES = ("clubs", "capital_district_budget", "capital_other_budgets", "capital_donors",
           "capital_members", "capital_total", "cash", "loans_outstanding", "interest_earned",
           "write_offs")


async def post(client, fund_id, when, lines):
    body = {
        "effective_date": when, "description": "Bút toán", "currency": "VND",
        "postings": [{"account_id": a, "side": s, "amount": n} for a, s, n in lines],
    }
    response = await client.post(f"/v1/funds/{fund_id}/entries", json=body)
    assert response.status_code == 201, response.text


async def ok(http, path, body, status=201):
    response = await http.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


async def lend(treasurer, chair, fund, member, principal, installments, rate, first_due, on):
    """A loan applied for, approved and disbursed on `on` (flat interest, monthly)."""
    loan = await ok(treasurer, f"/v1/funds/{fund}/loans", {
        "member_id": member["id"], "principal": principal, "installments": installments,
        "frequency": "monthly", "interest_method": "flat", "rate_per_period": rate,
        "first_due_date": first_due, "applied_on": on})
    await ok(chair, f"/v1/loans/{loan['id']}/approval", {"effective_date": on}, 200)
    await ok(treasurer, f"/v1/loans/{loan['id']}/disbursement", {"effective_date": on}, 200)
    return loan["id"]


async def chart(client, fund_id, codes):
    kinds = {"111": "asset", "112": "asset", "131": "asset", "515": "income",
             "811": "expense"}
    return {code: (await create_account(client, fund_id, code, kinds.get(code, "equity")))["id"]
            for code in codes}


@pytest.fixture
async def province(client, owner_connection):
    """P ⊃ D ⊃ {C1 ⊃ {club A, club B}, C2 ⊃ {club C}}; C2 moves to district D2 on
    2026-03-15.

    Club A: 2025-12-15 interest 40,000 (Dr 111 / Cr 515, before the period);
            2026-01-05 district grant 30,000,000 (Dr 111 / Cr 4111);
            2026-01-20 donor 5,000,000 (Dr 112 / Cr 4113);
            2026-02-01 loan 10,000,000 (Dr 131 / Cr 111);
            2026-03-01 repayment 1,100,000 (Dr 111 / Cr 131 1,000,000, Cr 515 100,000);
            2026-03-10 write-off 500,000 (Dr 811 / Cr 131).
    Club B: 2026-02-10 members 2,000,000 (Dr 111 / Cr 4114);
            2026-02-20 loan 1,500,000 (Dr 131 / Cr 111);
            2026-04-10 members 999 (after the report date).
    Club C: 2026-01-02 commune budget 7,000,000 (Dr 111 / Cr 4112).
    """
    for code, level, parent in (("P", "province", None), ("P-D", "district", "P"),
                                ("P-D2", "district", "P"), ("P-D-C1", "commune", "P-D"),
                                ("P-D-C2", "commune", "P-D")):
        await create_area(owner_connection, code, level, parent, valid_from="2020-01-01")
    await owner_connection.execute(
        "UPDATE area_parents SET valid_to = '2026-03-15' WHERE code = 'P-D-C2'")
    await owner_connection.execute(
        "INSERT INTO area_parents (code, valid_from, parent_code)"
        " VALUES ('P-D-C2', '2026-03-15', 'P-D2')")
    a = await create_club(owner_connection, "P-D-C1", "CLB A")
    b = await create_club(owner_connection, "P-D-C1", "CLB B")
    c = await create_club(owner_connection, "P-D-C2", "CLB C")
    ia = await chart(client, a["fund_id"], ["111", "112", "131", "4111", "4113", "515", "811"])
    await post(client, a["fund_id"], "2025-12-15", [(ia["111"], "debit", 40_000),
                                                    (ia["515"], "credit", 40_000)])
    await post(client, a["fund_id"], "2026-01-05", [(ia["111"], "debit", 30_000_000),
                                                    (ia["4111"], "credit", 30_000_000)])
    await post(client, a["fund_id"], "2026-01-20", [(ia["112"], "debit", 5_000_000),
                                                    (ia["4113"], "credit", 5_000_000)])
    await post(client, a["fund_id"], "2026-02-01", [(ia["131"], "debit", 10_000_000),
                                                    (ia["111"], "credit", 10_000_000)])
    await post(client, a["fund_id"], "2026-03-01", [(ia["111"], "debit", 1_100_000),
                                                    (ia["131"], "credit", 1_000_000),
                                                    (ia["515"], "credit", 100_000)])
    await post(client, a["fund_id"], "2026-03-10", [(ia["811"], "debit", 500_000),
                                                    (ia["131"], "credit", 500_000)])
    ib = await chart(client, b["fund_id"], ["111", "131", "4114"])
    await post(client, b["fund_id"], "2026-02-10", [(ib["111"], "debit", 2_000_000),
                                                    (ib["4114"], "credit", 2_000_000)])
    await post(client, b["fund_id"], "2026-02-20", [(ib["131"], "debit", 1_500_000),
                                                    (ib["111"], "credit", 1_500_000)])
    await post(client, b["fund_id"], "2026-04-10", [(ib["111"], "debit", 999),
                                                    (ib["4114"], "credit", 999)])
    ic = await chart(client, c["fund_id"], ["111", "4112"])
    await post(client, c["fund_id"], "2026-01-02", [(ic["111"], "debit", 7_000_000),
                                                    (ic["4112"], "credit", 7_000_000)])
    return {"a": a, "b": b, "c": c}


def figures(row):
    return tuple(row[f] for f in FIGURES)


CLUB_A = (1, 30_000_000, 0, 5_000_000, 0, 35_000_000, 26_140_000, 8_500_000, 100_000, 500_000)
CLUB_B = (1, 0, 0, 0, 2_000_000, 2_000_000, 500_000, 1_500_000, 0, 0)
CLUB_C = (1, 0, 7_000_000, 0, 0, 7_000_000, 7_000_000, 0, 0, 0)
COMMUNE_1 = (2, 30_000_000, 0, 5_000_000, 2_000_000, 37_000_000, 26_640_000, 10_000_000,
             100_000, 500_000)
ALL = (3, 30_000_000, 7_000_000, 5_000_000, 2_000_000, 44_000_000, 33_640_000, 10_000_000,
       100_000, 500_000)


async def test_the_portfolio_matches_the_hand_computed_figures(client, province):
    response = await client.get("/v1/reports/portfolio?area=P&as_of=2026-03-31")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["from"] == "2026-01-01" and body["area"] == "P"
    rows = [(r["level"], r["area_code"], r["name"], figures(r)) for r in body["items"]]
    assert rows == [
        ("province", "P", "Area P", ALL),
        ("district", "P-D", "Area P-D", COMMUNE_1),
        ("commune", "P-D-C1", "Area P-D-C1", COMMUNE_1),
        ("club", "P-D-C1", "CLB A", CLUB_A),
        ("club", "P-D-C1", "CLB B", CLUB_B),
        ("district", "P-D2", "Area P-D2", CLUB_C),
        ("commune", "P-D-C2", "Area P-D-C2", CLUB_C),
        ("club", "P-D-C2", "CLB C", CLUB_C),
    ]
    club_a = body["items"][3]
    assert club_a["club_id"] == province["a"]["club_id"]
    # Postings straight to 131, no loan in the register: no borrower, nothing due.
    assert club_a["active_borrowers"] == 0 and club_a["par30"] == "0.0000"
    assert club_a["repayment_rate"] is None and body["items"][7]["par30"] is None


async def test_the_area_tree_of_the_report_date_is_used(client, province):
    body = (await client.get("/v1/reports/portfolio?area=P-D&as_of=2026-03-01")).json()
    assert [(r["area_code"], r["name"], figures(r)[0]) for r in body["items"]] == [
        ("P-D", "Area P-D", 3), ("P-D-C1", "Area P-D-C1", 2), ("P-D-C1", "CLB A", 1),
        ("P-D-C1", "CLB B", 1), ("P-D-C2", "Area P-D-C2", 1), ("P-D-C2", "CLB C", 1),
    ]
    # On 2026-03-01 club A had no write-off yet and its loan was 9,000,000 after the
    # repayment; club B: 500,000 cash, 1,500,000 lent.
    district = body["items"][0]
    assert (district["loans_outstanding"], district["write_offs"], district["cash"]) == (
        10_500_000, 0, 21_140_000 + 5_000_000 + 500_000 + 7_000_000)
    after = (await client.get("/v1/reports/portfolio?area=P-D&as_of=2026-03-31")).json()
    assert [r["area_code"] for r in after["items"]] == ["P-D", "P-D-C1", "P-D-C1", "P-D-C1"]


async def test_flows_follow_the_period_and_every_province_without_an_area(client, province):
    body = (await client.get(
        "/v1/reports/portfolio?area=P&as_of=2026-03-31&from=2025-12-01")).json()
    assert body["items"][0]["interest_earned"] == 140_000
    body = (await client.get("/v1/reports/portfolio?as_of=2026-03-31")).json()
    assert body["area"] is None
    assert figures(body["items"][0]) == ALL and body["items"][0]["area_code"] == "P"
    response = await client.get("/v1/reports/portfolio?area=NOPE")
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    response = await client.get("/v1/reports/portfolio?area=P&as_of=2026-01-01&from=2026-02-01")
    assert (response.status_code, response.json()["code"]) == (422, "invalid_report_range")


async def test_a_scoped_auditor_sees_only_its_clubs_in_the_roll_up(
    client_for, new_token, province
):
    token = await new_token("auditor", scope=f"club:{province['a']['club_id']}")
    body = (await client_for(token).get("/v1/reports/portfolio?area=P&as_of=2026-03-31")).json()
    assert [(r["level"], r["name"], figures(r)) for r in body["items"]] == [
        ("province", "Area P", CLUB_A), ("district", "Area P-D", CLUB_A),
        ("commune", "Area P-D-C1", CLUB_A), ("club", "CLB A", CLUB_A),
    ]


async def test_portfolio_exports_hold_the_json_figures_in_either_language(client, province):
    url = "/v1/reports/portfolio?area=P&as_of=2026-03-31"
    body = (await client.get(url)).json()
    response = await client.get(url, headers={"Accept": "text/csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:4] == ["Level", "Area code", "Area", "Clubs"]
    index = {name: header.index(body["columns"][name]) for name in FIGURES}
    assert [tuple(int(row[index[f]]) for f in FIGURES) for row in rows[1:]] == [
        figures(r) for r in body["items"]]
    assert rows[4][:3] == ["Club", "P-D-C1", "CLB A"]
    assert rows[4][header.index("PAR30")] == "0.0000"
    assert rows[-1][header.index("Repayment rate")] == ""

    response = await client.get(url, headers={"Accept": XLSX, "Accept-Language": "vi"})
    sheet = xlsx_table(response)
    assert sheet[0][:4] == ["Cấp", "Mã địa bàn", "Địa bàn", "Số câu lạc bộ"]
    assert [r[0] for r in sheet[1:]] == ["Tỉnh", "Huyện", "Xã", "Câu lạc bộ", "Câu lạc bộ",
                                         "Huyện", "Xã", "Câu lạc bộ"]
    vi = (await client.get(url, headers={"Accept-Language": "vi"})).json()
    assert vi["columns"]["cash"] == "Tiền mặt và tiền gửi"
    index = {name: sheet[0].index(vi["columns"][name]) for name in FIGURES}
    assert [tuple(r[index[f]] for f in FIGURES) for r in sheet[1:]] == [
        figures(r) for r in body["items"]]
    assert date.fromisoformat(body["as_of"]) == date(2026, 3, 31)


async def test_loan_register_figures_of_a_worked_club(client, client_for, new_token):
    """One club, four loans (flat interest), the period from 2026-01-01:
    loan 1: member A (woman, born 1955), 3,000,000 in 3 × 1,030,000 due 02-05, 03-05,
            04-05; paid 1,030,000 on 02-05;
    loan 2: member B (man, 1970), 2,000,000 at 0 % in 2 × 1,000,000 due 02-10, 03-10;
            paid off on 02-10 (the second installment never falls due);
    loan 3: member C (woman, 1980), 1,200,000 at 0 % in 3 × 400,000 due 03-01, 04-01,
            05-01; nothing paid;
    loan 4: member D (man, 1950), 600,000 at 0 % in 3 × 200,000 due 02-15, 03-15,
            04-15; nothing paid; written off on 03-20 (nothing falls due after that).

    As of 04-10 — fallen due: 3,090,000 + 1,000,000 + 800,000 + 400,000 = 5,290,000;
    repaid of it: 1,030,000 + 1,000,000 = 2,030,000, rate 0.3837. Active: A and C (both
    women, A aged 71). Loan 1's second installment is 36 days late, loan 3's first 40:
    their 2,000,000 + 1,200,000 are at risk, PAR30 1.
    As of 03-20 — due: 2,060,000 + 1,000,000 + 400,000 + 400,000 = 3,860,000, repaid
    2,030,000, rate 0.5259; loan 1 is 15 and loan 3 19 days late: nothing at risk.
    From 03-01 to 04-10 — due: 2,060,000 (loan 1) + 0 (loan 2 closed before) + 800,000
    + 200,000 (loan 4's 03-15) = 3,060,000; loan 1's payment covered only what fell due
    before the period: nothing repaid of it, rate 0.
    """
    commune = await post_commune(client, "61")
    club = await post_club(client, commune, "CLB Tịnh Hà")
    fund = club["fund_id"]
    treasurer = client_for(await new_token("treasurer", scope=f"club:{club['id']}"))
    chair = client_for(await new_token("chair", scope=f"club:{club['id']}"))
    a, b, c, d = [
        await post_member(treasurer, club["id"], name, gender, year) for name, gender, year
        in (("A", "female", 1955), ("B", "male", 1970), ("C", "female", 1980),
            ("D", "male", 1950))]

    await ok(treasurer, f"/v1/funds/{fund}/seed-grants", {
        "amount": 20_000_000, "source": "district_budget", "decision_number": "1/QĐ",
        "effective_date": "2026-01-02"})

    lending = (treasurer, chair, fund)
    loan_1 = await lend(*lending, a, 3_000_000, 3, "0.01", "2026-02-05", "2026-01-05")
    loan_2 = await lend(*lending, b, 2_000_000, 2, "0", "2026-02-10", "2026-01-10")
    await lend(*lending, c, 1_200_000, 3, "0", "2026-03-01", "2026-02-01")
    loan_4 = await lend(*lending, d, 600_000, 3, "0", "2026-02-15", "2026-01-15")
    await ok(treasurer, f"/v1/loans/{loan_1}/repayments",
             {"amount": 1_030_000, "effective_date": "2026-02-05"})
    await ok(treasurer, f"/v1/loans/{loan_2}/repayments",
             {"amount": 2_000_000, "effective_date": "2026-02-10"})
    await ok(treasurer, f"/v1/loans/{loan_4}/write-off",
             {"reason": "chuyển đi nơi khác", "effective_date": "2026-03-20"}, 200)
    await ok(chair, f"/v1/loans/{loan_4}/write-off/approval", {"effective_date": "2026-03-20"},
             200)

    async def club_row(query):
        body = (await client.get(f"/v1/reports/portfolio?area=61&{query}")).json()
        return body, next(r for r in body["items"] if r["level"] == "club")

    keys = ("active_borrowers", "active_borrowers_women", "active_borrowers_aged_60_plus",
            "amount_fallen_due", "amount_repaid_of_due", "repayment_rate", "loans_outstanding",
            "outstanding_at_risk_30", "par30", "interest_earned", "write_offs", "cash")
    body, row = await club_row("as_of=2026-04-10")
    assert {k: row[k] for k in keys} == {
        "active_borrowers": 2, "active_borrowers_women": 2,
        "active_borrowers_aged_60_plus": 1, "amount_fallen_due": 5_290_000,
        "amount_repaid_of_due": 2_030_000, "repayment_rate": "0.3837",
        "loans_outstanding": 3_200_000, "outstanding_at_risk_30": 3_200_000,
        "par30": "1.0000", "interest_earned": 30_000, "write_offs": 600_000,
        "cash": 20_000_000 - 3_000_000 - 2_000_000 - 1_200_000 - 600_000 + 1_030_000
        + 2_000_000,
    }
    assert body["items"][0]["level"] == "province"
    assert {k: body["items"][0][k] for k in keys} == {k: row[k] for k in keys}
    _, row = await club_row("as_of=2026-03-20")
    assert {k: row[k] for k in keys[:9]} == {
        "active_borrowers": 2, "active_borrowers_women": 2,
        "active_borrowers_aged_60_plus": 1, "amount_fallen_due": 3_860_000,
        "amount_repaid_of_due": 2_030_000, "repayment_rate": "0.5259",
        "loans_outstanding": 3_200_000, "outstanding_at_risk_30": 0, "par30": "0.0000",
    }
    _, row = await club_row("as_of=2026-03-19")
    # The day before the write-off D still owes 600,000 and is an active borrower, aged 76.
    assert (row["active_borrowers"], row["active_borrowers_aged_60_plus"],
            row["loans_outstanding"]) == (3, 2, 3_800_000)
    _, row = await club_row("as_of=2026-04-10&from=2026-03-01")
    assert (row["amount_fallen_due"], row["amount_repaid_of_due"], row["repayment_rate"]) == (
        3_060_000, 0, "0.0000")


async def test_a_repayment_dated_after_the_report_date_is_not_counted(
    client, client_for, new_token
):
    """A loan of 1,000,000 at 0 % in 2 × 500,000 due 02-10 and 03-10, disbursed 01-10;
    300,000 repaid on 02-10, the remaining 700,000 on 04-20.

    As of 02-09 nothing is paid; as of 02-15 and as of 04-15 only the first repayment
    counts (what the loan's row keeps of what was paid by each payment date). As of
    04-15: fallen due 1,000,000, repaid of it 300,000 (rate 0.3000); 700,000
    outstanding, the first installment uncovered and 64 days late, so all of it at
    risk; the borrower is active. As of 04-20 the loan is paid off: everything fallen
    due repaid, nothing outstanding or at risk. (The loan keeps what was paid in all; as
    of a day before its last payment that must not be used.)"""
    commune = await post_commune(client, "62")
    club = await post_club(client, commune, "CLB Nghĩa Hành")
    fund = club["fund_id"]
    treasurer = client_for(await new_token("treasurer", scope=f"club:{club['id']}"))
    chair = client_for(await new_token("chair", scope=f"club:{club['id']}"))
    member = await post_member(treasurer, club["id"], "E", "female", 1958)

    await ok(treasurer, f"/v1/funds/{fund}/seed-grants", {
        "amount": 5_000_000, "source": "district_budget", "decision_number": "2/QĐ",
        "effective_date": "2026-01-02"})
    loan = await lend(treasurer, chair, fund, member, 1_000_000, 2, "0", "2026-02-10",
                      "2026-01-10")
    for amount, day in ((300_000, "2026-02-10"), (700_000, "2026-04-20")):
        await ok(treasurer, f"/v1/loans/{loan}/repayments",
                 {"amount": amount, "effective_date": day})

    keys = ("active_borrowers", "amount_fallen_due", "amount_repaid_of_due",
            "repayment_rate", "loans_outstanding", "outstanding_at_risk_30", "par30")

    async def club_row(as_of):
        body = (await client.get(f"/v1/reports/portfolio?area=62&as_of={as_of}")).json()
        row = next(r for r in body["items"] if r["level"] == "club")
        return {k: row[k] for k in keys}

    # As of 02-09, before any payment and anything due: all of it outstanding.
    assert await club_row("2026-02-09") == {
        "active_borrowers": 1, "amount_fallen_due": 0, "amount_repaid_of_due": 0,
        "repayment_rate": None, "loans_outstanding": 1_000_000,
        "outstanding_at_risk_30": 0, "par30": "0.0000",
    }
    # As of 02-15: the repayment of 02-10 counts; the first installment is 5 days late,
    # not at risk.
    assert await club_row("2026-02-15") == {
        "active_borrowers": 1, "amount_fallen_due": 500_000,
        "amount_repaid_of_due": 300_000, "repayment_rate": "0.6000",
        "loans_outstanding": 700_000, "outstanding_at_risk_30": 0, "par30": "0.0000",
    }
    assert await club_row("2026-04-15") == {
        "active_borrowers": 1, "amount_fallen_due": 1_000_000,
        "amount_repaid_of_due": 300_000, "repayment_rate": "0.3000",
        "loans_outstanding": 700_000, "outstanding_at_risk_30": 700_000, "par30": "1.0000",
    }
    assert await club_row("2026-04-20") == {
        "active_borrowers": 0, "amount_fallen_due": 1_000_000,
        "amount_repaid_of_due": 1_000_000, "repayment_rate": "1.0000",
        "loans_outstanding": 0, "outstanding_at_risk_30": 0, "par30": None,
    }


async def test_every_group_of_sub_accounts_counts_whatever_its_code(client):
    """Sub-accounts in several groups, on both sides, with codes that sort before the
    group's dot ('131-a.1' before '131.x.1' byte by byte), of two dots ('131.x.1') or
    in a longer group of the same prefix ('1311.1'): each counts once, by its normal
    side, as of the report's date."""
    club = await post_club(client, await post_commune(client, "64"), "CLB Phổ Cường")
    fund = club["fund_id"]
    ids = {code: a["id"] for code, a in (await accounts_by_code(client, fund)).items()}
    for code, kind in (("131-a.1", "asset"), ("131.x.1", "asset"), ("131.y", "liability"),
                       ("1311.1", "asset"), ("4113.1", "equity"), ("112.1", "asset"),
                       ("642.1", "expense")):
        ids[code] = (await create_account(client, fund, code, kind))["id"]
    for when, debit, credit, amount in (
        ("2026-01-05", "111", "4113.1", 30_000_000),
        ("2026-01-10", "131-a.1", "111", 1_000_000),
        ("2026-01-11", "131.x.1", "111", 2_000_000),
        ("2026-01-12", "1311.1", "111", 400_000),
        ("2026-01-13", "111", "131.y", 50_000),
        ("2026-01-14", "112.1", "111", 300_000),
        ("2026-01-15", "642.1", "111", 20_000),
        ("2026-04-10", "131.x.1", "111", 999),
    ):
        await post(client, fund, when, [(ids[debit], "debit", amount),
                                        (ids[credit], "credit", amount)])
    body = (await client.get("/v1/reports/portfolio?area=64101&as_of=2026-03-31")).json()
    row = next(r for r in body["items"] if r["level"] == "club")
    assert (row["capital_donors"], row["cash"], row["loans_outstanding"]) == (
        30_000_000, 30_000_000 - 3_400_000 + 50_000 - 20_000, 3_450_000)
