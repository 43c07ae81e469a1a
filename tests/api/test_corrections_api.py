"""Corrections through the API: an entry reversed by two people in a club's fund (loan
entries included, the loan recomputed), repayments recorded out of date order, a month
reopened by two people and closed again, and loan positions as of past dates."""

# ruff: noqa: F811  (the `club` fixture, imported, is every test's parameter)
from __future__ import annotations

import uuid
from datetime import date

from tests.api.factories import accounts_by_code, post_commune
from tests.api.test_loans_api import (  # noqa: F401 (club: a fixture)
    approved,
    assert_problem,
    club,
    snapshot,
)


async def disbursed(club, principal=5_000_000, **terms) -> dict:
    loan = await approved(club, principal=principal, **terms)
    response = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                            json={"effective_date": "2026-02-05"})
    assert response.status_code == 200, response.text
    return dict(response.json())


async def repay(club, loan, amount, day) -> dict:
    response = await club["treasurer"].post(f"/v1/loans/{loan['id']}/repayments",
                                            json={"amount": amount, "effective_date": day})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def reversed_by_two(club, entry_id: str, reason: str) -> dict:
    """The treasurer asks for the entry's reversal, the chair approves: the approval."""
    request = await club["treasurer"].post(f"/v1/entries/{entry_id}/reversal",
                                           json={"reason": reason})
    assert request.status_code == 202, request.text
    approval = await club["chair"].post(f"/v1/corrections/{request.json()['id']}/approval")
    assert approval.status_code == 200, approval.text
    return dict(approval.json())


async def written_off(club, loan) -> dict:
    """The loan written off: asked on 06-10 by the treasurer, approved on 06-15."""
    await club["treasurer"].post(f"/v1/loans/{loan['id']}/write-off",
                                 json={"reason": "ốm", "effective_date": "2026-06-10"})
    written = await club["chair"].post(f"/v1/loans/{loan['id']}/write-off/approval",
                                       json={"effective_date": "2026-06-15"})
    assert written.status_code == 200, written.text
    return dict(written.json())


async def balances(club) -> dict[str, int]:
    return {code: a["balance"] for code, a in (await accounts_by_code(club["admin"],
                                                                      club["fund"])).items()}


