"""Loan money to the day through the API: the payoff on any day, payments that never pay
interest not yet accrued, a declining-balance loan recomputed after principal paid
ahead, money recovered after a write-off, and penalty forgiven by two people. Worked
examples computed by hand; every refusal writes nothing."""
# ruff: noqa: F811  (the `club` fixture, imported, is every test's parameter)

from __future__ import annotations

from tests.api.factories import accounts_by_code
from tests.api.test_loans_api import (  # noqa: F401 (club: a fixture)
    assert_problem,
    club,
    disbursed,
    snapshot,
)

NOBODY = "00000000-0000-7000-8000-000000000000"


async def ten_million_loan(club, **terms) -> dict:
    """10,000,000 at 1 %/month, 12 monthly instalments, disbursed 2026-02-10, first due
    2026-03-10 (the fund gets 5,000,000 more seed money to lend it)."""
    treasurer = club["treasurer"]
    grant = await treasurer.post(f"/v1/funds/{club['fund']}/seed-grants", json={
        "amount": 5_000_000, "source": "commune_budget", "decision_number": "2/QĐ-UBND",
        "effective_date": "2026-01-06"})
    assert grant.status_code == 201, grant.text
    applied = await treasurer.post(f"/v1/funds/{club['fund']}/loans", json={
        "member_id": club["member"], "principal": 10_000_000, "installments": 12,
        "rate_per_period": "0.01", "first_due_date": "2026-03-10", "applied_on": "2026-02-01",
        **terms})
    assert applied.status_code == 201, applied.text
    loan = applied.json()
    approved = await club["chair"].post(f"/v1/loans/{loan['id']}/approval",
                                        json={"effective_date": "2026-02-01"})
    assert approved.status_code == 200, approved.text
    paid_out = await treasurer.post(f"/v1/loans/{loan['id']}/disbursement",
                                    json={"effective_date": "2026-02-10"})
    assert paid_out.status_code == 200, paid_out.text
    return dict(paid_out.json())


async def test_anonymous_callers_can_neither_recover_nor_waive(anonymous):
    recovery = await anonymous.post(f"/v1/loans/{NOBODY}/recoveries", json={"amount": 1})
    assert_problem(recovery, 401, "unauthenticated")
    waiver = await anonymous.post(f"/v1/loans/{NOBODY}/waivers", json={
        "part": "penalty", "amount": 1, "reason": "ốm"})
    assert_problem(waiver, 401, "unauthenticated")


async def test_a_flat_loan_paid_off_to_the_day(club, superuser_connection):
    loan = await ten_million_loan(club)
    url = f"/v1/loans/{loan['id']}"
    # 27 of the first period's 28 days: 100,000 × 27 / 28 = 96,428.57 → 96,429
    day_before = (await club["chair"].get(url, params={"as_of": "2026-03-09"})).json()
    assert day_before["payoff_amount"] == 10_096_429
    on_the_day = (await club["chair"].get(url, params={"as_of": "2026-03-10"})).json()
    assert on_the_day["payoff_amount"] == 10_100_000
    before = await snapshot(superuser_connection)
    too_much = await club["treasurer"].post(f"{url}/repayments", json={
        "amount": 10_100_001, "effective_date": "2026-03-10"})
    assert_problem(too_much, 422, "overpayment")
    assert "payoff amount 10100000 on 2026-03-10" in too_much.json()["detail"]
    assert await snapshot(superuser_connection) == before
    # One đồng less than the payoff: the interest due and all principal but one đồng,
    # none of the ten months of interest to come.
    paid = (await club["treasurer"].post(f"{url}/repayments", json={
        "amount": 10_099_999, "effective_date": "2026-03-10"})).json()
    assert paid["allocation"] == {"penalty": 0, "interest": 100_000, "principal": 9_999_999}
    assert paid["outstanding_principal"] == 1 and paid["status"] == "disbursed"
    read = (await club["chair"].get(url, params={"as_of": "2026-03-10"})).json()
    assert read["payoff_amount"] == 1 and read["interest_paid"] == 100_000
    balances = await accounts_by_code(club["chair"], club["fund"])
    assert balances["515"]["balance"] == 100_000


