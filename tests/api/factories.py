"""Small builders for API tests: a fund with a chart, a balanced entry body."""

from __future__ import annotations

from typing import Any

import httpx


async def create_fund(client: httpx.AsyncClient, name: str = "Quỹ thử", **headers: str) -> dict:
    response = await client.post("/v1/funds", json={"name": name, "currency": "VND"},
                                 headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_person(
    client: httpx.AsyncClient, role: str, scope: str | None = None, **fields: Any
) -> dict:
    """A person added by the admin `client` (POST /v1/people)."""
    body = {"name": fields.pop("name", f"Người giữ vai {role}"), "role": role, "scope": scope,
            **fields}
    response = await client.post("/v1/people", json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def create_account(
    client: httpx.AsyncClient, fund_id: str, code: str, type: str, allow_negative: bool = True,
    name: str | None = None, **headers: str,
) -> dict:
    response = await client.post(
        f"/v1/funds/{fund_id}/accounts",
        json={"code": code, "name": name or f"Account {code}", "type": type,
              "allow_negative": allow_negative},
        headers=headers,
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def entry_body(debit: str, credit: str, amount: int, when: str = "2026-03-05",
               description: str = "Góp vốn") -> dict[str, Any]:
    return {
        "effective_date": when, "description": description, "currency": "VND",
        "postings": [
            {"account_id": debit, "side": "debit", "amount": amount},
            {"account_id": credit, "side": "credit", "amount": amount},
        ],
    }


async def create_area(
    connection: Any, code: str, level: str = "province", parent_code: str | None = None,
    valid_from: str = "2025-07-01",
) -> str:
    """An area (and its parent link), inserted as the schema owner."""
    from datetime import UTC, date, datetime

    start = date.fromisoformat(valid_from)
    await connection.execute(
        "INSERT INTO areas (code, name, level, valid_from, created_at)"
        " VALUES ($1, $2, $3, $4, $5)",
        code, f"Area {code}", level, start, datetime.now(UTC),
    )
    await connection.execute(
        "INSERT INTO area_parents (code, valid_from, parent_code) VALUES ($1, $2, $3)",
        code, start, parent_code,
    )
    return code


async def create_club(connection: Any, area_code: str, name: str = "CLB thử") -> dict[str, Any]:
    """A club in `area_code` with its income fund, inserted as the schema owner (who must
    see every fund: the `owner_connection` fixture does). Returns {"club_id", "fund_id"}."""
    import uuid
    from datetime import UTC, datetime

    club_id, fund_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    await connection.execute(
        "INSERT INTO clubs (id, name, area_code, created_at) VALUES ($1, $2, $3, $4)",
        club_id, name, area_code, now,
    )
    await connection.execute(
        "INSERT INTO funds (id, name, currency, created_at, club_id)"
        " VALUES ($1, $2, 'VND', $3, $4)",
        fund_id, f"Quỹ {name}", now, club_id,
    )
    await connection.execute(  # in its commune since the commune began
        "INSERT INTO club_areas (club_id, valid_from, area_code)"
        " SELECT $1, valid_from, code FROM areas WHERE code = $2",
        club_id, area_code,
    )
    return {"club_id": str(club_id), "fund_id": str(fund_id)}


async def post_area(
    client: httpx.AsyncClient, code: str, level: str, parent_code: str | None = None,
    valid_from: str = "2020-01-01", name: str | None = None,
) -> dict:
    response = await client.post("/v1/areas", json={
        "code": code, "name": name or f"Area {code}", "level": level,
        "parent_code": parent_code, "valid_from": valid_from,
    })
    assert response.status_code == 201, response.text
    return dict(response.json())


async def post_commune(client: httpx.AsyncClient, prefix: str = "51") -> str:
    """A province, a district and a commune under it; returns the commune's code."""
    await post_area(client, prefix, "province")
    await post_area(client, f"{prefix}1", "district", prefix)
    await post_area(client, f"{prefix}101", "commune", f"{prefix}1")
    return f"{prefix}101"


async def post_club(
    client: httpx.AsyncClient, area_code: str, name: str = "CLB LTH xã Tịnh Hà",
    established_on: str = "2025-01-01",
) -> dict:
    response = await client.post("/v1/clubs", json={
        "name": name, "area_code": area_code, "established_on": established_on,
    })
    assert response.status_code == 201, response.text
    return dict(response.json())


async def post_member(
    client: httpx.AsyncClient, club_id: str, name: str = "Nguyễn Thị A",
    gender: str = "female", birth_year: int = 1955,
) -> dict:
    response = await client.post(f"/v1/clubs/{club_id}/members", json={
        "name": name, "gender": gender, "birth_year": birth_year,
    })
    assert response.status_code == 201, response.text
    return dict(response.json())


async def club_with_seed_grant(
    admin: httpx.AsyncClient, client_for: Any, new_token: Any, prefix: str = "51",
    name: str = "CLB LTH xã Tịnh Hà",
) -> dict[str, Any]:
    """A club with its treasurer, chair and a member, and 8,000,000 of district seed money
    (5 January 2026): `fund`, `club`, `member`, `treasurer`, `chair`, `admin`."""
    club = await post_club(admin, await post_commune(admin, prefix), name=name)
    treasurer = client_for(await new_token("treasurer", scope=f"club:{club['id']}"))
    chair = client_for(await new_token("chair", scope=f"club:{club['id']}"))
    member = await post_member(treasurer, club["id"])
    grant = await treasurer.post(f"/v1/funds/{club['fund_id']}/seed-grants", json={
        "amount": 8_000_000, "source": "district_budget", "decision_number": "1/QĐ-UBND",
        "effective_date": "2026-01-05",
    })
    assert grant.status_code == 201, grant.text
    return {"fund": club["fund_id"], "club": club["id"], "member": member["id"],
            "treasurer": treasurer, "chair": chair, "admin": admin}


async def accounts_by_code(client: httpx.AsyncClient, fund_id: str) -> dict[str, dict]:
    response = await client.get(f"/v1/funds/{fund_id}/accounts", params={"limit": 500})
    assert response.status_code == 200, response.text
    return {a["code"]: a for a in response.json()["items"]}


XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_sheet(response: httpx.Response) -> Any:
    """The first sheet of an XLSX answer (openpyxl, with styles and frozen panes)."""
    import io

    import openpyxl

    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == XLSX_MEDIA_TYPE
    return openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[0]


def xlsx_table(response: httpx.Response) -> list[list[Any]]:
    """The table of an XLSX export: its header row (the frozen one, under the title
    block) and every row below it, as values."""
    sheet = xlsx_sheet(response)
    header_row = int(sheet.freeze_panes[1:]) - 1
    return [list(row) for row in sheet.iter_rows(min_row=header_row, values_only=True)]
