"""People: who holds a role. Created by an admin, read inside the scope, named as the
actor of every write; the four-eyes rules compare people, not tokens."""

from __future__ import annotations

import uuid

import pytest

from service.audit.service import GLOBAL_LOG_ID
from tests.api.factories import create_person, post_club, post_commune, post_member
from tests.api.test_loans_api import assert_problem, snapshot

PROBLEM = "application/problem+json"

# Approvals dated between the application (2026-02-01) and the disbursement (2026-02-05).
APPROVED_ON = {"effective_date": "2026-02-03"}


async def people_snapshot(connection) -> tuple:
    """Everything adding a person (or a token) could write, read as a superuser."""
    return (
        tuple(await connection.fetch("SELECT * FROM people ORDER BY id")),
        tuple(await connection.fetch("SELECT id, person_id FROM tokens ORDER BY id")),
        await connection.fetchval("SELECT count(*) FROM audit_records"),
        await connection.fetchval("SELECT count(*) FROM idempotency_records"),
    )


async def audit_records(client, log_id) -> list[dict]:
    response = await client.get(f"/v1/funds/{log_id}/audit", params={"limit": 500})
    assert response.status_code == 200, response.text
    return [item["record"] for item in response.json()["items"]]


@pytest.fixture
async def clubs(client):
    """Club A (and a member) in commune 5111 of province 51; club B in province 52."""
    a = await post_club(client, await post_commune(client, "51"))
    b = await post_club(client, await post_commune(client, "52"))
    member = await post_member(client, a["id"], name="Trần Thị Chủ Nhiệm")
    return {"a": a, "b": b, "member": member}


async def test_an_admin_adds_a_person_and_reads_her_back(anonymous, client, clubs):
    a = clubs["a"]
    body = {"name": "Trần Thị Chủ Nhiệm", "phone": "0912 345.678", "role": "chair",
            "scope": f"club:{a['id']}", "member_id": clubs["member"]["id"]}
    refused = await anonymous.post("/v1/people", json=body)
    assert refused.status_code == 401 and refused.headers["content-type"] == PROBLEM
    response = await client.post("/v1/people", json=body)
    assert response.status_code == 201, response.text
    person = response.json()
    assert person["phone"] == "+84912345678"  # stored in one form
    assert (person["name"], person["role"], person["scope"], person["member_id"]) == (
        body["name"], "chair", body["scope"], body["member_id"])
    assert person["actor"] == f"person:{person['id']}"
    assert person["created_by"].startswith("person:")
    unseen = await anonymous.get(f"/v1/people/{person['id']}")
    assert unseen.status_code == 401
    read = await client.get(f"/v1/people/{person['id']}")
    assert read.status_code == 200 and read.json() == person
    # recorded in her club's fund's audit log, not in the service-wide one
    club_log = await audit_records(client, a["fund_id"])
    assert [r["data"] for r in club_log if r["action"] == "person.created"] == [person]
    service_log = await audit_records(client, GLOBAL_LOG_ID)
    assert not [r for r in service_log if r["action"] == "person.created"]
    # so are her tokens
    token = await client.post("/v1/tokens", json={"person_id": person["id"]})
    assert token.status_code == 201, token.text
    created = [r for r in await audit_records(client, a["fund_id"])
               if r["action"] == "token.created"]
    assert [r["data"]["id"] for r in created] == [token.json()["id"]]
    assert created[0]["data"]["person_id"] == person["id"]


async def test_people_of_no_club_are_recorded_in_the_service_wide_log(client, clubs):
    admin = await create_person(client, "admin", name="Quản trị")
    auditor = await create_person(client, "auditor", "area:51", phone="+84 387 654 321")
    assert auditor["phone"] == "+84387654321" and auditor["scope"] == "area:51"
    service_log = await audit_records(client, GLOBAL_LOG_ID)
    assert [r["data"]["id"] for r in service_log if r["action"] == "person.created"] == [
        admin["id"], auditor["id"]]
    club_log = await audit_records(client, clubs["a"]["fund_id"])
    assert not [r for r in club_log if r["action"] == "person.created"]