async def test_a_declining_loan_paid_ahead_shortens_its_term(club, superuser_connection):
    loan = await ten_million_loan(club, interest_method="declining_balance")
    assert loan["prepayment"] == "reduce_term"
    url = f"/v1/loans/{loan['id']}"
    # instalment 1 is 888,488 (100,000 interest, 788,488 principal); 5,000,000 more
    paid = (await club["treasurer"].post(f"{url}/repayments", json={
        "amount": 888_488 + 5_000_000, "effective_date": "2026-03-10"})).json()
    assert paid["allocation"] == {"penalty": 0, "interest": 100_000, "principal": 5_788_488}
    assert paid["outstanding_principal"] == 4_211_512
    schedule = (await club["chair"].get(f"{url}/schedule")).json()
    assert schedule["principal_prepaid"] == 5_000_000
    rest = schedule["installments"][1:]
    assert [(i["interest"], i["principal"]) for i in rest] == [
        (42_115, 846_373), (33_651, 854_837), (25_103, 863_385), (16_469, 872_019),
        (7_749, 774_898)]
    # the schedule in force is the one the portfolio report reads: six instalments now
    cumulative = await superuser_connection.fetchval(
        "SELECT schedule_cumulative_due FROM loans WHERE id = $1::uuid", loan["id"])
    assert len(cumulative) == 6
    assert cumulative[-1] == 888_488 + sum(i["total"] for i in rest)
    balances = await accounts_by_code(club["chair"], club["fund"])
    assert balances["515"]["balance"] == 100_000


async def test_a_declining_loan_may_shrink_its_instalment_instead(club):
    loan = await ten_million_loan(club, interest_method="declining_balance",
                                  prepayment="reduce_installment")
    url = f"/v1/loans/{loan['id']}"
    paid = await club["treasurer"].post(f"{url}/repayments", json={
        "amount": 888_488 + 5_000_000, "effective_date": "2026-03-10"})
    assert paid.status_code == 201, paid.text
    rest = (await club["chair"].get(f"{url}/schedule")).json()["installments"][1:]
    # 4,211,512 × 0.01 / (1 − 1.01^−11) = 406,217.497 → 406,217, eleven times
    assert len(rest) == 11 and {i["total"] for i in rest[:-1]} == {406_217}


async def test_money_recovered_after_a_write_off(club, superuser_connection):
    loan = await disbursed(club)  # 5,000,000, disbursed 2026-02-05
    url = f"/v1/loans/{loan['id']}"
    not_yet = await club["treasurer"].post(f"{url}/recoveries", json={
        "amount": 100_000, "effective_date": "2026-03-01"})
    assert_problem(not_yet, 409, "invalid_loan_state")
    asked = await club["treasurer"].post(f"{url}/write-off", json={
        "reason": "Hội viên chuyển đi nơi khác", "effective_date": "2026-03-01"})
    assert asked.status_code == 200, asked.text
    written_off = await club["chair"].post(f"{url}/write-off/approval",
                                           json={"effective_date": "2026-03-02"})
    assert written_off.status_code == 200, written_off.text
    before = await snapshot(superuser_connection)
    for body, status, code in (
        ({"amount": 5_000_001, "effective_date": "2026-04-01"}, 422, "recovery_too_large"),
        ({"amount": 100_000, "effective_date": "2026-03-01"}, 422, "invalid_date"),
        ({"amount": 0, "effective_date": "2026-04-01"}, 422, "invalid_amount"),
    ):
        refused = await club["treasurer"].post(f"{url}/recoveries", json=body)
        assert_problem(refused, status, code)
    assert await snapshot(superuser_connection) == before
    recovered = await club["treasurer"].post(f"{url}/recoveries", json={
        "amount": 1_500_000, "effective_date": "2026-04-01", "note": "Gia đình trả giúp"})
    assert recovered.status_code == 201, recovered.text
    body = recovered.json()
    assert (body["amount"], body["recovered"], body["written_off"], body["status"]) == (
        1_500_000, 1_500_000, 5_000_000, "written_off")
    assert body["voucher_number"].startswith("PT-2026-")
    read = (await club["chair"].get(url)).json()
    assert read["status"] == "written_off" and read["recovered"] == 1_500_000
    assert read["outstanding_principal"] == 0
    assert [e["kind"] for e in read["events"]][-1] == "recovered"
    balances = await accounts_by_code(club["chair"], club["fund"])
    assert balances["711"]["balance"] == 1_500_000
    more = await club["treasurer"].post(f"{url}/recoveries", json={
        "amount": 3_500_001, "effective_date": "2026-04-02"})
    assert_problem(more, 422, "recovery_too_large")


