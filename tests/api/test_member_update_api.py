"""PATCH /v1/clubs/{club_id}/members/{member_id}: a member's details change, audit-logged,
only inside the caller's club, with nothing written on bad input or no change."""

from __future__ import annotations

import uuid

import pytest

from tests.api.factories import club_with_seed_grant, post_club, post_commune, post_member
from tests.api.test_loans_api import assert_problem


@pytest.fixture
async def club(client, client_for, new_token):
    return await club_with_seed_grant(client, client_for, new_token, prefix="63")


def member_path(club: dict, member_id: str | None = None) -> str:
    return f"/v1/clubs/{club['club']}/members/{member_id or club['member']}"


async def audit_records(client, fund_id: str) -> list[dict]:
    response = await client.get(f"/v1/funds/{fund_id}/audit", params={"limit": 500})
    assert response.status_code == 200, response.text
    return [item["record"] for item in response.json()["items"]]


async def test_the_anonymous_caller_may_neither_change_nor_read_a_member(anonymous, club):
    refused = await anonymous.patch(member_path(club), json={"name": "Bà Lan"})
    assert_problem(refused, 401, "unauthenticated")
    assert_problem(await anonymous.get(member_path(club)), 401, "unauthenticated")
    read = await club["treasurer"].get(member_path(club))
    assert read.json()["name"] == "Nguyễn Thị A"


async def test_the_treasurer_changes_a_member_and_the_log_says_so(club):
    treasurer = club["treasurer"]
    before = await audit_records(treasurer, club["fund"])
    changed = await treasurer.patch(member_path(club), json={
        "name": "Nguyễn Thị Ánh", "birth_year": 1952, "status": "inactive"})
    assert changed.status_code == 200, changed.text
    member = changed.json()
    assert (member["name"], member["birth_year"], member["status"], member["gender"]) == (
        "Nguyễn Thị Ánh", 1952, "inactive", "female")
    after = await audit_records(treasurer, club["fund"])
    assert len(after) == len(before) + 1
    record = after[-1]
    assert record["action"] == "member.updated"
    assert record["data"]["changed"] == ["birth_year", "name", "status"]
    assert record["data"]["name"] == "Nguyễn Thị Ánh"
    assert member["audit"]["sequence"] == record["sequence"]
    read = (await treasurer.get(member_path(club))).json()
    assert read["name"] == "Nguyễn Thị Ánh" and read["birth_year"] == 1952
    listed = (await treasurer.get(f"/v1/clubs/{club['club']}/members")).json()["items"]
    assert [m["name"] for m in listed] == ["Nguyễn Thị Ánh"]


async def test_the_same_change_again_writes_nothing(club):
    treasurer = club["treasurer"]
    first = await treasurer.patch(member_path(club), json={"gender": "male"})
    assert first.status_code == 200, first.text
    size = len(await audit_records(treasurer, club["fund"]))
    again = await treasurer.patch(member_path(club), json={"gender": "male"})
    assert again.status_code == 200, again.text
    assert again.json()["gender"] == "male"
    assert len(await audit_records(treasurer, club["fund"])) == size


@pytest.mark.parametrize("body, field", [
    ({}, None),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "Bà\u0000Lan"}, "name"),
    ({"birth_year": "1950"}, "birth_year"),
    ({"birth_year": 1899}, "birth_year"),
    ({"birth_year": 2030}, "birth_year"),
    ({"gender": "unknown"}, "gender"),
    ({"joined_on": "2030-01-01"}, "joined_on"),
    ({"club_id": str(uuid.UUID(int=1))}, "club_id"),
])
async def test_bad_input_is_refused_in_both_languages_and_nothing_is_written(
    club, body, field
):
    treasurer = club["treasurer"]
    size = len(await audit_records(treasurer, club["fund"]))
    refused = await treasurer.patch(member_path(club), json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] in ("validation_error", "invalid_text", "future_date")
    if field is not None:
        assert field in refused.text
    in_vietnamese = await treasurer.patch(member_path(club), json=body,
                                          headers={"Accept-Language": "vi"})
    assert in_vietnamese.json()["title"] != refused.json()["title"]
    assert len(await audit_records(treasurer, club["fund"])) == size
    assert (await treasurer.get(member_path(club))).json()["name"] == "Nguyễn Thị A"


async def test_another_clubs_member_is_not_found(client, club, client_for, new_token):
    other = await post_club(client, await post_commune(client, "64"), name="CLB khác")
    stranger = await post_member(client, other["id"], "Lê Văn B")
    treasurer = club["treasurer"]
    for path in (member_path(club, stranger["id"]),
                 f"/v1/clubs/{other['id']}/members/{stranger['id']}",
                 member_path(club, str(uuid.uuid4()))):
        assert_problem(await treasurer.patch(path, json={"name": "X"}), 404, "not_found")
    auditor = client_for(await new_token("auditor", scope=f"club:{club['club']}"))
    assert_problem(await auditor.patch(member_path(club), json={"name": "X"}), 403,
                   "forbidden")
    assert (await client.get(f"/v1/clubs/{other['id']}/members/{stranger['id']}")
            ).json()["name"] == "Lê Văn B"
