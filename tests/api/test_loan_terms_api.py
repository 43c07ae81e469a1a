"""Loan terms within bounds, named in the refusal, and rescheduling an approved loan
before it is paid out. Every refusal writes nothing."""
# ruff: noqa: F811  (the `club` fixture, imported, is every test's parameter)

from __future__ import annotations

import uuid

import asyncpg
import pytest

from tests.api.test_loans_api import (  # noqa: F401 (club: a fixture)
    apply,
    approved,
    assert_problem,
    club,
    disbursed,
    snapshot,
)

NOBODY = "00000000-0000-7000-8000-000000000000"


async def loan_terms_row(connection, loan_id: str) -> tuple:
    return tuple(await connection.fetchrow(
        "SELECT first_due_date, installments, outstanding_principal, events_count"
        " FROM loans WHERE id = $1",
        uuid.UUID(loan_id)))


async def test_anonymous_callers_can_neither_apply_nor_reschedule(anonymous, club):
    application = await anonymous.post(f"/v1/funds/{club['fund']}/loans", json={
        "member_id": club["member"], "principal": 5_000_000, "installments": 12,
        "rate_per_period": "1", "first_due_date": "2026-03-05"})
    assert_problem(application, 401, "unauthenticated")
    reschedule = await anonymous.post(f"/v1/loans/{NOBODY}/reschedule",
                                      json={"installments": 6})
    assert_problem(reschedule, 401, "unauthenticated")


@pytest.mark.parametrize(("change", "rule", "field", "english", "vietnamese"), [
    # 100 %/month = 1,200 %/year
    ({"rate_per_period": "1"}, "annual_rate_max", "rate_per_period",
     "annual_rate_max: the annual rate 1200 % (rate per period × 12 periods a year) is above"
     " 20 % (Civil Code art. 468)",
     "annual_rate_max: lãi suất năm 1200 % (lãi suất mỗi kỳ × 12 kỳ một năm) vượt quá 20 %"
     " (Bộ luật Dân sự, điều 468)"),
    # 50 %/day against 1 %/month: 18,250 %/year against at most 18 %
    ({"penalty_rate_per_day": "0.5"}, "penalty_rate_max", "penalty_rate_per_day",
     "penalty_rate_max: the overdue penalty 18250 % a year (per day × 365) is above 150 % of"
     " the loan's annual rate 12 %, that is 18 % (Civil Code art. 466)",
     "penalty_rate_max: lãi phạt quá hạn 18250 % một năm (mỗi ngày × 365) vượt quá 150 %"
     " lãi suất năm của khoản vay 12 %, tức là 18 % (Bộ luật Dân sự, điều 466)"),
    # 1 đồng over 12 instalments
    ({"principal": 1}, "principal_min", "principal",
     "principal_min: the principal 1 is less than one rounding unit (1) per instalment (12):"
     " at least 12",
     "principal_min: số tiền vay 1 nhỏ hơn một đơn vị làm tròn (1) cho mỗi kỳ trả (12 kỳ):"
     " tối thiểu 12"),
    # interest only at 1 % of 6,000,000: instalments of 60,000 against a unit of 100,000
    ({"principal": 6_000_000, "amortization": "interest_only", "rounding_unit": 100_000},
     "rounding_unit_max", "rounding_unit",
     "rounding_unit_max: the rounding unit 100000 is larger than instalment 1 (60000)",
     "rounding_unit_max: đơn vị làm tròn 100000 lớn hơn kỳ trả số 1 (60000)"),
])
async def test_every_bound_on_the_terms_is_refused_naming_its_rule(
    club, superuser_connection, change, rule, field, english, vietnamese
):
    body = {"member_id": club["member"], "principal": 5_000_000, "installments": 12,
            "rate_per_period": "0.01", "first_due_date": "2026-03-05",
            "applied_on": "2026-02-01", **change}
    url = f"/v1/funds/{club['fund']}/loans"
    before = await snapshot(superuser_connection)
    response = await club["treasurer"].post(url, json=body, headers={"Idempotency-Key": rule})
    assert_problem(response, 422, "invalid_loan_terms")
    problem = response.json()
    assert problem["detail"] == english
    assert problem["errors"] == [{"loc": ["body", field], "msg": problem["errors"][0]["msg"],
                                  "type": rule}]
    in_vietnamese = await club["treasurer"].post(url, json=body,
                                                 headers={"Accept-Language": "vi"})
    assert_problem(in_vietnamese, 422, "invalid_loan_terms")
    assert in_vietnamese.json()["detail"] == vietnamese
    assert await snapshot(superuser_connection) == before