async def test_penalty_forgiven_by_two_people(club, superuser_connection):
    loan = await disbursed(club, penalty_rate_per_day="0.0004")  # 466,667 due 2026-03-05
    url = f"/v1/loans/{loan['id']}"
    # ten days late: 466,667 × 0.0004 × 10 = 1,866.67 → 1,867 penalty
    before = await snapshot(superuser_connection)
    too_much = await club["treasurer"].post(f"{url}/waivers", json={
        "part": "penalty", "amount": 1_868, "effective_date": "2026-03-15",
        "reason": "Hội viên ốm nằm viện"})
    assert_problem(too_much, 422, "waiver_too_large")
    assert "1867" in too_much.json()["detail"]
    assert await snapshot(superuser_connection) == before
    asked = await club["treasurer"].post(f"{url}/waivers", json={
        "part": "penalty", "amount": 1_867, "effective_date": "2026-03-15",
        "reason": "Hội viên ốm nằm viện"})
    assert asked.status_code == 202, asked.text
    waiver = asked.json()
    assert (waiver["kind"], waiver["status"], waiver["loan_id"], waiver["waived_part"],
            waiver["waived_amount"]) == ("waiver", "pending", loan["id"], "penalty", 1_867)
    pending = (await club["chair"].get(url, params={"as_of": "2026-03-15"})).json()
    assert pending["penalty_forgiven"] == 0  # nothing forgiven until approved
    by_herself = await club["treasurer"].post(f"/v1/corrections/{waiver['id']}/approval",
                                              json={})
    assert_problem(by_herself, 403, "forbidden")
    approved = await club["chair"].post(f"/v1/corrections/{waiver['id']}/approval",
                                        json={"note": "Ban chủ nhiệm đồng ý"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    read = (await club["chair"].get(url, params={"as_of": "2026-03-15"})).json()
    assert read["penalty_forgiven"] == 1_867
    assert [e["kind"] for e in read["events"]][-1] == "waived"
    # the payoff that day: instalment 1's interest, instalment 2's for 10 of 31 days
    # (16,129), all the principal — and no penalty
    assert read["payoff_amount"] == 50_000 + 16_129 + 5_000_000
    paid = (await club["treasurer"].post(f"{url}/repayments", json={
        "amount": 466_667, "effective_date": "2026-03-15"})).json()
    assert paid["allocation"] == {"penalty": 0, "interest": 50_000, "principal": 416_667}


async def test_a_waiver_asked_by_the_chair_is_approved_by_someone_else(
    club, superuser_connection
):
    loan = await disbursed(club)
    asked = await club["chair"].post(f"/v1/loans/{loan['id']}/waivers", json={
        "part": "interest", "amount": 20_000, "effective_date": "2026-03-05",
        "reason": "Thiên tai, mất mùa"})
    assert asked.status_code == 202, asked.text
    before = await snapshot(superuser_connection)
    same = await club["chair"].post(f"/v1/corrections/{asked.json()['id']}/approval", json={})
    assert_problem(same, 403, "same_actor_approval")
    assert await snapshot(superuser_connection) == before
    approved = await club["admin"].post(f"/v1/corrections/{asked.json()['id']}/approval",
                                        json={})
    assert approved.status_code == 200, approved.text
    read = (await club["chair"].get(f"/v1/loans/{loan['id']}",
                                    params={"as_of": "2026-03-05"})).json()
    assert read["interest_forgiven"] == 20_000 and read["amount_due"] == 466_667 - 20_000
