"""The loan lifecycle through the API: the four-eyes rule, the state machine, the
cash limit, idempotent state changes. Every refusal is problem+json with a stable
code and leaves the database exactly as it was."""

from __future__ import annotations

import pytest

from tests.api.factories import accounts_by_code, club_with_seed_grant, post_club, post_member

PROBLEM = "application/problem+json"


async def snapshot(connection) -> tuple:
    """Everything a loan operation could write, read as a superuser."""
    return (
        await connection.fetchval("SELECT count(*) FROM entries"),
        await connection.fetchval("SELECT count(*) FROM postings"),
        await connection.fetchval("SELECT count(*) FROM accounts"),
        await connection.fetchval("SELECT count(*) FROM loan_events"),
        await connection.fetchval("SELECT count(*) FROM idempotency_records"),
        tuple(await connection.fetch(
            "SELECT id, status, outstanding_principal, closed_on FROM loans"
            " ORDER BY id")),
        tuple(await connection.fetch(
            "SELECT account_id, debits, credits FROM account_balances ORDER BY account_id")),
        tuple(await connection.fetch("SELECT * FROM voucher_counters ORDER BY kind, year")),
        tuple(await connection.fetch("SELECT id, entry_count FROM funds ORDER BY id")),
    )


def assert_problem(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == code


@pytest.fixture
async def club(client, client_for, new_token):
    return await club_with_seed_grant(client, client_for, new_token)


async def apply(club, principal=5_000_000, **extra) -> dict:
    body = {"member_id": club["member"], "principal": principal, "installments": 12,
            "rate_per_period": "0.01", "first_due_date": "2026-03-05",
            "applied_on": "2026-02-01", **extra}
    response = await club["treasurer"].post(f"/v1/funds/{club['fund']}/loans", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def approved(club, **extra) -> dict:
    loan = await apply(club, **extra)
    response = await club["chair"].post(f"/v1/loans/{loan['id']}/approval",
                                        json={"effective_date": "2026-02-01"})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def disbursed(club, **extra) -> dict:
    loan = await approved(club, **extra)
    response = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                            json={"effective_date": "2026-02-05"})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_application_is_recorded_with_its_schedule(club):
    loan = await apply(club)
    assert loan["status"] == "applied" and loan["number"] == 1
    assert loan["rate_per_period"] == "0.01"
    assert loan["outstanding_principal"] == 0 and loan["account_id"] is None
    schedule = (await club["treasurer"].get(f"/v1/loans/{loan['id']}/schedule")).json()
    assert len(schedule["installments"]) == 12
    assert schedule["installments"][0] == {
        "number": 1, "due_date": "2026-03-05", "principal": 416_667, "interest": 50_000,
        "total": 466_667, "principal_paid": 0, "interest_paid": 0,
    }
    assert (schedule["total_principal"], schedule["total_interest"]) == (5_000_000, 600_000)


async def test_approval_by_the_recorder_is_refused_and_writes_nothing(
    club, superuser_connection
):
    recorded_by_chair = await club["chair"].post(f"/v1/funds/{club['fund']}/loans", json={
        "member_id": club["member"], "principal": 5_000_000, "installments": 12,
        "rate_per_period": "0.01", "first_due_date": "2026-03-05", "applied_on": "2026-02-01"})
    assert recorded_by_chair.status_code == 201, recorded_by_chair.text
    loan = recorded_by_chair.json()
    before = await snapshot(superuser_connection)
    response = await club["chair"].post(f"/v1/loans/{loan['id']}/approval", json={},
                                        headers={"Idempotency-Key": "self-approval"})
    assert_problem(response, 403, "same_actor_approval")
    assert await snapshot(superuser_connection) == before
    treasurer = await club["treasurer"].post(f"/v1/loans/{loan['id']}/approval", json={})
    assert_problem(treasurer, 403, "forbidden")  # approving is a chair's (or admin's) task
    assert await snapshot(superuser_connection) == before
    assert (await club["chair"].get(f"/v1/loans/{loan['id']}")).json()["status"] == "applied"


async def test_disbursement_beyond_the_cash_is_refused_and_writes_nothing(
    club, superuser_connection
):
    loan = await approved(club, principal=8_000_001)
    before = await snapshot(superuser_connection)
    response = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                            json={"effective_date": "2026-02-05"},
                                            headers={"Idempotency-Key": "too-much"})
    assert_problem(response, 422, "insufficient_funds")
    assert await snapshot(superuser_connection) == before
    read = (await club["chair"].get(f"/v1/loans/{loan['id']}")).json()
    assert read["status"] == "approved" and read["account_id"] is None