async def loan_of(club, loan, **params) -> dict:
    response = await club["admin"].get(f"/v1/loans/{loan['id']}", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def audit_actions(club) -> list[str]:
    response = await club["admin"].get(f"/v1/funds/{club['fund']}/audit",
                                       params={"limit": 500})
    return [r["record"]["action"] for r in response.json()["items"]]


async def test_anonymous_callers_see_nothing_of_corrections(anonymous, club):
    some = uuid.uuid4()
    for method, path in (
        ("post", f"/v1/corrections/{some}/approval"),
        ("post", f"/v1/corrections/{some}/rejection"),
        ("get", f"/v1/corrections/{some}"),
        ("get", f"/v1/funds/{club['fund']}/corrections"),
        ("post", f"/v1/funds/{club['fund']}/periods/2026-01/reopen"),
    ):
        assert_problem(await getattr(anonymous, method)(path), 401, "unauthenticated")


async def test_a_mistyped_repayment_is_corrected_by_two_people(club, superuser_connection):
    """500,000 typed instead of 50,000: reversed (asked by the treasurer, approved by the
    chair), then 50,000 recorded — the loan, its interest and the cash are exactly as if
    50,000 had been typed."""
    loan = await disbursed(club)
    typo = await repay(club, loan, 500_000, "2026-03-05")
    request = await club["treasurer"].post(f"/v1/entries/{typo['entry_id']}/reversal",
                                           json={"reason": "gõ nhầm 500.000 thay vì 50.000"})
    assert request.status_code == 202, request.text
    correction = request.json()
    assert correction["status"] == "pending" and correction["kind"] == "reversal"
    pending = await club["chair"].get(f"/v1/funds/{club['fund']}/corrections",
                                      params={"status": "pending"})
    assert [c["id"] for c in pending.json()["items"]] == [correction["id"]]

    before = await snapshot(superuser_connection)
    again = await club["treasurer"].post(f"/v1/entries/{typo['entry_id']}/reversal",
                                         json={"reason": "lần nữa"})
    assert_problem(again, 409, "correction_pending")
    same = await club["treasurer"].post(f"/v1/corrections/{correction['id']}/approval")
    assert_problem(same, 403, "forbidden")  # a treasurer does not approve
    assert await snapshot(superuser_connection) == before

    approval = await club["chair"].post(f"/v1/corrections/{correction['id']}/approval",
                                        json={"note": "đồng ý"})
    assert approval.status_code == 200, approval.text
    assert approval.json()["status"] == "approved"
    assert approval.json()["reversal_entry_id"] is not None
    twice = await club["chair"].post(f"/v1/corrections/{correction['id']}/approval")
    assert_problem(twice, 409, "correction_decided")

    await repay(club, loan, 50_000, "2026-03-05")
    corrected = await loan_of(club, loan, as_of="2026-03-05")
    assert (corrected["outstanding_principal"], corrected["interest_paid"],
            corrected["principal_repaid"]) == (5_000_000, 50_000, 0)
    assert corrected["status"] == "disbursed"
    after = await balances(club)
    assert after["111"] == 8_000_000 - 5_000_000 + 50_000
    assert after[loan["account_code"]] == 5_000_000
    assert after["515"] == 50_000
    schedule = (await club["admin"].get(f"/v1/loans/{loan['id']}/schedule")).json()
    assert schedule["installments"][0]["interest_paid"] == 50_000
    assert sum(i["principal_paid"] for i in schedule["installments"]) == 0
    actions = await audit_actions(club)
    for action in ("correction.requested", "loan.repayment_reversed", "correction.approved"):
        assert action in actions


async def test_reversing_an_earlier_repayment_reallocates_the_later_one(
    club, superuser_connection
):
    """Two instalments paid on 03-05 and 04-05; the first reversed. The April payment
    then pays both months' interest and part of the first principal, as if the March
    one had never been recorded: an adjusting entry dated 04-05 moves 50,000."""
    loan = await disbursed(club)
    march = await repay(club, loan, 466_667, "2026-03-05")
    await repay(club, loan, 466_667, "2026-04-05")
    await reversed_by_two(club, march["entry_id"], "ghi trùng")
    position = await loan_of(club, loan, as_of="2026-04-05")
    assert (position["outstanding_principal"], position["interest_paid"],
            position["principal_repaid"]) == (5_000_000 - 366_667, 100_000, 366_667)
    after = await balances(club)
    assert after[loan["account_code"]] == 5_000_000 - 366_667
    assert after["515"] == 100_000
    entries = (await club["admin"].get(f"/v1/funds/{club['fund']}/entries",
                                       params={"limit": 100})).json()["items"]
    adjustment = [e for e in entries
                  if e["metadata"].get("operation") == "loan_repayment_adjustment"]
    assert len(adjustment) == 1 and adjustment[0]["effective_date"] == "2026-04-05"
    assert {(p["side"], p["amount"]) for p in adjustment[0]["postings"]} == {
        ("debit", 50_000), ("credit", 50_000)}
    # What the database keeps on the loan's row of what was paid by each date (the
    # portfolio reads it) nets the reversal, dated as the March receipt it reverses, and
    # the adjustment: nothing by 03-05, 100,000 interest and 366,667 principal by 04-05.
    totals = await superuser_connection.fetchrow(
        "SELECT paid_dates, paid_interest_principal_by_date, paid_principal_by_date"
        " FROM loans WHERE id = $1", uuid.UUID(loan["id"]))
    assert tuple(totals) == ([date(2026, 3, 5), date(2026, 4, 5)], [0, 466_667],
                             [0, 366_667])


async def test_a_forgotten_april_receipt_is_accepted_after_mays(club):
    loan = await disbursed(club)
    await repay(club, loan, 466_667, "2026-03-05")
    may = await repay(club, loan, 466_667, "2026-05-05")
    assert may["allocation"] == {"penalty": 0, "interest": 100_000, "principal": 366_667}
    april = await repay(club, loan, 466_667, "2026-04-05")
    assert april["allocation"] == {"penalty": 0, "interest": 50_000, "principal": 416_667}
    schedule = (await club["admin"].get(f"/v1/loans/{loan['id']}/schedule")).json()
    assert [(i["principal_paid"], i["interest_paid"]) for i in schedule["installments"][:4]] \
        == [(416_667, 50_000)] * 3 + [(0, 0)]
    position = await loan_of(club, loan, as_of="2026-05-05")
    assert position["outstanding_principal"] == 5_000_000 - 3 * 416_667
    assert position["days_overdue"] == 0
    after = await balances(club)
    assert after[loan["account_code"]] == 5_000_000 - 3 * 416_667
    assert after["515"] == 150_000
    events = [e["kind"] for e in position["events"]]
    assert events.count("repayment_adjusted") == 1


async def test_a_month_is_reopened_by_two_people_and_closed_again(
    club, client_for, new_token, superuser_connection
):
    fund, chair = club["fund"], club["chair"]
    for month in ("2026-01", "2026-02"):
        closed = await chair.post(f"/v1/funds/{fund}/periods/{month}/close")
        assert closed.status_code == 201, closed.text
    not_latest = await chair.post(f"/v1/funds/{fund}/periods/2026-01/reopen",
                                  json={"reason": "x"})
    assert_problem(not_latest, 409, "period_not_latest_closed")
    request = await chair.post(f"/v1/funds/{fund}/periods/2026-02/reopen",
                               json={"reason": "quên phiếu thu ngày 10/2"})
    assert request.status_code == 202, request.text
    correction = request.json()
    assert (correction["kind"], correction["period"]) == ("reopen", "2026-02")
    before = await snapshot(superuser_connection)
    by_chair = await chair.post(f"/v1/corrections/{correction['id']}/approval")
    assert_problem(by_chair, 403, "forbidden")
    assert await snapshot(superuser_connection) == before

    commune = await superuser_connection.fetchval(
        "SELECT area_code FROM clubs WHERE id = $1", uuid.UUID(club["club"]))
    auditor = client_for(await new_token("auditor", scope=f"area:{commune}"))
    approval = await auditor.post(f"/v1/corrections/{correction['id']}/approval")
    assert approval.status_code == 200, approval.text
    late = await club["treasurer"].post(f"/v1/funds/{fund}/donations",
                                        json={"amount": 1_000, "effective_date": "2026-02-10"})
    assert late.status_code == 201, late.text
    january = await club["treasurer"].post(f"/v1/funds/{fund}/donations",
                                           json={"amount": 1_000,
                                                 "effective_date": "2026-01-10"})
    assert_problem(january, 409, "period_closed")
    closed = await chair.post(f"/v1/funds/{fund}/periods/2026-02/close")
    assert closed.status_code == 201, closed.text
    after_close = await club["treasurer"].post(f"/v1/funds/{fund}/donations",
                                               json={"amount": 1_000,
                                                     "effective_date": "2026-02-11"})
    assert_problem(after_close, 409, "period_closed")
    actions = await audit_actions(club)
    assert actions.count("period.closed") == 3
    for action in ("correction.requested", "period.reopened", "correction.approved"):
        assert action in actions


async def test_the_first_close_reopened_keeps_the_months_before_it_closed(club):
    fund, chair = club["fund"], club["chair"]
    assert (await chair.post(f"/v1/funds/{fund}/periods/2026-02/close")).status_code == 201
    request = await chair.post(f"/v1/funds/{fund}/periods/2026-02/reopen",
                               json={"reason": "x"})
    approval = await club["admin"].post(f"/v1/corrections/{request.json()['id']}/approval")
    assert approval.status_code == 200, approval.text
    january = await club["treasurer"].post(f"/v1/funds/{fund}/donations",
                                           json={"amount": 1_000,
                                                 "effective_date": "2026-01-31"})
    assert_problem(january, 409, "period_closed")


async def test_one_person_may_not_approve_their_own_correction(client, club):
    donation = await club["treasurer"].post(f"/v1/funds/{club['fund']}/donations",
                                            json={"amount": 1_000,
                                                  "effective_date": "2026-03-01"})
    request = await client.post(f"/v1/entries/{donation.json()['id']}/reversal",
                                json={"reason": "nhầm"})
    assert request.status_code == 202, request.text
    same = await client.post(f"/v1/corrections/{request.json()['id']}/approval")
    assert_problem(same, 403, "same_actor_approval")
    rejected = await club["chair"].post(f"/v1/corrections/{request.json()['id']}/rejection",
                                        json={"note": "không cần"})
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    assert (await balances(club))["711"] == 1_000


async def test_a_club_reversal_needs_its_reason(club):
    donation = await club["treasurer"].post(f"/v1/funds/{club['fund']}/donations",
                                            json={"amount": 1_000,
                                                  "effective_date": "2026-03-01"})
    response = await club["treasurer"].post(f"/v1/entries/{donation.json()['id']}/reversal")
    assert_problem(response, 422, "reason_required")


async def test_a_written_off_loan_is_restored_by_reversing_its_write_off(club):
    loan = await disbursed(club)
    written = await written_off(club, loan)
    entry = next(e for e in written["events"] if e["kind"] == "written_off")
    await reversed_by_two(club, entry["entry_id"], "xóa nhầm")
    position = await loan_of(club, loan, as_of="2026-06-20")
    assert position["status"] == "disbursed"
    assert position["outstanding_principal"] == 5_000_000
    assert (await balances(club))["811"] == 0


async def portfolio_row(club, connection, day: str) -> dict:
    commune = await connection.fetchval(
        "SELECT area_code FROM clubs WHERE id = $1", uuid.UUID(club["club"]))
    report = await club["admin"].get("/v1/reports/portfolio",
                                     params={"area": commune, "as_of": day})
    assert report.status_code == 200, report.text
    return dict(next(r for r in report.json()["items"] if r["level"] == "club"))


async def test_a_mistaken_disbursement_is_reversed_by_two_people_and_disbursed_again(
    club, superuser_connection
):
    """Recorded as paid out on 02-05, the money was handed over on 02-10: the treasurer
    asks, the chair approves, the loan is approved again owing nothing on every date,
    and is disbursed again on the right day with the same 131.NNNN account."""
    loan = await disbursed(club)
    entry_id = next(e["entry_id"] for e in loan["events"] if e["kind"] == "disbursed")
    request = await club["treasurer"].post(f"/v1/entries/{entry_id}/reversal",
                                           json={"reason": "tiền giao ngày 10/2, không phải 5/2"})
    assert request.status_code == 202, request.text
    same = await club["treasurer"].post(f"/v1/corrections/{request.json()['id']}/approval")
    assert_problem(same, 403, "forbidden")
    approval = await club["chair"].post(f"/v1/corrections/{request.json()['id']}/approval")
    assert approval.status_code == 200, approval.text
    reversal = (await club["admin"].get(
        f"/v1/entries/{approval.json()['reversal_entry_id']}")).json()
    assert reversal["effective_date"] == "2026-02-05"

    position = await loan_of(club, loan, as_of="2026-02-07")
    assert (position["status"], position["outstanding_principal"], position["disbursed_on"],
            position["account_id"], position["payoff_amount"]) == (
        "approved", 0, None, None, 0)
    assert [e["kind"] for e in position["events"]][-2:] == [
        "disbursed", "disbursement_reversed"]
    after = await balances(club)
    assert (after["111"], after[loan["account_code"]]) == (8_000_000, 0)
    row = await portfolio_row(club, superuser_connection, "2026-02-07")
    assert (row["loans_outstanding"], row["active_borrowers"]) == (0, 0)
    actions = await audit_actions(club)
    for action in ("correction.requested", "loan.disbursement_reversed",
                   "correction.approved"):
        assert action in actions
    again = await club["treasurer"].post(f"/v1/entries/{entry_id}/reversal",
                                         json={"reason": "lần nữa"})
    assert_problem(again, 409, "already_reversed")
    early = await club["treasurer"].post(f"/v1/loans/{loan['id']}/repayments",
                                         json={"amount": 100_000,
                                               "effective_date": "2026-03-05"})
    assert_problem(early, 409, "invalid_loan_state")  # nothing is lent: nothing is repaid

    redisbursed = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                               json={"effective_date": "2026-02-10"})
    assert redisbursed.status_code == 200, redisbursed.text
    assert (redisbursed.json()["account_code"], redisbursed.json()["disbursed_on"]) == (
        loan["account_code"], "2026-02-10")
    await repay(club, loan, 466_667, "2026-03-05")
    after = await balances(club)
    assert after[loan["account_code"]] == 5_000_000 - 416_667
    assert after["111"] == 8_000_000 - 5_000_000 + 466_667
    for day, outstanding in (("2026-02-07", 0), ("2026-02-10", 5_000_000),
                             ("2026-03-05", 5_000_000 - 416_667)):
        assert (await loan_of(club, loan, as_of=day))["outstanding_principal"] == outstanding
        row = await portfolio_row(club, superuser_connection, day)
        assert row["loans_outstanding"] == outstanding, day