async def test_only_an_admin_adds_people(client, client_for, new_token, clubs,
                                         superuser_connection):
    scope = f"club:{clubs['a']['id']}"
    callers = [client_for(await new_token(role, scope=role_scope, write=True))
               for role, role_scope in (("chair", scope), ("treasurer", scope),
                                        ("auditor", "area:51"), ("integration", scope))]
    before = await people_snapshot(superuser_connection)
    for caller in callers:
        response = await caller.post("/v1/people", json={"name": "Người mới", "role": "chair",
                                                         "scope": scope})
        assert_problem(response, 403, "forbidden")
        token = await caller.post("/v1/tokens", json={"person_id": str(uuid.uuid4())})
        assert_problem(token, 403, "forbidden")
    assert await people_snapshot(superuser_connection) == before


async def test_people_are_seen_inside_the_scope_and_nowhere_else(
    anonymous, client, client_for, new_token, new_person, clubs
):
    a, b = clubs["a"], clubs["b"]
    someone = await create_person(client, "treasurer", f"club:{a['id']}")
    assert (await anonymous.get(f"/v1/people/{someone['id']}")).status_code == 401
    province_auditor = await new_person("auditor", scope="area:51")
    seen_by = {
        "a chair of her club": await new_token("chair", scope=f"club:{a['id']}"),
        "an auditor of her province": await new_token(person_id=province_auditor),
        "an integration of her club": await new_token("integration", scope=f"club:{a['id']}"),
        "an admin": await new_token("admin"),
    }
    not_seen_by = {
        "a chair of another club": await new_token("chair", scope=f"club:{b['id']}"),
        "an auditor of another province": await new_token("auditor", scope="area:52"),
        "an auditor of the other club": await new_token("auditor", scope=f"club:{b['id']}"),
    }
    for who, token in seen_by.items():
        response = await client_for(token).get(f"/v1/people/{someone['id']}")
        assert response.status_code == 200, who
        assert response.json()["id"] == someone["id"]
    for who, token in not_seen_by.items():
        response = await client_for(token).get(f"/v1/people/{someone['id']}")
        assert_problem(response, 404, "not_found")
        assert someone["name"] not in response.text, who
    # a person of no club is seen by an admin and by herself only
    auditor_token = client_for(seen_by["an auditor of her province"])
    own = await auditor_token.get(f"/v1/people/{province_auditor}")
    assert own.status_code == 200 and own.json()["scope"] == "area:51"
    for token in (seen_by["a chair of her club"], not_seen_by["an auditor of another province"]):
        assert_problem(await client_for(token).get(f"/v1/people/{province_auditor}"),
                       404, "not_found")
    assert (await client.get(f"/v1/people/{province_auditor}")).status_code == 200
    # unknown ids and malformed ids
    assert_problem(await client.get(f"/v1/people/{uuid.uuid4()}"), 404, "not_found")
    assert_problem(await client.get("/v1/people/not-a-uuid"), 422, "validation_error")


