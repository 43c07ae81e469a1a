"""Areas with a parent history (the 2025 reorganisation), clubs and members."""

from __future__ import annotations

import uuid
from datetime import date

from service.areas.repository import area_subtree_codes, funds_in_area
from tests.api.factories import post_area, post_club, post_member
from tests.api.test_loans_api import assert_problem

BEFORE, AFTER = date(2025, 6, 30), date(2025, 7, 1)


async def build_province(client) -> dict:
    """Province 51 with districts 522 and 523 until 2025-07-01; communes 20001, 20002 in
    522 and 20101 in 523. On 2025-07-01 districts go, 20001 and 20002 merge into 30001,
    and 20101 sits directly under the province."""
    await post_area(client, "51", "province", valid_from="2004-01-01", name="Quảng Ngãi")
    await post_area(client, "522", "district", "51", valid_from="2004-01-01")
    await post_area(client, "523", "district", "51", valid_from="2004-01-01")
    await post_area(client, "20001", "commune", "522", valid_from="2004-01-01")
    await post_area(client, "20002", "commune", "522", valid_from="2004-01-01")
    await post_area(client, "20101", "commune", "523", valid_from="2004-01-01")
    clubs = {
        code: await post_club(client, code, name=f"CLB {code}", established_on="2020-01-01")
        for code in ("20001", "20002", "20101")
    }
    await post_area(client, "30001", "commune", "51", valid_from="2025-07-01")
    for code in ("20001", "20002"):
        moved = await client.post(f"/v1/clubs/{clubs[code]['id']}/area",
                                  json={"area_code": "30001", "valid_from": "2025-07-01"})
        assert moved.status_code == 200, moved.text
        dissolved = await client.post(f"/v1/areas/{code}/dissolution",
                                      json={"valid_to": "2025-07-01"})
        assert dissolved.status_code == 200, dissolved.text
    reparented = await client.post("/v1/areas/20101/parents",
                                   json={"parent_code": "51", "valid_from": "2025-07-01"})
    assert reparented.status_code == 201, reparented.text
    for code in ("522", "523"):
        dissolved = await client.post(f"/v1/areas/{code}/dissolution",
                                      json={"valid_to": "2025-07-01"})
        assert dissolved.status_code == 200, dissolved.text
    return clubs


async def test_reports_as_of_a_date_see_the_tree_valid_then(client, app_connection):
    clubs = await build_province(client)
    await app_connection.execute("SELECT set_config('clubfund.all_funds', 'on', false)")
    assert await area_subtree_codes(app_connection, "51", BEFORE) == [
        "20001", "20002", "20101", "51", "522", "523"]
    assert await area_subtree_codes(app_connection, "51", AFTER) == ["20101", "30001", "51"]
    assert await area_subtree_codes(app_connection, "522", BEFORE) == ["20001", "20002", "522"]
    assert await area_subtree_codes(app_connection, "522", AFTER) == ["522"]
    assert await area_subtree_codes(app_connection, "nowhere", AFTER) == []

    fund = {code: uuid.UUID(club["fund_id"]) for code, club in clubs.items()}
    assert await funds_in_area(app_connection, "522", BEFORE) == sorted(
        [fund["20001"], fund["20002"]])
    assert await funds_in_area(app_connection, "522", AFTER) == []
    assert await funds_in_area(app_connection, "30001", AFTER) == sorted(
        [fund["20001"], fund["20002"]])
    assert await funds_in_area(app_connection, "51", BEFORE) == sorted(fund.values())
    assert await funds_in_area(app_connection, "51", AFTER) == sorted(fund.values())
    assert await funds_in_area(app_connection, "51", date(2019, 12, 31)) == []

    commune = (await client.get("/v1/areas/20101", params={"as_of": "2025-06-30"})).json()
    assert commune["parent_code"] == "523"
    assert [(p["parent_code"], p["valid_from"], p["valid_to"]) for p in commune["parents"]] == [
        ("523", "2004-01-01", "2025-07-01"), ("51", "2025-07-01", None)]
    now = (await client.get("/v1/areas/20101")).json()
    assert now["parent_code"] == "51"
    district = (await client.get("/v1/areas/522", params={"as_of": "2025-01-01"})).json()
    assert district["children"] == ["20001", "20002"] and district["valid_to"] == "2025-07-01"
    province = (await client.get("/v1/areas/51")).json()
    assert province["children"] == ["20101", "30001"]

    club = (await client.get(f"/v1/clubs/{clubs['20001']['id']}")).json()
    assert club["area_code"] == "30001" and club["established_on"] == "2020-01-01"
    assert [(a["area_code"], a["valid_to"]) for a in club["areas"]] == [
        ("20001", "2025-07-01"), ("30001", None)]
    in_522 = (await client.get("/v1/clubs", params={"area": "522", "as_of": "2025-01-01"})).json()
    assert sorted(c["id"] for c in in_522["items"]) == sorted(
        [clubs["20001"]["id"], clubs["20002"]["id"]])
    now_522 = (await client.get("/v1/clubs", params={"area": "522"})).json()
    assert now_522["items"] == []


