"""A worked example: one club's year 2025, every balance computed by hand.

    date   what                                             voucher      cash 111
    01-10  seed grant, district budget 50,000,000 (cash)     PT-2025-0001 +50,000,000
    01-15  seed grant, commune budget 10,000,000 (bank)      PT-2025-0002
    01-20  donation 3,000,000                                PT-2025-0003  +3,000,000
    02-01  member contributions 2,000,000                    PT-2025-0004  +2,000,000
    02-05  expense 500,000                                   PC-2025-0001    -500,000
    02-05  loan 1 disbursed: 6,000,000, 6 × flat 1 %         PC-2025-0002  -6,000,000
           (instalment 1,000,000 + 60,000)
    03-05  loan 1 instalment 1: 1,060,000                    PT-2025-0005  +1,060,000
    03-10  loan 2 disbursed: 5,000,000, 12 × flat 1 %,       PC-2025-0003  -5,000,000
           penalty 0.04 %/day (instalment 416,667 + 50,000;
           the last one 416,663 + 50,000)
    04-05  loan 1 instalment 2: 1,060,000                    PT-2025-0006  +1,060,000
    04-10  loan 2 instalment 1: 466,667 on time              PT-2025-0007    +466,667
    05-05  loan 1 instalment 3: 1,060,000                    PT-2025-0008  +1,060,000
    05-20  loan 2: 466,667, ten days late:                   PT-2025-0009    +466,667
           penalty 466,667 × 10 × 0.0004 = 1,866.67 → 1,867; interest 50,000;
           principal 466,667 − 1,867 − 50,000 = 414,800 (1,867 of instalment 2 left)
    06-01  loan 1 paid off early: 3,052,258 = principal      PT-2025-0010  +3,052,258
           3,000,000 + instalment 4's interest for 27 of its 31 days (05-05 → 06-05):
           60,000 × 27 / 31 = 52,258.06 → 52,258; the 127,742 not yet accrued is waived
    06-10  loan 2: 468,550 = penalty on 1,867 × 21 days      PT-2025-0011    +468,550
           (15.68 → 16) + interest 50,000 + principal 1,867 + 416,667
    10-15  loan 3 disbursed: 3,000,000, 3 × 0 %              PC-2025-0004  -3,000,000
    11-15  loan 3 instalment 1: 1,000,000                    PT-2025-0012  +1,000,000
    12-01  loan 2 written off after 144 days overdue (from 07-10): principal left
           5,000,000 − 416,667 − 414,800 − 418,534 = 3,749,999 → Dr 811 / Cr 131.0002
    12-20  expense 300,000 from the bank                     PC-2025-0005

    cash 111 = 63,634,142 received − 14,500,000 paid = 49,134,142
"""

from __future__ import annotations

from tests.api.factories import accounts_by_code, post_club, post_commune, post_member

EXPECTED_BALANCES = {
    "111": 49_134_142,
    "112": 9_700_000,
    "131.0001": 0,
    "131.0002": 0,
    "131.0003": 2_000_000,
    "4111": 50_000_000,
    "4112": 10_000_000,
    "4113": 0,
    "4114": 2_000_000,
    "4118": 0,
    "515": 382_258,  # loan 1: 3 × 60,000 + 52,258; loan 2: 3 × 50,000
    "642": 800_000,
    "711": 3_001_883,  # donation 3,000,000 + penalties 1,867 + 16
    "811": 3_749_999,
}


async def post(http, path, body=None, status=201):
    response = await http.post(path, json=body)
    assert response.status_code == status, response.text
    return response.json()