def bad_bodies(clubs) -> dict[str, tuple[dict, int, str]]:
    a, b = clubs["a"], clubs["b"]
    good = {"name": "Lê Văn Thủ Quỹ", "role": "treasurer", "scope": f"club:{a['id']}"}
    return {
        "no name": ({**good, "name": ""}, 422, "validation_error"),
        "a blank name": ({**good, "name": "   "}, 422, "validation_error"),
        "a name too long": ({**good, "name": "x" * 201}, 422, "validation_error"),
        "a control character": ({**good, "name": "Lê\x07Văn"}, 422, "invalid_text"),
        "a line break": ({**good, "name": "Lê\nVăn"}, 422, "validation_error"),
        "no role": ({"name": "Lê Văn"}, 422, "validation_error"),
        "an unknown role": ({**good, "role": "president"}, 422, "validation_error"),
        "an unknown field": ({**good, "password": "1234"}, 422, "validation_error"),
        "a phone too short": ({**good, "phone": "091234567"}, 422, "invalid_phone"),
        "a phone too long": ({**good, "phone": "09123456789"}, 422, "invalid_phone"),
        "a landline": ({**good, "phone": "0212345678"}, 422, "invalid_phone"),
        "a foreign number": ({**good, "phone": "+14155550123"}, 422, "invalid_phone"),
        "letters in the phone": ({**good, "phone": "09123456ab"}, 422, "invalid_phone"),
        "a phone beyond its length": ({**good, "phone": "0" * 21}, 422, "validation_error"),
        "a phone number in JSON": ({**good, "phone": 912345678}, 422, "validation_error"),
        "a phone already taken": ({**good, "phone": "+84 912 345 678"}, 409, "duplicate_phone"),
        "a treasurer of an area": ({**good, "scope": "area:51"}, 422, "invalid_scope"),
        "a club that does not exist": ({**good, "scope": f"club:{uuid.uuid4()}"}, 422,
                                       "invalid_scope"),
        "a malformed scope": ({**good, "scope": "club"}, 422, "validation_error"),
        "an admin with a scope": ({**good, "role": "admin"}, 422, "invalid_scope"),
        "a member of another club": ({**good, "member_id": clubs["member"]["id"],
                                      "scope": f"club:{b['id']}"}, 422, "unknown_member"),
        "a member of no club": ({**good, "member_id": str(uuid.uuid4())}, 422,
                                "unknown_member"),
        "a member without a club scope": ({**good, "role": "auditor", "scope": "area:51",
                                           "member_id": clubs["member"]["id"]}, 422,
                                          "unknown_member"),
        "a malformed member id": ({**good, "member_id": "123"}, 422, "validation_error"),
    }


async def test_bad_input_is_refused_and_nothing_is_written(client, clubs, superuser_connection):
    await create_person(client, "chair", f"club:{clubs['a']['id']}", phone="0912345678")
    for name, (body, status, code) in bad_bodies(clubs).items():
        before = await people_snapshot(superuser_connection)
        response = await client.post("/v1/people", json=body,
                                     headers={"Idempotency-Key": f"bad-{name}"})
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"] == PROBLEM, name
        assert response.json()["code"] == code, (name, response.json())
        assert await people_snapshot(superuser_connection) == before, name
    malformed = await client.post("/v1/people", content=b"{", headers={
        "content-type": "application/json"})
    assert_problem(malformed, 400, "malformed_json")


async def test_a_token_for_no_person_is_refused_and_nothing_is_written(
    client, superuser_connection
):
    before = await people_snapshot(superuser_connection)
    for body, code in (({"person_id": str(uuid.uuid4())}, "unknown_person"),
                       ({"role": "admin"}, "validation_error"),
                       ({"person_id": "tok_1234"}, "validation_error")):
        response = await client.post("/v1/tokens", json=body)
        assert_problem(response, 422, code)
    assert await people_snapshot(superuser_connection) == before


# --------------------------------------------------------------------------- four eyes


@pytest.fixture
async def club(client, client_for, new_token, clubs):
    """Club A with cash, a treasurer, and a member to lend to."""
    a = clubs["a"]
    treasurer = client_for(await new_token("treasurer", scope=f"club:{a['id']}"))
    grant = await treasurer.post(f"/v1/funds/{a['fund_id']}/seed-grants", json={
        "amount": 8_000_000, "source": "district_budget", "decision_number": "1/QĐ-UBND",
        "effective_date": "2026-01-05",
    })
    assert grant.status_code == 201, grant.text
    borrower = await post_member(treasurer, a["id"], name="Nguyễn Thị Vay")
    return {"id": a["id"], "fund": a["fund_id"], "scope": f"club:{a['id']}",
            "treasurer": treasurer, "member": borrower["id"],
            "chair_member": clubs["member"]["id"]}


async def apply_for(http, club, member_id) -> dict:
    response = await http.post(f"/v1/funds/{club['fund']}/loans", json={
        "member_id": member_id, "principal": 5_000_000, "installments": 12,
        "rate_per_period": "0.01", "first_due_date": "2026-03-05", "applied_on": "2026-02-01",
    })
    assert response.status_code == 201, response.text
    return dict(response.json())