async def test_a_loan_disbursed_again_is_reported_on_its_new_schedule(
    club, superuser_connection
):
    """Interest counted on actual days: disbursed again five days later, the first
    instalment's interest is smaller, and the portfolio report counts that schedule."""
    loan = await disbursed(club, interest_method="declining_balance", day_count="actual_365",
                           amortization="equal_principal")
    first = (await club["admin"].get(f"/v1/loans/{loan['id']}/schedule")).json()
    entry_id = next(e["entry_id"] for e in loan["events"] if e["kind"] == "disbursed")
    await reversed_by_two(club, entry_id, "sai ngày giải ngân")
    again = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                         json={"effective_date": "2026-02-10"})
    assert again.status_code == 200, again.text
    second = (await club["admin"].get(f"/v1/loans/{loan['id']}/schedule")).json()
    due = second["installments"][0]["total"]
    assert due < first["installments"][0]["total"]
    row = await portfolio_row(club, superuser_connection, "2026-03-05")
    assert (row["loans_outstanding"], row["amount_fallen_due"]) == (5_000_000, due)


async def test_a_disbursement_is_reversed_only_after_its_repayments(club, superuser_connection):
    loan = await disbursed(club)
    disbursement = next(e["entry_id"] for e in loan["events"] if e["kind"] == "disbursed")
    # Asked while nothing was repaid, approved after a repayment: refused at approval.
    asked = await club["treasurer"].post(f"/v1/entries/{disbursement}/reversal",
                                         json={"reason": "giải ngân nhầm"})
    assert asked.status_code == 202, asked.text
    march = await repay(club, loan, 466_667, "2026-03-05")
    before = await snapshot(superuser_connection)
    late = await club["chair"].post(f"/v1/corrections/{asked.json()['id']}/approval")
    assert_problem(late, 409, "disbursement_has_repayments")
    assert "reverse its repayments first" in late.json()["detail"]
    assert await snapshot(superuser_connection) == before
    withdrawn = await club["chair"].post(f"/v1/corrections/{asked.json()['id']}/rejection")
    assert withdrawn.status_code == 200, withdrawn.text

    before = await snapshot(superuser_connection)
    refused = await club["treasurer"].post(f"/v1/entries/{disbursement}/reversal",
                                           json={"reason": "giải ngân nhầm"})
    assert_problem(refused, 409, "disbursement_has_repayments")
    assert await snapshot(superuser_connection) == before

    for entry_id in (march["entry_id"], disbursement):  # the repayment first, then it
        await reversed_by_two(club, entry_id, "giải ngân nhầm")
    position = await loan_of(club, loan, as_of="2026-03-05")
    assert (position["status"], position["outstanding_principal"]) == ("approved", 0)
    after = await balances(club)
    assert (after["111"], after[loan["account_code"]], after["515"]) == (8_000_000, 0, 0)


