"""Small builders for API tests: a fund with a chart, a balanced entry body."""

from __future__ import annotations

from typing import Any

import httpx


async def create_fund(client: httpx.AsyncClient, name: str = "Quỹ thử", **headers: str) -> dict:
    response = await client.post("/v1/funds", json={"name": name, "currency": "VND"},
                                 headers=headers)
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
    return {"club_id": str(club_id), "fund_id": str(fund_id)}