async def test_disbursement_of_exactly_the_cash_opens_the_loan_account(club):
    loan = await approved(club, principal=8_000_000)
    response = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                            json={"effective_date": "2026-02-05"})
    assert response.status_code == 200, response.text
    read = response.json()
    assert read["status"] == "disbursed" and read["account_code"] == "131.0001"
    assert read["outstanding_principal"] == 8_000_000
    balances = await accounts_by_code(club["chair"], club["fund"])
    assert balances["111"]["balance"] == 0
    assert balances["131.0001"]["balance"] == 8_000_000
    assert balances["131.0001"]["allow_negative"] is False
    assert read["events"][-1]["data"]["voucher_number"] == "PC-2026-0001"


async def test_repayment_on_a_written_off_loan_is_refused_and_writes_nothing(
    club, superuser_connection
):
    loan = await disbursed(club)
    request = await club["chair"].post(f"/v1/loans/{loan['id']}/write-off",
                                       json={"reason": "qua đời", "effective_date": "2026-09-01"})
    assert request.status_code == 200, request.text
    assert request.json()["status"] == "write_off_requested"
    same = await club["chair"].post(f"/v1/loans/{loan['id']}/write-off/approval", json={})
    assert_problem(same, 403, "same_actor_approval")
    approval = await club["admin"].post(f"/v1/loans/{loan['id']}/write-off/approval",
                                        json={"effective_date": "2026-09-02"})
    assert approval.status_code == 200, approval.text
    assert approval.json()["status"] == "written_off"
    balances = await accounts_by_code(club["chair"], club["fund"])
    assert balances["811"]["balance"] == 5_000_000 and balances["131.0001"]["balance"] == 0

    before = await snapshot(superuser_connection)
    response = await club["treasurer"].post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"amount": 466_667, "effective_date": "2026-09-05"},
        headers={"Idempotency-Key": "after-write-off"},
    )
    assert_problem(response, 409, "invalid_loan_state")
    assert await snapshot(superuser_connection) == before


async def test_a_rejected_write_off_reopens_the_loan_for_repayments(club):
    loan = await disbursed(club)
    await club["treasurer"].post(f"/v1/loans/{loan['id']}/write-off", json={"reason": "ốm"})
    pending = await club["treasurer"].post(f"/v1/loans/{loan['id']}/repayments",
                                           json={"amount": 1, "effective_date": "2026-03-05"})
    assert_problem(pending, 409, "invalid_loan_state")
    rejected = await club["chair"].post(f"/v1/loans/{loan['id']}/write-off/approval",
                                        json={"decision": "reject"})
    assert rejected.json()["status"] == "disbursed"
    paid = await club["treasurer"].post(f"/v1/loans/{loan['id']}/repayments",
                                        json={"amount": 466_667, "effective_date": "2026-03-05"})
    assert paid.status_code == 201, paid.text


@pytest.mark.parametrize("case", [
    "disburse an applied loan", "disburse twice", "repay before disbursement",
    "approve twice", "approve a disbursed loan", "write off an approved loan",
    "approve a write-off never requested", "approve a rejected loan",
])
async def test_the_state_machine_refuses_transitions_its_state_does_not_allow(
    case, club, superuser_connection
):
    treasurer, chair = club["treasurer"], club["chair"]
    if case == "disburse an applied loan":
        loan, http, path, body = await apply(club), treasurer, "disbursement", {}
    elif case == "disburse twice":
        loan, http, path, body = await disbursed(club), treasurer, "disbursement", {}
    elif case == "repay before disbursement":
        loan, http, path, body = await approved(club), treasurer, "repayments", {"amount": 100}
    elif case == "approve twice":
        loan, http, path, body = await approved(club), chair, "approval", {}
    elif case == "approve a disbursed loan":
        loan, http, path, body = await disbursed(club), chair, "approval", {}
    elif case == "write off an approved loan":
        loan, http, path, body = await approved(club), treasurer, "write-off", {"reason": "x"}
    elif case == "approve a write-off never requested":
        loan, http, path, body = await disbursed(club), chair, "write-off/approval", {}
    else:
        loan = await apply(club)
        rejected = await chair.post(f"/v1/loans/{loan['id']}/approval",
                                    json={"decision": "reject"})
        assert rejected.json()["status"] == "rejected"
        http, path, body = chair, "approval", {}
    before = await snapshot(superuser_connection)
    response = await http.post(f"/v1/loans/{loan['id']}/{path}", json=body)
    assert_problem(response, 409, "invalid_loan_state")
    assert await snapshot(superuser_connection) == before