async def test_terms_at_the_bounds_are_accepted(club):
    # 20 %/year exactly (5 % a quarter) and a penalty of 150 % of it: 30 %/year.
    loan = await apply(club, frequency="quarterly", installments=4, rate_per_period="0.05",
                       penalty_rate_per_day="0.000821")  # × 365 = 29.97 % ≤ 30 %
    assert loan["status"] == "applied"


async def test_a_flat_loan_rounds_its_interest_once_on_the_total(club):
    # 3,333,333 × 0.7 % × 12 = 279,999.9972 → 280,000: 23,333 × 11 and 23,337 last.
    loan = await apply(club, principal=3_333_333, rate_per_period="0.007")
    schedule = (await club["treasurer"].get(f"/v1/loans/{loan['id']}/schedule")).json()
    assert schedule["total_interest"] == 280_000
    assert [i["interest"] for i in schedule["installments"]] == [23_333] * 11 + [23_337]


async def test_the_database_refuses_terms_outside_the_bounds(club, superuser_connection):
    """The second guard: a write of terms the service would refuse fails in PostgreSQL."""
    loan = await apply(club)
    for column, value in (("rate_per_period", "0.02"), ("penalty_rate_per_day", "0.001"),
                          ("installments", "5000001")):
        with pytest.raises(asyncpg.CheckViolationError) as raised:
            await superuser_connection.execute(
                f"UPDATE loans SET {column} = $1::numeric WHERE id = $2", value,
                uuid.UUID(loan["id"]))
        assert raised.value.constraint_name == "ck_loans_terms_within_bounds"


# --------------------------------------------------------------------------- reschedule


async def test_rescheduling_an_approved_loan_recomputes_its_schedule(
    club, superuser_connection
):
    loan = await approved(club)  # 5,000,000 over 12 from 2026-03-05, approved 2026-02-01
    url = f"/v1/loans/{loan['id']}/reschedule"
    headers = {"Idempotency-Key": "later-harvest"}
    body = {"first_due_date": "2026-04-10", "installments": 10, "reason": "mùa vụ muộn",
            "effective_date": "2026-02-03"}
    response = await club["treasurer"].post(url, json=body, headers=headers)
    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["status"], moved["first_due_date"], moved["installments"]) == (
        "approved", "2026-04-10", 10)
    event = moved["events"][-1]
    assert (event["kind"], event["effective_date"]) == ("rescheduled", "2026-02-03")
    assert event["data"] == {"reason": "mùa vụ muộn",
                             "before": {"first_due_date": "2026-03-05", "installments": 12},
                             "after": {"first_due_date": "2026-04-10", "installments": 10}}
    schedule = (await club["treasurer"].get(f"/v1/loans/{loan['id']}/schedule")).json()
    # 5,000,000 / 10 = 500,000 principal, 50,000 interest, from 2026-04-10 monthly.
    assert [(i["due_date"], i["principal"], i["interest"])
            for i in schedule["installments"][:2]] == [
        ("2026-04-10", 500_000, 50_000), ("2026-05-10", 500_000, 50_000)]
    assert (len(schedule["installments"]), schedule["total_interest"]) == (10, 500_000)
    audit = await superuser_connection.fetchval(
        "SELECT count(*) FROM audit_records WHERE fund_id = $1 AND action = 'loan.rescheduled'",
        uuid.UUID(club["fund"]))
    assert audit == 1
    again = await club["treasurer"].post(url, json=body, headers=headers)
    assert again.status_code == 200 and again.headers.get("idempotent-replayed") == "true"
    assert again.json() == moved
    # Only the count: the due date stays; then the loan is paid out on the new schedule.
    fewer = await club["treasurer"].post(url, json={"installments": 5,
                                                    "effective_date": "2026-02-04"})
    assert (fewer.json()["first_due_date"], fewer.json()["installments"]) == ("2026-04-10", 5)
    paid_out = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                            json={"effective_date": "2026-02-05"})
    assert paid_out.status_code == 200, paid_out.text
    installments = await superuser_connection.fetchval(
        "SELECT count(*) FROM loan_installments WHERE loan_id = $1", uuid.UUID(loan["id"]))
    assert installments == 5


