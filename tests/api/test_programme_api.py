"""The plan's targets and the programme report, against a worked example whose every
figure is computed by hand below."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from tests.api.factories import club_with_seed_grant, post_area, post_club, post_member

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TARGET = {"year": 2025, "new_clubs": 2, "members": 10, "fund_size": 60_000_000,
          "plan_reference": "70/KH-UBND"}


async def ok(response, status=201):
    assert response.status_code == status, response.text
    return response.json()


@pytest.fixture
async def province(client):
    """P ⊃ {P1 ⊃ {P1A, P1B}, P2 ⊃ {P2A}}, all from 2020-01-01. On 2025-07-01 commune
    P1B is dissolved and its club B moves to the new commune P2N under P2.

    Club A (P1A): established 2025-02-10; members: woman 1950, man 1970, woman 1962;
        2025-03-02 seed grant 30,000,000 district budget "12/QĐ-UBND";
        2025-05-15 members' contribution 600,000.
    Club E (P1A): established 2024-11-01; no member, no seed money, no operation.
    Club B (P1B, from 2025-07-01 P2N): established 2025-03-10; members: man 1960,
        woman 1980; 2025-08-19 seed grant 20,000,000 commune budget "45/QĐ-UBND";
        2025-09-05 seed grant 5,000,000 from a donor (no decision).
    Club C (P2A): established 2025-06-01; member: woman 1940; nothing recorded.
    Club D (P2A): established 2024-05-20; 2024-06-01 seed grant 10,000,000 district
        budget "7/QĐ-UBND"; 2025-01-20 members' contribution 400,000.

    Targets for 2025: P 5 clubs, 20 members, 100,000,000; P1 2, 10, 60,000,000;
    P1A 1, 5; P2A 1, 4; P2N 1, 3, 20,000,000 (P2 has none of its own).
    """
    await post_area(client, "P", "province")
    for code, parent in (("P1", "P"), ("P2", "P")):
        await post_area(client, code, "district", parent)
    for code, parent in (("P1A", "P1"), ("P1B", "P1"), ("P2A", "P2")):
        await post_area(client, code, "commune", parent)
    a = await post_club(client, "P1A", "CLB A", "2025-02-10")
    e = await post_club(client, "P1A", "CLB E", "2024-11-01")
    b = await post_club(client, "P1B", "CLB B", "2025-03-10")
    c = await post_club(client, "P2A", "CLB C", "2025-06-01")
    d = await post_club(client, "P2A", "CLB D", "2024-05-20")
    await post_area(client, "P2N", "commune", "P2", valid_from="2025-07-01")
    await ok(await client.post(f"/v1/clubs/{b['id']}/area",
                               json={"area_code": "P2N", "valid_from": "2025-07-01"}), 200)
    await ok(await client.post("/v1/areas/P1B/dissolution", json={"valid_to": "2025-07-01"}),
             200)
    for club, gender, born in ((a, "female", 1950), (a, "male", 1970), (a, "female", 1962),
                               (b, "male", 1960), (b, "female", 1980), (c, "female", 1940)):
        await post_member(client, club["id"], f"Người {born}", gender, born)

    async def grant(club, day, amount, source, decision=None):
        body = {"amount": amount, "source": source, "effective_date": day}
        if decision:
            body["decision_number"] = decision
        await ok(await client.post(f"/v1/funds/{club['fund_id']}/seed-grants", json=body))

    async def contribution(club, day, amount):
        await ok(await client.post(f"/v1/funds/{club['fund_id']}/contributions",
                                   json={"amount": amount, "effective_date": day}))

    await grant(a, "2025-03-02", 30_000_000, "district_budget", "12/QĐ-UBND")
    await contribution(a, "2025-05-15", 600_000)
    await grant(b, "2025-08-19", 20_000_000, "commune_budget", "45/QĐ-UBND")
    await grant(b, "2025-09-05", 5_000_000, "donor")
    await grant(d, "2024-06-01", 10_000_000, "district_budget", "7/QĐ-UBND")
    await contribution(d, "2025-01-20", 400_000)
    for code, target in (
        ("P", {"new_clubs": 5, "members": 20, "fund_size": 100_000_000}),
        ("P1", {"new_clubs": 2, "members": 10, "fund_size": 60_000_000}),
        ("P1A", {"new_clubs": 1, "members": 5}),
        ("P2A", {"new_clubs": 1, "members": 4}),
        ("P2N", {"new_clubs": 1, "members": 3, "fund_size": 20_000_000}),
    ):
        await ok(await client.post(f"/v1/areas/{code}/targets", json={
            "year": 2025, "plan_reference": "70/KH-UBND", **target}))
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


FIELDS = ("level", "area_code", "name", "target_new_clubs", "target_members",
          "target_fund_size", "clubs", "clubs_established", "new_club_members",
          "clubs_seeded", "seed_district_budget", "seed_commune_budget", "seed_donor",
          "seed_total", "decision_numbers", "clubs_waiting", "days_waiting",
          "longest_wait_days", "days_to_seed", "median_days_to_seed", "members",
          "members_women", "members_aged_60_plus", "capital_district_budget",
          "capital_other_budgets", "capital_donors", "capital_members", "capital_total",
          "loans_outstanding", "repayment_rate", "par30")
M = 1_000_000
N = None
# Hand-computed for 2025 (the period 2025-01-01 to 2025-12-31; the tree of 2025-12-31).
# Days: A 2025-02-10 → 2025-03-02 = 18 + 2 = 20; B 2025-03-10 → 2025-08-19 =
# 31 + 30 + 31 + 30 + 31 + 9 = 162; C waits 2025-06-01 → 2025-12-31 = 213; E waits
# 2024-11-01 → 2025-12-31 = 365 + 30 + 30 = 425; D was seeded in 2024 after 12 days.
# Aged 60+ in 2025: born 1965 or before (1950, 1962, 1960, 1940).
# Median days to seed money: P1 {20} → 20.0; P2 {162} → 162.0; P {20, 162} → 91.0.
# Targets: P2 has none of its own, so P2A's and P2N's add up: 2 clubs, 7 members, and
# no fund size (P2A gives none).
EXPECTED_2025 = [
    ("province", "P", "Area P", 5, 20, 100 * M, 5, 3, 6, 2, 30 * M, 20 * M, 5 * M, 55 * M,
     ["12/QĐ-UBND", "45/QĐ-UBND"], 2, N, 425, N, "91.0", 6, 4, 4, 40 * M, 20 * M, 5 * M,
     1 * M, 66 * M, 0, N, N),
    ("district", "P1", "Area P1", 2, 10, 60 * M, 2, 1, 3, 1, 30 * M, 0, 0, 30 * M,
     ["12/QĐ-UBND"], 1, N, 425, N, "20.0", 3, 2, 2, 30 * M, 0, 0, 600_000, 30_600_000, 0,
     N, N),
    ("commune", "P1A", "Area P1A", 1, 5, N, 2, 1, 3, 1, 30 * M, 0, 0, 30 * M,
     ["12/QĐ-UBND"], 1, N, 425, N, "20.0", 3, 2, 2, 30 * M, 0, 0, 600_000, 30_600_000, 0,
     N, N),
    ("club", "P1A", "CLB A", N, N, N, 1, 1, 3, 1, 30 * M, 0, 0, 30 * M, ["12/QĐ-UBND"], 0,
     N, N, 20, N, 3, 2, 2, 30 * M, 0, 0, 600_000, 30_600_000, 0, N, N),
    ("club", "P1A", "CLB E", N, N, N, 1, 0, 0, 0, 0, 0, 0, 0, [], 1, 425, N, N, N, 0, 0, 0,
     0, 0, 0, 0, 0, 0, N, N),
    ("district", "P2", "Area P2", 2, 7, N, 3, 2, 3, 1, 0, 20 * M, 5 * M, 25 * M,
     ["45/QĐ-UBND"], 1, N, 213, N, "162.0", 3, 2, 2, 10 * M, 20 * M, 5 * M, 400_000,
     35_400_000, 0, N, N),
    ("commune", "P2A", "Area P2A", 1, 4, N, 2, 1, 1, 0, 0, 0, 0, 0, [], 1, N, 213, N, N, 1,
     1, 1, 10 * M, 0, 0, 400_000, 10_400_000, 0, N, N),
    ("club", "P2A", "CLB C", N, N, N, 1, 1, 1, 0, 0, 0, 0, 0, [], 1, 213, N, N, N, 1, 1, 1,
     0, 0, 0, 0, 0, 0, N, N),
    ("club", "P2A", "CLB D", N, N, N, 1, 0, 0, 0, 0, 0, 0, 0, [], 0, N, N, 12, N, 0, 0, 0,
     10 * M, 0, 0, 400_000, 10_400_000, 0, N, N),
    ("commune", "P2N", "Area P2N", 1, 3, 20 * M, 1, 1, 2, 1, 0, 20 * M, 5 * M, 25 * M,
     ["45/QĐ-UBND"], 0, N, N, N, "162.0", 2, 1, 1, 0, 20 * M, 5 * M, 0, 25 * M, 0, N, N),
    ("club", "P2N", "CLB B", N, N, N, 1, 1, 2, 1, 0, 20 * M, 5 * M, 25 * M, ["45/QĐ-UBND"],
     0, N, N, 162, N, 2, 1, 1, 0, 20 * M, 5 * M, 0, 25 * M, 0, N, N),
]
# Active clubs by month (an operation dated in the month): A in March and May, D in
# January, B in August and September; C and E never.
ACTIVE_2025 = {
    "P": [1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0], "P1": [0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
    "P2": [1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0], "CLB E": [0] * 12,
}


def rows_of(body):
    return [tuple(row[f] for f in FIELDS) for row in body["items"]]


async def test_the_programme_matches_the_hand_computed_figures(client, province):
    body = await ok(await client.get("/v1/reports/programme?area=P&year=2025"), 200)
    assert (body["from"], body["as_of"], body["year"]) == ("2025-01-01", "2025-12-31", 2025)
    assert rows_of(body) == EXPECTED_2025
    by_key = {r["area_code"] if r["level"] != "club" else r["name"]: r for r in body["items"]}
    for key, months in ACTIVE_2025.items():
        assert by_key[key]["active_clubs_by_month"] == months, key
    assert by_key["P"]["plan_reference"] == "70/KH-UBND"
    assert by_key["P2"]["plan_reference"] is None  # rolled up, not set for P2
    assert [(w["name"], w["area_code"], w["established_on"], w["days_waiting"])
            for w in body["waiting"]] == [("CLB E", "P1A", "2024-11-01", 425),
                                          ("CLB C", "P2A", "2025-06-01", 213)]


async def test_the_tree_of_the_year_places_the_reorganised_club(client, province):
    """2024 (as of 2024-12-31): only D (seeded 2024-06-01 after 12 days) and E (waiting
    2024-11-01 → 2024-12-31 = 30 + 30 = 60 days) exist; P1B is still a commune of P1.
    2025: B counts under P2N and P2, not P1 (whose 2025 figures above hold A and E)."""
    body = await ok(await client.get("/v1/reports/programme?area=P&year=2024"), 200)
    rows = {r["area_code"] if r["level"] != "club" else r["name"]: r for r in body["items"]}
    assert [r["area_code"] for r in body["items"] if r["level"] != "club"] == [
        "P", "P1", "P1A", "P2", "P2A"]
    p = rows["P"]
    assert (p["clubs"], p["clubs_established"], p["clubs_seeded"], p["seed_district_budget"],
            p["decision_numbers"], p["clubs_waiting"], p["longest_wait_days"],
            p["median_days_to_seed"]) == (2, 2, 1, 10 * M, ["7/QĐ-UBND"], 1, 60, "12.0")
    assert p["target_new_clubs"] is None
    assert rows["CLB D"]["active_clubs_by_month"] == [0, 0, 0, 0, 0, 1] + [0] * 6
    body = await ok(await client.get("/v1/reports/programme?area=P1&year=2025"), 200)
    assert [r["name"] for r in body["items"]] == ["Area P1", "Area P1A", "CLB A", "CLB E"]


async def test_a_seed_grant_reversed_by_the_end_of_the_year_is_not_seed_money(
        client, client_for, new_token):
    """A club established 2025-01-01 (province 61): 2025-11-20 district budget 5,000,000
    "0/QĐ-UBND", reversed 2026-01-20; 2026-01-05 district budget 8,000,000 "1/QĐ-UBND",
    reversed 2026-03-01; 2026-02-10 commune budget 3,000,000 "2/QĐ-UBND".

    2025: the first grant stands at the year's end: seeded after 304 + 19 = 323 days.
    2026: both district grants are reversed by the year's end (today): the seed money
    is the commune's 3,000,000 alone, and the club was first seeded by it, after
    365 + 31 + 9 = 405 days."""
    club = await club_with_seed_grant(client, client_for, new_token, prefix="61")
    treasurer, chair = club["treasurer"], club["chair"]

    async def grant(day, amount, source, decision):
        return await ok(await treasurer.post(f"/v1/funds/{club['fund']}/seed-grants", json={
            "amount": amount, "source": source, "decision_number": decision,
            "effective_date": day}))

    async def reverse(entry_id, day):
        request = await ok(await treasurer.post(f"/v1/entries/{entry_id}/reversal", json={
            "reason": "cấp nhầm", "effective_date": day}), 202)
        await ok(await chair.post(f"/v1/corrections/{request['id']}/approval"), 200)

    first = await grant("2025-11-20", 5 * M, "district_budget", "0/QĐ-UBND")
    await grant("2026-02-10", 3 * M, "commune_budget", "2/QĐ-UBND")
    statement = await ok(await treasurer.get(f"/v1/funds/{club['fund']}/entries",
                                             params={"limit": 10}), 200)
    [second] = [e for e in statement["items"] if e["metadata"].get("decision_number")
                == "1/QĐ-UBND"]
    await reverse(first["id"], "2026-01-20")
    await reverse(second["id"], "2026-03-01")

    fields = ("clubs_seeded", "seed_district_budget", "seed_commune_budget", "seed_total",
              "decision_numbers", "clubs_waiting", "days_to_seed")
    figures = {}
    for year in (2025, 2026):
        body = await ok(await client.get(f"/v1/reports/programme?area=61&year={year}"), 200)
        [row] = [r for r in body["items"] if r["level"] == "club"]
        figures[year] = tuple(row[f] for f in fields)
    assert figures == {
        2025: (1, 5 * M, 0, 5 * M, ["0/QĐ-UBND"], 0, 323),
        2026: (1, 0, 3 * M, 3 * M, ["2/QĐ-UBND"], 0, 405),
    }


async def test_a_month_counts_up_to_the_report_date(province, owner_connection):
    """Club A's entries are dated 2025-03-02 and 2025-05-15, club D's 2025-01-20. As of
    a day inside May, May counts only if an entry is dated in May on or before it; the
    months before count whole. The period must begin on the first of a month."""
    import uuid
    from datetime import date

    from service.programme.repository import programme_figures

    a, d = (uuid.UUID(province[k]["id"]) for k in ("a", "d"))

    async def months(as_of: date) -> dict[str, list[int]]:
        figures = await programme_figures(owner_connection, None, [a, d], date(2025, 1, 1),
                                          as_of, 30, 60, None)
        return {club: [m for m in range(1, 13)
                       if figures.programme[key]["active_month_bits"] >> m & 1]
                for club, key in (("a", a), ("d", d))}

    assert await months(date(2025, 1, 19)) == {"a": [], "d": []}
    assert await months(date(2025, 1, 20)) == {"a": [], "d": [1]}
    assert await months(date(2025, 5, 14)) == {"a": [3], "d": [1]}
    assert await months(date(2025, 5, 15)) == {"a": [3, 5], "d": [1]}
    assert await months(date(2025, 5, 31)) == {"a": [3, 5], "d": [1]}
    with pytest.raises(ValueError, match="first of a month"):
        await programme_figures(owner_connection, None, [a], date(2025, 1, 2),
                                date(2025, 5, 31), 30, 60, None)


async def test_the_files_hold_the_json_figures(client, province):
    url = "/v1/reports/programme?area=P&year=2025"
    body = (await client.get(url, headers={"Accept-Language": "en"})).json()
    response = await client.get(url, headers={"Accept": XLSX})
    assert response.headers["content-type"] == XLSX
    sheet = [list(r) for r in openpyxl.load_workbook(io.BytesIO(response.content))
             .active.iter_rows(values_only=True)]
    # Vietnamese by default: title, period, area, plan; the table; the signatures.
    assert sheet[0][0].startswith("BÁO CÁO KẾT QUẢ THỰC HIỆN KẾ HOẠCH")
    assert sheet[1][0] == "Năm 2025 (từ ngày 01/01/2025 đến ngày 31/12/2025)"
    assert sheet[2][0] == "Địa bàn: Area P (P)"
    assert sheet[3][0] == "Kế hoạch: 70/KH-UBND"
    header_at = next(i for i, r in enumerate(sheet) if r[0] == "Cấp")
    header = sheet[header_at]
    vi = (await client.get(url)).json()["columns"]
    table = sheet[header_at + 1: header_at + 1 + len(EXPECTED_2025)]
    for field_index, name in enumerate(FIELDS):
        if name in ("level", "name"):
            continue
        column = header.index(vi[name])
        expected = [row[field_index] for row in EXPECTED_2025]
        got = [r[column] for r in table]
        if name == "decision_numbers":
            expected = ["; ".join(v) or None for v in expected]
        if name == "median_days_to_seed":
            expected = [None if v is None else float(v) for v in expected]
        assert got == expected, name
    assert [r[0] for r in table] == ["Tỉnh", "Huyện", "Xã", "Câu lạc bộ", "Câu lạc bộ",
                                     "Huyện", "Xã", "Câu lạc bộ", "Câu lạc bộ", "Xã",
                                     "Câu lạc bộ"]
    march = header.index(vi["active_month_3"])
    assert [r[march] for r in table][:4] == [1, 1, 1, 1]
    signatures = [v for r in sheet[header_at + 1 + len(EXPECTED_2025):] for v in r if v]
    assert signatures == ["…, ngày … tháng … năm …", "NGƯỜI LẬP BIỂU", "THỦ TRƯỞNG ĐƠN VỊ",
                          "(Ký, ghi rõ họ tên)", "(Ký, ghi rõ họ tên, đóng dấu)"]

    response = await client.get(url + "&format=csv", headers={"Accept-Language": "en"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Level", "Area code", "Area"]
    assert len(rows) == 1 + len(EXPECTED_2025)
    total = rows[0].index(body["columns"]["seed_total"])
    assert [int(r[total]) for r in rows[1:]] == [row["seed_total"] for row in body["items"]]


async def test_targets_are_listed_per_area_and_year(client, province):
    await ok(await client.post("/v1/areas/P1/targets", json={**TARGET, "year": 2026,
                                                             "new_clubs": 3}))
    body = await ok(await client.get("/v1/areas/P1/targets"), 200)
    assert [(t["year"], t["new_clubs"], t["fund_size"]) for t in body["items"]] == [
        (2025, 2, 60 * M), (2026, 3, 60 * M)]
    body = await ok(await client.get("/v1/areas/P1/targets?year=2026"), 200)
    assert [t["year"] for t in body["items"]] == [2026]
    page = await ok(await client.get("/v1/areas/P1/targets?limit=1"), 200)
    assert [t["year"] for t in page["items"]] == [2025] and page["next_cursor"]
    # Setting it again replaces it; the service-wide audit log keeps both versions.
    await ok(await client.post("/v1/areas/P1/targets", json={**TARGET, "new_clubs": 4}))
    body = await ok(await client.get("/v1/areas/P1/targets?year=2025"), 200)
    assert [t["new_clubs"] for t in body["items"]] == [4]
    log = await ok(await client.get(
        "/v1/funds/00000000-0000-0000-0000-000000000000/audit?limit=500"), 200)
    sets = [r["record"]["data"] for r in log["items"]
            if r["record"]["action"] == "programme.target_set"
            and r["record"]["data"]["area_code"] == "P1" and r["record"]["data"]["year"] == 2025]
    assert [s["new_clubs"] for s in sets] == [2, 4]


@pytest.mark.parametrize("change", [
    {"year": 1999}, {"year": 2101}, {"new_clubs": -1}, {"members": -5}, {"fund_size": -1},
    {"plan_reference": ""}, {"new_clubs": "3"}, {"extra": 1},
])
async def test_bad_targets_are_refused_and_nothing_is_written(
    client, owner_connection, change
):
    await post_area(client, "Q", "province")
    before = await owner_connection.fetchval("SELECT count(*) FROM audit_records")
    response = await client.post("/v1/areas/Q/targets", json={**TARGET, **change})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "validation_error"
    assert await owner_connection.fetchval("SELECT count(*) FROM programme_targets") == 0
    assert await owner_connection.fetchval("SELECT count(*) FROM audit_records") == before


async def test_a_target_for_an_unknown_area_is_not_found(client, owner_connection):
    response = await client.post("/v1/areas/NOPE/targets", json=TARGET)
    assert (response.status_code, response.json()["code"]) == (404, "not_found")
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await owner_connection.fetchval("SELECT count(*) FROM programme_targets") == 0


async def test_a_target_for_a_year_the_area_did_not_exist_in_is_refused(
    client, owner_connection, province
):
    """P1B ended on 2025-07-01; P2N began then."""
    before = await owner_connection.fetchval("SELECT count(*) FROM programme_targets")
    for code, year in (("P1B", 2026), ("P2N", 2024)):
        response = await client.post(f"/v1/areas/{code}/targets", json={**TARGET, "year": year})
        assert (response.status_code, response.json()["code"]) == (422, "unknown_area"), code
    for code, year in (("P1B", 2025), ("P2N", 2025)):
        await ok(await client.post(f"/v1/areas/{code}/targets", json={**TARGET, "year": year}))
    assert await owner_connection.fetchval(
        "SELECT count(*) FROM programme_targets") == before + 1  # P2N 2025 replaced
    response = await client.get("/v1/areas/P1/targets?cursor=WyJ4Il0")  # ["x"]
    assert (response.status_code, response.json()["code"]) == (400, "invalid_cursor")


async def test_bad_report_requests(client, province):
    for url, status, code in (
        ("/v1/reports/programme?area=P&year=1999", 422, "validation_error"),
        ("/v1/reports/programme?area=P", 422, "validation_error"),
        ("/v1/reports/programme?area=P&year=2100", 422, "invalid_report_range"),
        ("/v1/reports/programme?area=NOPE&year=2025", 404, "not_found"),
    ):
        response = await client.get(url)
        assert (response.status_code, response.json()["code"]) == (status, code), url


async def test_scope_anonymous_then_auditors(client, client_for, new_token, province):
    anonymous = client_for(None)
    for url in ("/v1/reports/programme?area=P&year=2025", "/v1/areas/P/targets"):
        response = await anonymous.get(url)
        assert (response.status_code, response.json()["code"]) == (401, "unauthenticated")
    response = await anonymous.post("/v1/areas/P/targets", json=TARGET)
    assert response.status_code == 401

    await post_area(client, "Q", "province")
    await post_area(client, "QA", "commune", "Q")
    district = client_for(await new_token("auditor", scope="area:P2"))
    body = await ok(await district.get("/v1/reports/programme?area=P2&year=2025"), 200)
    assert rows_of(body) == EXPECTED_2025[5:]
    # The province holds her clubs only: its row sums P2's.
    body = await ok(await district.get("/v1/reports/programme?area=P&year=2025"), 200)
    assert [r["name"] for r in body["items"]][:2] == ["Area P", "Area P2"]
    assert body["items"][0]["clubs"] == 3 and body["items"][0]["seed_total"] == 25 * M
    assert [w["name"] for w in body["waiting"]] == ["CLB C"]
    # A foreign area answers exactly like an unknown one.
    answers = []
    for code in ("P1", "QA", "NOPE"):
        for url in (f"/v1/reports/programme?area={code}&year=2025",
                    f"/v1/areas/{code}/targets"):
            response = await district.get(url)
            problem = response.json()
            answers.append((response.status_code, response.headers["content-type"],
                            problem["code"], problem["title"],
                            problem["detail"].replace(code, "X")))
    assert len(set(answers)) == 1 and answers[0][:3] == (
        404, "application/problem+json", "not_found")


async def test_a_province_auditor_sets_her_provinces_targets_only(
    client, client_for, new_token, owner_connection, province
):
    await post_area(client, "Q", "province")
    await post_area(client, "QA", "commune", "Q")
    auditor = client_for(await new_token("auditor", scope="area:P"))
    target = await ok(await auditor.post("/v1/areas/P2A/targets",
                                         json={**TARGET, "year": 2026}))
    assert target["set_by"].startswith("person:")
    actors = await owner_connection.fetch(
        "SELECT convert_from(record, 'UTF8')::jsonb ->> 'actor' AS actor FROM audit_records"
        " WHERE action = 'programme.target_set' ORDER BY sequence DESC LIMIT 1")
    assert actors[0]["actor"] == target["set_by"]
    for other in ("QA", "NOPE"):
        response = await auditor.post(f"/v1/areas/{other}/targets", json=TARGET)
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    # An auditor of a district, a treasurer: not the province's planners.
    for token in (await new_token("auditor", scope="area:P2"),
                  await new_token("treasurer", scope=f"club:{province['c']['id']}")):
        response = await client_for(token).post("/v1/areas/P2A/targets", json=TARGET)
        assert (response.status_code, response.json()["code"]) == (403, "forbidden")
    assert await owner_connection.fetchval(
        "SELECT count(*) FROM programme_targets WHERE year = 2026") == 1