async def test_a_written_off_loans_disbursement_is_reversed_after_its_write_off(club):
    loan = await disbursed(club)
    disbursement = next(e["entry_id"] for e in loan["events"] if e["kind"] == "disbursed")
    await club["treasurer"].post(f"/v1/loans/{loan['id']}/write-off",
                                 json={"reason": "ốm", "effective_date": "2026-06-10"})
    refused = await club["treasurer"].post(f"/v1/entries/{disbursement}/reversal",
                                           json={"reason": "giải ngân nhầm"})
    assert_problem(refused, 409, "invalid_loan_state")  # the request is decided first


async def test_an_entry_claiming_a_loan_operation_does_not_move_the_loan(club):
    """Metadata is the caller's: only the loan's own events say which entry is its
    write-off, so reversing an ordinary entry that claims to be one is an ordinary
    reversal and the written-off loan stays written off."""
    loan = await disbursed(club)
    await written_off(club, loan)
    codes = await accounts_by_code(club["admin"], club["fund"])
    claim = await club["treasurer"].post(f"/v1/funds/{club['fund']}/entries", json={
        "effective_date": "2026-06-16", "description": "Thu khác", "currency": "VND",
        "metadata": {"loan_id": loan["id"], "operation": "loan_write_off",
                     "loan_number": 1},
        "postings": [{"account_id": codes["111"]["id"], "side": "debit", "amount": 1_000},
                     {"account_id": codes["711"]["id"], "side": "credit", "amount": 1_000}]})
    assert claim.status_code == 201, claim.text
    await reversed_by_two(club, claim.json()["id"], "ghi nhầm")
    position = await loan_of(club, loan)
    assert (position["status"], position["outstanding_principal"]) == ("written_off", 0)
    after = await balances(club)
    assert (after[loan["account_code"]], after["811"], after["711"]) == (0, 5_000_000, 0)