async def test_bad_areas_and_reorganisations_are_refused(client):
    await post_area(client, "51", "province", valid_from="2004-01-01")
    await post_area(client, "522", "district", "51", valid_from="2004-01-01")
    await post_area(client, "20001", "commune", "522", valid_from="2004-01-01")
    cases = [
        ({"code": "51", "name": "x", "level": "province", "valid_from": "2020-01-01"},
         409, "duplicate_area"),
        ({"code": "9", "name": "x", "level": "district", "parent_code": "nope",
          "valid_from": "2020-01-01"}, 422, "unknown_area"),
        ({"code": "9", "name": "x", "level": "district", "valid_from": "2020-01-01"},
         422, "invalid_area_parent"),
        ({"code": "9", "name": "x", "level": "province", "parent_code": "51",
          "valid_from": "2020-01-01"}, 422, "invalid_area_parent"),
        ({"code": "9", "name": "x", "level": "district", "parent_code": "522",
          "valid_from": "2020-01-01"}, 422, "invalid_area_parent"),
        ({"code": "9", "name": "x", "level": "commune", "parent_code": "522",
          "valid_from": "2000-01-01"}, 422, "unknown_area"),  # before 522 existed
        ({"code": "9", "name": "x", "level": "region", "valid_from": "2020-01-01"},
         422, "validation_error"),
    ]
    for body, status, code in cases:
        assert_problem(await client.post("/v1/areas", json=body), status, code)
    in_use = await client.post("/v1/areas/522/dissolution", json={"valid_to": "2025-07-01"})
    assert_problem(in_use, 409, "area_in_use")
    backwards = await client.post("/v1/areas/20001/parents",
                                  json={"parent_code": "51", "valid_from": "2003-01-01"})
    assert_problem(backwards, 422, "invalid_area_parent")
    assert_problem(await client.get("/v1/areas/404"), 404, "not_found")
    assert_problem(await client.post("/v1/clubs", json={"name": "x", "area_code": "522"}),
                   422, "invalid_area_parent")
    assert_problem(await client.post("/v1/clubs", json={"name": "x", "area_code": "404"}),
                   422, "unknown_area")


async def test_members_are_listed_by_club(client):
    await post_area(client, "51", "province")
    await post_area(client, "511", "district", "51")
    await post_area(client, "51101", "commune", "511")
    club = await post_club(client, "51101")
    created = [await post_member(client, club["id"], f"Bà {n}", birth_year=1950 + n)
               for n in range(3)]
    page = (await client.get(f"/v1/clubs/{club['id']}/members", params={"limit": 2})).json()
    rest = (await client.get(f"/v1/clubs/{club['id']}/members",
                             params={"cursor": page["next_cursor"]})).json()
    assert [m["id"] for m in page["items"] + rest["items"]] == [m["id"] for m in created]
    assert created[0]["status"] == "active" and created[0]["gender"] == "female"
    bad = await client.post(f"/v1/clubs/{club['id']}/members",
                            json={"name": "x", "gender": "female", "birth_year": "1950"})
    assert_problem(bad, 422, "validation_error")
    future = await client.post(f"/v1/clubs/{club['id']}/members",
                               json={"name": "x", "gender": "male", "birth_year": 2099})
    assert_problem(future, 422, "validation_error")
    missing = await client.get(f"/v1/clubs/{uuid.uuid4()}/members")
    assert_problem(missing, 404, "not_found")
    clubs = (await client.get("/v1/clubs")).json()
    assert [c["id"] for c in clubs["items"]] == [club["id"]]
    assert clubs["items"][0]["fund_id"] == club["fund_id"]