async def test_a_club_year_matches_the_balances_computed_by_hand(client_for, new_token, client):
    commune = await post_commune(client)
    club = await post_club(client, commune, established_on="2025-01-01")
    fund = club["fund_id"]
    treasurer = client_for(await new_token("treasurer", scope=f"club:{club['id']}"))
    chair = client_for(await new_token("chair", scope=f"club:{club['id']}"))
    members = [await post_member(treasurer, club["id"], f"Thành viên {n}") for n in (1, 2, 3)]

    vouchers = []

    async def cash(kind, amount, when, **extra):
        entry = await post(treasurer, f"/v1/funds/{fund}/{kind}",
                           {"amount": amount, "effective_date": when, **extra})
        vouchers.append(entry["voucher_number"])
        return entry

    async def apply(member, principal, installments, rate, first_due, applied_on, **extra):
        loan = await post(treasurer, f"/v1/funds/{fund}/loans", {
            "member_id": member["id"], "principal": principal, "installments": installments,
            "frequency": "monthly", "interest_method": "flat", "rate_per_period": rate,
            "first_due_date": first_due, "applied_on": applied_on, **extra,
        })
        await post(chair, f"/v1/loans/{loan['id']}/approval", {"effective_date": applied_on},
                   status=200)
        return loan["id"]

    async def disburse(loan_id, when):
        loan = await post(treasurer, f"/v1/loans/{loan_id}/disbursement",
                          {"effective_date": when}, status=200)
        vouchers.append(loan["events"][-1]["data"]["voucher_number"])
        return loan

    async def repay(loan_id, amount, when):
        repayment = await post(treasurer, f"/v1/loans/{loan_id}/repayments",
                               {"amount": amount, "effective_date": when})
        vouchers.append(repayment["voucher_number"])
        return repayment

    await cash("seed-grants", 50_000_000, "2025-01-10", source="district_budget",
               decision_number="15/QĐ-UBND")
    await cash("seed-grants", 10_000_000, "2025-01-15", source="commune_budget",
               decision_number="7/QĐ-UBND", payment_method="bank")
    await cash("donations", 3_000_000, "2025-01-20", counterparty="Công ty Đường Quảng Ngãi")
    await cash("contributions", 2_000_000, "2025-02-01")
    loan_1 = await apply(members[0], 6_000_000, 6, "0.01", "2025-03-05", "2025-02-01")
    await cash("expenses", 500_000, "2025-02-05", description="Văn phòng phẩm")
    await disburse(loan_1, "2025-02-05")
    loan_2 = await apply(members[1], 5_000_000, 12, "0.01", "2025-04-10", "2025-03-01",
                         penalty_rate_per_day="0.0004")
    schedule_2 = (await treasurer.get(f"/v1/loans/{loan_2}/schedule")).json()
    assert [(i["principal"], i["interest"], i["total"]) for i in schedule_2["installments"]] == (
        [(416_667, 50_000, 466_667)] * 11 + [(416_663, 50_000, 466_663)]
    )
    assert (schedule_2["total_principal"], schedule_2["total_interest"]) == (5_000_000, 600_000)

    first = await repay(loan_1, 1_060_000, "2025-03-05")
    assert first["allocation"] == {"penalty": 0, "interest": 60_000, "principal": 1_000_000}
    await disburse(loan_2, "2025-03-10")
    await repay(loan_1, 1_060_000, "2025-04-05")
    await repay(loan_2, 466_667, "2025-04-10")
    await repay(loan_1, 1_060_000, "2025-05-05")
    late = await repay(loan_2, 466_667, "2025-05-20")
    assert late["allocation"] == {"penalty": 1_867, "interest": 50_000, "principal": 414_800}
    assert late["outstanding_principal"] == 5_000_000 - 416_667 - 414_800
    payoff = await repay(loan_1, 3_052_258, "2025-06-01")
    assert payoff["allocation"] == {"penalty": 0, "interest": 52_258, "principal": 3_000_000}
    assert payoff["status"] == "repaid" and payoff["outstanding_principal"] == 0
    catch_up = await repay(loan_2, 468_550, "2025-06-10")
    assert catch_up["allocation"] == {"penalty": 16, "interest": 50_000, "principal": 418_534}
    loan_3 = await apply(members[2], 3_000_000, 3, "0", "2025-11-15", "2025-10-01")
    await disburse(loan_3, "2025-10-15")
    await repay(loan_3, 1_000_000, "2025-11-15")

    overdue = (await treasurer.get(f"/v1/loans/{loan_2}", params={"as_of": "2025-12-01"})).json()
    assert overdue["days_overdue"] == 144
    assert overdue["at_risk_30"] is True
    assert overdue["par30_principal"] == overdue["outstanding_principal"] == 3_749_999
    assert overdue["penalty_paid"] == 1_883 and overdue["interest_paid"] == 150_000

    await post(treasurer, f"/v1/loans/{loan_2}/write-off",
               {"reason": "không liên lạc được", "effective_date": "2025-12-01"}, status=200)
    written_off = await post(chair, f"/v1/loans/{loan_2}/write-off/approval",
                             {"effective_date": "2025-12-15"}, status=200)
    assert written_off["status"] == "written_off"
    assert written_off["events"][-1]["data"]["amount"] == 3_749_999
    await cash("expenses", 300_000, "2025-12-20", payment_method="bank")

    assert vouchers == [
        "PT-2025-0001", "PT-2025-0002", "PT-2025-0003", "PT-2025-0004", "PC-2025-0001",
        "PC-2025-0002", "PT-2025-0005", "PC-2025-0003", "PT-2025-0006", "PT-2025-0007",
        "PT-2025-0008", "PT-2025-0009", "PT-2025-0010", "PT-2025-0011", "PC-2025-0004",
        "PT-2025-0012", "PC-2025-0005",
    ]
    balances = {code: a["balance"] for code, a in (await accounts_by_code(client, fund)).items()}
    assert balances == EXPECTED_BALANCES
    accounts = await accounts_by_code(client, fund)
    debit_balances = sum(a["debits"] - a["credits"] for a in accounts.values()
                         if a["debits"] > a["credits"])
    credit_balances = sum(a["credits"] - a["debits"] for a in accounts.values()
                          if a["credits"] > a["debits"])
    assert debit_balances == credit_balances == 65_384_141

    loan_1_read = (await treasurer.get(f"/v1/loans/{loan_1}")).json()
    assert loan_1_read["status"] == "repaid"
    assert loan_1_read["interest_paid"] == 232_258 and loan_1_read["interest_waived"] == 127_742
    assert [e["kind"] for e in loan_1_read["events"]] == [
        "applied", "approved", "disbursed", "repayment", "repayment", "repayment", "repayment",
    ]
    loan_3_read = (await treasurer.get(f"/v1/loans/{loan_3}",
                                       params={"as_of": "2025-12-31"})).json()
    assert loan_3_read["outstanding_principal"] == 2_000_000
    assert loan_3_read["days_overdue"] == 16  # instalment 2 was due 2025-12-15
    assert loan_3_read["at_risk_30"] is False and loan_3_read["par30_principal"] == 0