async def test_a_loan_seen_as_of_a_date_counts_only_its_events_up_to_then(club):
    """1,200,000 over 12 months at 1 %: 100,000 principal + 12,000 interest a month,
    first due 2026-03-05."""
    repaid = await disbursed(club, principal=1_200_000)
    overdue = await disbursed(club, principal=1_200_000)
    written_off = await disbursed(club, principal=1_200_000)
    await repay(club, repaid, 112_000, "2026-03-05")
    await repay(club, repaid, 1_100_000 + 12_000, "2026-04-05")  # the payoff on 04-05
    await repay(club, overdue, 112_000, "2026-03-05")
    await club["treasurer"].post(f"/v1/loans/{written_off['id']}/write-off",
                                 json={"reason": "ốm", "effective_date": "2026-06-10"})
    approval = await club["chair"].post(f"/v1/loans/{written_off['id']}/write-off/approval",
                                        json={"effective_date": "2026-06-15"})
    assert approval.status_code == 200, approval.text

    def position(read):
        return (read["outstanding_principal"], read["principal_repaid"],
                read["interest_paid"], read["days_overdue"], read["par30_principal"])

    assert position(await loan_of(club, repaid, as_of="2026-03-04")) == (
        1_200_000, 0, 0, 0, 0)
    assert position(await loan_of(club, repaid, as_of="2026-03-20")) == (
        1_100_000, 100_000, 12_000, 0, 0)
    assert position(await loan_of(club, repaid, as_of="2026-04-05")) == (0, 1_200_000, 24_000,
                                                                          0, 0)
    assert position(await loan_of(club, overdue, as_of="2026-04-05")) == (
        1_100_000, 100_000, 12_000, 0, 0)
    assert position(await loan_of(club, overdue, as_of="2026-05-10")) == (
        1_100_000, 100_000, 12_000, 35, 1_100_000)
    assert position(await loan_of(club, written_off, as_of="2026-06-14")) == (
        1_200_000, 0, 0, 101, 1_200_000)
    assert position(await loan_of(club, written_off, as_of="2026-06-15")) == (0, 0, 0, 0, 0)
    listed = await club["admin"].get(f"/v1/funds/{club['fund']}/loans",
                                     params={"as_of": "2026-05-10"})
    assert sum(item["par30_principal"] for item in listed.json()["items"]) == (
        1_100_000 + 1_200_000)