async def test_a_repeated_disbursement_with_its_idempotency_key_is_replayed_once(
    club, superuser_connection
):
    loan = await approved(club)
    url = f"/v1/loans/{loan['id']}/disbursement"
    headers = {"Idempotency-Key": "disburse-1"}
    first = await club["treasurer"].post(url, json={"effective_date": "2026-02-05"},
                                         headers=headers)
    again = await club["treasurer"].post(url, json={"effective_date": "2026-02-05"},
                                         headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.json() == first.json()
    assert await superuser_connection.fetchval(
        "SELECT count(*) FROM loan_events WHERE loan_id = $1 AND kind = 'disbursed'",
        __import__("uuid").UUID(loan["id"])) == 1
    other_body = await club["treasurer"].post(url, json={"effective_date": "2026-02-06"},
                                              headers=headers)
    assert_problem(other_body, 409, "idempotency_conflict")


async def test_partial_late_and_early_repayments_are_allocated_penalty_interest_principal(club):
    loan = await disbursed(club, penalty_rate_per_day="0.0004")
    url = f"/v1/loans/{loan['id']}/repayments"
    treasurer = club["treasurer"]
    partial = (await treasurer.post(url, json={"amount": 30_000,
                                               "effective_date": "2026-03-05"})).json()
    assert partial["allocation"] == {"penalty": 0, "interest": 30_000, "principal": 0}
    # 10 days late on the unpaid 436,667 of instalment 1: 1,746.67 → 1,747 penalty
    late = (await treasurer.post(url, json={"amount": 438_414,
                                            "effective_date": "2026-03-15"})).json()
    assert late["allocation"] == {"penalty": 1_747, "interest": 20_000, "principal": 416_667}
    read = (await treasurer.get(f"/v1/loans/{loan['id']}",
                                params={"as_of": "2026-03-20"})).json()
    assert read["days_overdue"] == 0 and read["outstanding_principal"] == 4_583_333
    # and instalment 2's interest for 15 of its 31 days: 50,000 × 15 / 31 → 24,194
    assert read["payoff_amount"] == 4_583_333 + 24_194
    payoff = (await treasurer.post(url, json={"amount": 4_583_333 + 24_194,
                                              "effective_date": "2026-03-20"})).json()
    assert payoff["status"] == "repaid" and payoff["outstanding_principal"] == 0
    again = await treasurer.post(url, json={"amount": 1, "effective_date": "2026-03-21"})
    assert_problem(again, 409, "invalid_loan_state")


async def test_overpayment_and_repayments_before_the_disbursement_are_refused(club):
    loan = await disbursed(club)
    url = f"/v1/loans/{loan['id']}/repayments"
    # payoff on 2026-03-05: interest of instalment 1 (50,000) + all principal (5,000,000)
    too_much = await club["treasurer"].post(url, json={"amount": 5_050_001,
                                                       "effective_date": "2026-03-05"})
    assert_problem(too_much, 422, "overpayment")
    ok = await club["treasurer"].post(url, json={"amount": 100_000,
                                                 "effective_date": "2026-03-05"})
    assert ok.status_code == 201
    earlier = await club["treasurer"].post(url, json={"amount": 5_000_000,
                                                      "effective_date": "2026-03-01"})
    # On 03-01 it would pay the 24 days' interest (50,000 × 24 / 28 → 42,857) and
    # 4,957,143 of principal, leaving 50,000 owed on 03-05: the 100,000 would overpay.
    assert_problem(earlier, 422, "overpayment")
    assert "payoff amount 50000 on 2026-03-05" in earlier.json()["detail"]
    before_disbursement = await club["treasurer"].post(url, json={
        "amount": 100_000, "effective_date": "2026-02-01"})
    assert_problem(before_disbursement, 422, "invalid_date")


async def test_bad_applications_are_refused(club, client):
    fund = club["fund"]
    other_club = await post_club(client, "51101", name="CLB khác")
    stranger = await post_member(client, other_club["id"], "Người ngoài")
    cases = [
        ({"member_id": stranger["id"]}, 422, "unknown_member"),
        ({"rate_per_period": 0.01}, 422, "validation_error"),
        ({"rate_per_period": "1.5"}, 422, "invalid_loan_terms"),
        ({"principal": 5_000_000.0}, 422, "validation_error"),
        ({"first_due_date": "2026-01-05"}, 422, "invalid_loan_terms"),
        ({"grace_periods": 12}, 422, "invalid_loan_terms"),
        ({"interest_method": "flat", "day_count": "actual_365"}, 422, "invalid_loan_terms"),
    ]
    for change, status, code in cases:
        body = {"member_id": club["member"], "principal": 5_000_000, "installments": 12,
                "rate_per_period": "0.01", "first_due_date": "2026-03-05",
                "applied_on": "2026-02-01", **change}
        response = await club["treasurer"].post(f"/v1/funds/{fund}/loans", json=body)
        assert_problem(response, status, code)
    missing = await club["treasurer"].get("/v1/loans/00000000-0000-7000-8000-000000000000")
    assert_problem(missing, 404, "not_found")


async def test_a_loans_adjustment_is_not_reversed_on_its_own(club, superuser_connection):
    """An adjustment follows from the repayments: it is corrected by reversing a
    repayment, never on its own."""
    loan = await disbursed(club)
    for day in ("2026-03-05", "2026-05-05", "2026-04-05"):  # April recorded late
        response = await club["treasurer"].post(f"/v1/loans/{loan['id']}/repayments",
                                                json={"amount": 466_667, "effective_date": day})
        assert response.status_code == 201, response.text
    events = (await club["admin"].get(f"/v1/loans/{loan['id']}")).json()["events"]
    adjustment = next(e for e in events if e["kind"] == "repayment_adjusted")
    before = await snapshot(superuser_connection)
    response = await club["treasurer"].post(f"/v1/entries/{adjustment['entry_id']}/reversal",
                                            json={"reason": "nhầm"})
    assert_problem(response, 409, "loan_entry_reversal")
    assert "reversed on its own" in response.json()["detail"]
    assert await snapshot(superuser_connection) == before


async def test_a_journal_entry_may_not_move_a_loans_account_and_writes_nothing(
    club, superuser_connection
):
    loan = await disbursed(club)
    balances = await accounts_by_code(club["chair"], club["fund"])
    loan_account, cash = balances["131.0001"]["id"], balances["111"]["id"]
    before = await snapshot(superuser_connection)
    for metadata in ({}, {"loan_id": loan["id"]}):  # claiming the loan changes nothing
        response = await club["treasurer"].post(f"/v1/funds/{club['fund']}/entries", json={
            "effective_date": "2026-03-01", "description": "Thu nợ ngoài sổ",
            "currency": "VND", "metadata": metadata,
            "postings": [{"account_id": cash, "side": "debit", "amount": 100_000},
                         {"account_id": loan_account, "side": "credit", "amount": 100_000}]})
        assert_problem(response, 409, "loan_account_posting")
        assert "loan number 1" in response.json()["detail"]
    assert await snapshot(superuser_connection) == before
    # The loan's own repayment still moves it.
    repaid = await club["treasurer"].post(f"/v1/loans/{loan['id']}/repayments",
                                          json={"amount": 100_000, "effective_date": "2026-03-01"})
    assert repaid.status_code == 201, repaid.text


async def test_the_fund_lists_its_loans_with_their_position(club):
    first = await disbursed(club)
    second = await apply(club, principal=1_000_000)
    page = (await club["chair"].get(f"/v1/funds/{club['fund']}/loans",
                                    params={"as_of": "2026-05-01", "limit": 1})).json()
    assert [loan["id"] for loan in page["items"]] == [first["id"]]
    assert page["items"][0]["days_overdue"] == 57  # instalment 1 due 2026-03-05
    assert page["items"][0]["at_risk_30"] is True
    rest = (await club["chair"].get(f"/v1/funds/{club['fund']}/loans",
                                    params={"cursor": page["next_cursor"]})).json()
    assert [loan["id"] for loan in rest["items"]] == [second["id"]]
    applied = (await club["chair"].get(f"/v1/funds/{club['fund']}/loans",
                                       params={"status": "applied"})).json()
    assert [loan["id"] for loan in applied["items"]] == [second["id"]]


async def test_concurrent_repayments_on_one_loan_are_applied_one_after_another(
    club, client_for, new_token, superuser_connection
):
    loan = await disbursed(club)
    tellers = [client_for(await new_token("treasurer", scope=f"club:{club['club']}"))
               for _ in range(4)]
    url = f"/v1/loans/{loan['id']}/repayments"
    responses = await __import__("asyncio").gather(*(
        tellers[n % 4].post(url, json={"amount": 100_000, "effective_date": "2026-03-05"})
        for n in range(12)
    ))
    assert sorted(r.status_code for r in responses) == [201] * 12
    # 1,200,000 in all, applied in turn: instalment 1's interest (50,000), then principal
    # only: instalment 2's interest has not accrued a day on 03-05
    outstanding = [r.json()["outstanding_principal"] for r in responses]
    assert len(set(outstanding)) == 12 and min(outstanding) == 3_850_000
    read = (await club["chair"].get(f"/v1/loans/{loan['id']}")).json()
    assert (read["principal_repaid"], read["interest_paid"]) == (1_150_000, 50_000)
    balance = await superuser_connection.fetchval(
        "SELECT b.debits - b.credits FROM account_balances b JOIN loans l"
        " ON l.fund_id = b.fund_id AND l.account_id = b.account_id WHERE l.id = $1",
        __import__("uuid").UUID(loan["id"]))
    assert balance == read["outstanding_principal"] == 3_850_000
    vouchers = sorted(r.json()["voucher_number"] for r in responses)
    assert vouchers == [f"PT-2026-{n:04d}" for n in range(2, 14)]  # the seed grant took 0001
