"""Dates make sense, and no never-negative account is negative at the end of any day.

The worked cases of a new treasurer's books: a year typo, a donation dated next year
paying for a disbursement this year, an expense back-dated before any cash existed,
an approval dated before its application, a disbursement before its approval, an
application in a closed month. Each refusal is a 4xx problem+json naming the rule and
the date, and writes nothing."""

# ruff: noqa: F811  (the `club` fixture, imported, is every test's parameter)
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.api.factories import accounts_by_code
from tests.api.test_loans_api import (  # noqa: F401 (club: a fixture)
    apply,
    approved,
    assert_problem,
    club,
    snapshot,
)

TODAY = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
# Two days ahead: still the future however the clock turns between here and the server.
FUTURE = (TODAY + timedelta(days=2)).isoformat()
NEXT_YEAR = TODAY.replace(year=TODAY.year + 1, day=1).isoformat()


async def test_nothing_is_dated_after_today_and_nothing_is_written(club, superuser_connection):
    fund, treasurer = club["fund"], club["treasurer"]
    before = await snapshot(superuser_connection)
    for day in (FUTURE, NEXT_YEAR):
        donation = await treasurer.post(f"/v1/funds/{fund}/donations",
                                        json={"amount": 1_000, "effective_date": day})
        assert_problem(donation, 422, "future_date")
        assert day in donation.json()["detail"] and "after today" in donation.json()["detail"]
        accounts = await accounts_by_code(treasurer, fund)
        entry = await treasurer.post(f"/v1/funds/{fund}/entries", json={
            "effective_date": day, "description": "x", "currency": "VND",
            "postings": [{"account_id": accounts["111"]["id"], "side": "debit", "amount": 1},
                         {"account_id": accounts["711"]["id"], "side": "credit", "amount": 1}]})
        assert_problem(entry, 422, "future_date")
        application = await treasurer.post(f"/v1/funds/{fund}/loans", json={
            "member_id": club["member"], "principal": 1_000_000, "installments": 6,
            "rate_per_period": "0.01", "first_due_date": "2999-01-05", "applied_on": day})
        assert_problem(application, 422, "future_date")
    assert await snapshot(superuser_connection) == before


async def test_the_year_typo_of_a_repayment_is_refused(club, superuser_connection):
    loan = await approved(club)
    disbursed = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                             json={"effective_date": "2026-02-05"})
    assert disbursed.status_code == 200, disbursed.text
    before = await snapshot(superuser_connection)
    typo = await club["treasurer"].post(f"/v1/loans/{loan['id']}/repayments", json={
        "amount": 500_000, "effective_date": NEXT_YEAR})
    assert_problem(typo, 422, "future_date")
    assert await snapshot(superuser_connection) == before
    real = await club["treasurer"].post(f"/v1/loans/{loan['id']}/repayments", json={
        "amount": 466_667, "effective_date": "2026-03-05"})
    assert real.status_code == 201, real.text


@pytest.mark.parametrize(("where", "params"), [
    ("trial-balance", {"as_of": "0"}),
    ("trial-balance", {"as_of": "1899-12-31"}),
    ("trial-balance", {"as_of": "3000-01-01"}),
    ("trial-balance", {"as_of": "2026-02-30"}),
    ("trial-balance", {"as_of": "20260301"}),
    ("loans", {"as_of": "0"}),
    ("statement", {"from": "0"}),
    ("statement", {"to": "1899-01-01"}),
    ("portfolio", {"as_of": "0"}),
])
async def test_a_query_date_is_a_calendar_date_within_the_bounds(club, where, params):
    fund = club["fund"]
    cash = (await accounts_by_code(club["treasurer"], fund))["111"]["id"]
    url = {"trial-balance": f"/v1/funds/{fund}/trial-balance",
           "loans": f"/v1/funds/{fund}/loans",
           "statement": f"/v1/accounts/{cash}/statement",
           "portfolio": "/v1/reports/portfolio"}[where]
    response = await club["admin"].get(url, params=params)
    assert_problem(response, 422, "invalid_date")
    assert next(iter(params.values())) in response.json()["detail"]


@pytest.mark.parametrize("where", ["trial-balance", "loans", "statement"])
async def test_a_query_date_is_not_after_today(club, where):
    fund = club["fund"]
    cash = (await accounts_by_code(club["treasurer"], fund))["111"]["id"]
    url, params = {
        "trial-balance": (f"/v1/funds/{fund}/trial-balance", {"as_of": FUTURE}),
        "loans": (f"/v1/funds/{fund}/loans", {"as_of": FUTURE}),
        "statement": (f"/v1/accounts/{cash}/statement", {"to": FUTURE}),
    }[where]
    assert_problem(await club["admin"].get(url, params=params), 422, "future_date")


@pytest.mark.parametrize("body", [
    {"amount": 1_000, "effective_date": 0},
    {"amount": 1_000, "effective_date": 20260301},
    {"amount": 1_000, "effective_date": "0"},
    {"amount": 1_000, "effective_date": "1899-12-31"},
    {"amount": 1_000, "effective_date": "2026-03-01T00:00:00"},
])
async def test_a_body_date_is_written_yyyy_mm_dd_within_the_bounds(club, body):
    response = await club["treasurer"].post(f"/v1/funds/{club['fund']}/donations", json=body)
    assert_problem(response, 422, "invalid_date")
    assert "effective_date" in response.json()["detail"]