async def test_rescheduling_is_refused_outside_an_approved_loan_and_writes_nothing(
    club, superuser_connection
):
    applied = await apply(club)
    paid_out = await disbursed(club)
    before = await snapshot(superuser_connection)
    for loan in (applied, paid_out):
        response = await club["treasurer"].post(
            f"/v1/loans/{loan['id']}/reschedule",
            json={"installments": 6, "effective_date": "2026-02-10"})
        assert_problem(response, 409, "invalid_loan_state")
    missing = await club["treasurer"].post(f"/v1/loans/{NOBODY}/reschedule",
                                           json={"installments": 6})
    assert_problem(missing, 404, "not_found")
    assert await snapshot(superuser_connection) == before


async def test_bad_reschedules_are_refused_and_write_nothing(club, superuser_connection):
    loan = await approved(club)
    url = f"/v1/loans/{loan['id']}/reschedule"
    before = await snapshot(superuser_connection), await loan_terms_row(
        superuser_connection, loan["id"])
    cases = [
        ({}, 422, "validation_error"),
        ({"installments": 0}, 422, "validation_error"),
        ({"installments": 361}, 422, "validation_error"),
        ({"installments": 6, "extra": 1}, 422, "validation_error"),
        # 5,000,000 over 360 at a unit of 1: fine; 5,000,000 over 12 at the old unit is
        # also fine; a due date before the rescheduling date is not.
        ({"first_due_date": "2026-02-02", "effective_date": "2026-02-03"}, 422,
         "invalid_loan_terms"),
        ({"installments": 6, "effective_date": "2026-01-31"}, 422, "invalid_date"),
        ({"installments": 6, "effective_date": "2999-01-01"}, 422, "future_date"),
    ]
    for body, status, code in cases:
        response = await club["treasurer"].post(url, json=body)
        assert_problem(response, status, code)
    assert (await snapshot(superuser_connection), await loan_terms_row(
        superuser_connection, loan["id"])) == before


async def test_rescheduling_keeps_the_bounds(club, superuser_connection):
    # 12,000 over 12 to a unit of 1,000: 1,000 a month; over 13 it is below a unit each.
    loan = await approved(club, principal=12_000, rounding_unit=1_000, rate_per_period="0")
    before = await loan_terms_row(superuser_connection, loan["id"])
    response = await club["treasurer"].post(f"/v1/loans/{loan['id']}/reschedule",
                                            json={"installments": 13,
                                                  "effective_date": "2026-02-02"})
    assert_problem(response, 422, "invalid_loan_terms")
    assert response.json()["errors"][0]["type"] == "principal_min"
    assert await loan_terms_row(superuser_connection, loan["id"]) == before


async def test_rescheduling_is_refused_in_a_closed_month(club, superuser_connection):
    loan = await approved(club)  # approved 2026-02-01
    closed = await club["chair"].post(f"/v1/funds/{club['fund']}/periods/2026-02/close")
    assert closed.status_code == 201, closed.text
    before = await snapshot(superuser_connection), await loan_terms_row(
        superuser_connection, loan["id"])
    response = await club["treasurer"].post(f"/v1/loans/{loan['id']}/reschedule",
                                            json={"installments": 6,
                                                  "effective_date": "2026-02-20"})
    assert_problem(response, 409, "period_closed")
    assert (await snapshot(superuser_connection), await loan_terms_row(
        superuser_connection, loan["id"])) == before
    in_march = await club["treasurer"].post(f"/v1/loans/{loan['id']}/reschedule",
                                            json={"first_due_date": "2026-04-05",
                                                  "effective_date": "2026-03-02"})
    assert in_march.status_code == 200, in_march.text
