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