@pytest.mark.parametrize("period", ["9999-12", "1899-12", "3000-01"])
async def test_a_period_outside_the_bounds_is_an_invalid_date_not_a_crash(club, period):
    response = await club["chair"].post(f"/v1/funds/{club['fund']}/periods/{period}/close")
    assert_problem(response, 422, "invalid_date")
    assert period in response.json()["detail"]


async def test_a_loans_events_keep_their_order(club, superuser_connection):
    loan = await apply(club)  # applied on 2026-02-01
    before = await snapshot(superuser_connection)
    early = await club["chair"].post(f"/v1/loans/{loan['id']}/approval",
                                     json={"effective_date": "2026-01-31"})
    assert_problem(early, 422, "invalid_date")
    assert "2026-01-31" in early.json()["detail"] and "2026-02-01" in early.json()["detail"]
    assert await snapshot(superuser_connection) == before

    approval = await club["chair"].post(f"/v1/loans/{loan['id']}/approval",
                                        json={"effective_date": "2026-02-03"})
    assert approval.status_code == 200, approval.text
    before = await snapshot(superuser_connection)
    early = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                         json={"effective_date": "2026-02-02"})
    assert_problem(early, 422, "invalid_date")
    assert "before the approval on 2026-02-03" in early.json()["detail"]
    assert await snapshot(superuser_connection) == before
    on_time = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                           json={"effective_date": "2026-02-03"})
    assert on_time.status_code == 200, on_time.text


async def test_every_loan_event_is_refused_in_a_closed_month(club, superuser_connection):
    loan = await apply(club)  # applied on 2026-02-01
    closed = await club["chair"].post(f"/v1/funds/{club['fund']}/periods/2026-02/close")
    assert closed.status_code == 201, closed.text
    before = await snapshot(superuser_connection)
    application = await club["treasurer"].post(f"/v1/funds/{club['fund']}/loans", json={
        "member_id": club["member"], "principal": 1_000_000, "installments": 6,
        "rate_per_period": "0.01", "first_due_date": "2026-04-05",
        "applied_on": "2026-02-10"})
    assert_problem(application, 409, "period_closed")
    assert "2026-02-10" in application.json()["detail"]
    approval = await club["chair"].post(f"/v1/loans/{loan['id']}/approval",
                                        json={"effective_date": "2026-02-20"})
    assert_problem(approval, 409, "period_closed")
    assert await snapshot(superuser_connection) == before


async def test_a_donation_cannot_pay_for_a_disbursement_before_it(club, superuser_connection):
    """The fund holds 8,000,000 from 2026-01-05. A donation dated next year is refused;
    a donation dated after the disbursement does not pay for it either."""
    loan = await approved(club, principal=9_000_000)
    late = await club["treasurer"].post(f"/v1/funds/{club['fund']}/donations",
                                        json={"amount": 5_000_000, "effective_date": NEXT_YEAR})
    assert_problem(late, 422, "future_date")
    after = await club["treasurer"].post(f"/v1/funds/{club['fund']}/donations",
                                         json={"amount": 5_000_000,
                                               "effective_date": "2026-03-01"})
    assert after.status_code == 201, after.text
    before = await snapshot(superuser_connection)
    disbursement = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                                json={"effective_date": "2026-02-05"})
    assert_problem(disbursement, 422, "insufficient_funds")
    detail = disbursement.json()["detail"]
    assert "111" in detail and "2026-02-05" in detail and "-1000000" in detail
    assert await snapshot(superuser_connection) == before
    paid = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                        json={"effective_date": "2026-03-01"})
    assert paid.status_code == 200, paid.text


async def test_a_back_dated_expense_may_not_make_any_day_negative(club, superuser_connection):
    """Cash: 8,000,000 from 2026-01-05. An expense dated before that is refused (the
    statement would close a day at −50,000); one that fits on its day but not on a
    later day, after a later expense, is refused naming that later day."""
    fund, treasurer = club["fund"], club["treasurer"]
    before = await snapshot(superuser_connection)
    early = await treasurer.post(f"/v1/funds/{fund}/expenses",
                                 json={"amount": 50_000, "effective_date": "2026-01-04"})
    assert_problem(early, 422, "insufficient_funds")
    assert "2026-01-04" in early.json()["detail"] and "-50000" in early.json()["detail"]
    assert await snapshot(superuser_connection) == before

    later = await treasurer.post(f"/v1/funds/{fund}/expenses",
                                 json={"amount": 7_000_000, "effective_date": "2026-03-10"})
    assert later.status_code == 201, later.text
    before = await snapshot(superuser_connection)
    squeezed = await treasurer.post(f"/v1/funds/{fund}/expenses",
                                    json={"amount": 1_500_000, "effective_date": "2026-02-01"})
    assert_problem(squeezed, 422, "insufficient_funds")
    detail = squeezed.json()["detail"]
    assert "at the end of 2026-03-10" in detail and "-500000" in detail
    assert await snapshot(superuser_connection) == before
    fits = await treasurer.post(f"/v1/funds/{fund}/expenses",
                                json={"amount": 1_000_000, "effective_date": "2026-02-01"})
    assert fits.status_code == 201, fits.text
    cash = (await accounts_by_code(treasurer, fund))["111"]
    statement = await treasurer.get(f"/v1/accounts/{cash['id']}/statement",
                                    params={"from": "2026-01-01", "to": "2026-03-31"})
    assert [line["balance"] for line in statement.json()["items"]] == [
        8_000_000, 7_000_000, 0]
    assert statement.json()["closing_balance"] == 0