async def test_the_loan_lists_par30_adds_up_to_the_portfolio_reports(club, superuser_connection):
    """On every date, the sum of the loan list's par30_principal over a club is the
    portfolio report's PAR30 numerator for it — including a loan whose payment covers
    two months of interest but not the first month's principal."""
    partial = await disbursed(club, principal=1_200_000)
    late = await disbursed(club, principal=1_200_000)
    await repay(club, partial, 112_000, "2026-03-05")
    await repay(club, partial, 150_000, "2026-05-20")  # covers April, part of May
    # Two months' interest and 96,000 of March's 100,000 principal: March's instalment is
    # not fully paid, but what was paid covers more than March's total.
    await repay(club, late, 120_000, "2026-04-20")
    commune = await superuser_connection.fetchval(
        "SELECT area_code FROM clubs WHERE id = $1", uuid.UUID(club["club"]))
    for day in ("2026-03-05", "2026-04-05", "2026-04-10", "2026-04-25", "2026-05-06",
                "2026-05-20",
                "2026-06-10", "2026-07-01"):
        loans = await club["admin"].get(f"/v1/funds/{club['fund']}/loans",
                                        params={"as_of": day})
        listed = sum(item["par30_principal"] for item in loans.json()["items"])
        report = await club["admin"].get("/v1/reports/portfolio",
                                         params={"area": commune, "as_of": day})
        row = next(r for r in report.json()["items"] if r["level"] == "club")
        assert listed == row["outstanding_at_risk_30"], day


async def test_a_commune_auditor_sees_corrections_but_not_another_areas(
    club, client, client_for, new_token
):
    other = await post_commune(client, prefix="52")
    outsider = client_for(await new_token("auditor", scope=f"area:{other}"))
    response = await outsider.get(f"/v1/funds/{club['fund']}/corrections")
    assert_problem(response, 404, "not_found")