async def test_the_same_chair_with_two_tokens_cannot_approve_her_own_application(
    anonymous, client_for, new_token, new_person, club, superuser_connection
):
    loan_url = f"/v1/loans/{uuid.uuid4()}/approval"
    assert (await anonymous.post(loan_url, json={})).status_code == 401
    chair = await new_person("chair", scope=club["scope"])
    on_her_phone = client_for(await new_token(person_id=chair))
    on_the_office_computer = client_for(await new_token(person_id=chair))
    loan = await apply_for(on_her_phone, club, club["member"])
    assert loan["applied_by"] == f"person:{chair}"
    before = await snapshot(superuser_connection)
    for http in (on_the_office_computer, on_her_phone):
        response = await http.post(f"/v1/loans/{loan['id']}/approval", json=APPROVED_ON,
                                   headers={"Idempotency-Key": f"self-{id(http)}"})
        assert_problem(response, 403, "same_actor_approval")
        assert await snapshot(superuser_connection) == before
    other_chair = client_for(await new_token("chair", scope=club["scope"]))
    approved = await other_chair.post(f"/v1/loans/{loan['id']}/approval", json=APPROVED_ON)
    assert approved.status_code == 200, approved.text
    assert approved.json()["approved_by"].startswith("person:")
    assert approved.json()["approved_by"] != loan["applied_by"]

    # a write-off she requested is not hers to approve either, whichever token she uses
    paid_out = await club["treasurer"].post(f"/v1/loans/{loan['id']}/disbursement",
                                            json={"effective_date": "2026-02-05"})
    assert paid_out.status_code == 200, paid_out.text
    asked = await on_her_phone.post(f"/v1/loans/{loan['id']}/write-off",
                                    json={"reason": "mất khả năng trả"})
    assert asked.status_code == 200, asked.text
    before = await snapshot(superuser_connection)
    refused = await on_the_office_computer.post(f"/v1/loans/{loan['id']}/write-off/approval",
                                                json={})
    assert_problem(refused, 403, "same_actor_approval")
    assert await snapshot(superuser_connection) == before


async def test_a_chair_cannot_approve_a_loan_to_herself(
    anonymous, client_for, new_token, new_person, club, superuser_connection
):
    assert (await anonymous.get(f"/v1/funds/{club['fund']}/loans")).status_code == 401
    chair = await new_person("chair", scope=club["scope"], member_id=club["chair_member"])
    herself = client_for(await new_token(person_id=chair))
    to_her = await apply_for(club["treasurer"], club, club["chair_member"])
    before = await snapshot(superuser_connection)
    response = await herself.post(f"/v1/loans/{to_her['id']}/approval", json=APPROVED_ON)
    assert_problem(response, 403, "borrower_approval")
    assert await snapshot(superuser_connection) == before
    # she approves other members' loans, and another chair approves hers
    to_another = await apply_for(club["treasurer"], club, club["member"])
    approved = await herself.post(f"/v1/loans/{to_another['id']}/approval", json=APPROVED_ON)
    assert approved.status_code == 200, approved.text
    other_chair = client_for(await new_token("chair", scope=club["scope"]))
    hers = await other_chair.post(f"/v1/loans/{to_her['id']}/approval", json=APPROVED_ON)
    assert hers.status_code == 200, hers.text
    # nor may she approve writing her own loan off
    paid_out = await club["treasurer"].post(f"/v1/loans/{to_her['id']}/disbursement",
                                            json={"effective_date": "2026-02-05"})
    assert paid_out.status_code == 200, paid_out.text
    asked = await club["treasurer"].post(f"/v1/loans/{to_her['id']}/write-off",
                                         json={"reason": "ốm nặng"})
    assert asked.status_code == 200, asked.text
    before = await snapshot(superuser_connection)
    refused = await herself.post(f"/v1/loans/{to_her['id']}/write-off/approval", json={})
    assert_problem(refused, 403, "borrower_approval")
    assert await snapshot(superuser_connection) == before
