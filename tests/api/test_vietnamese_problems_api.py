"""Problems read in Vietnamese end to end: a core rule's detail, a field the schema
refused, an input rule inside a field, a service error and a refused method."""

from __future__ import annotations

from service.errors import LEDGER_TITLES
from tests.api.factories import create_account, create_fund, entry_body

VI = {"Accept-Language": "vi"}


async def test_problems_are_worded_in_vietnamese(client):
    fund = (await create_fund(client))["id"]
    cash = (await create_account(client, fund, "111", "asset", allow_negative=False))["id"]
    capital = (await create_account(client, fund, "4111", "equity"))["id"]
    url = f"/v1/funds/{fund}/entries"

    overdrawn = (await client.post(url, json=entry_body(capital, cash, 5), headers=VI)).json()
    assert overdrawn["code"] == "insufficient_funds"
    assert overdrawn["title"] == LEDGER_TITLES["insufficient_funds"].vi
    assert overdrawn["detail"].startswith("tài khoản 111 không được âm: ghi ngày 2026-03-05")

    missing = await client.post(url, json={"currency": "VND", "postings": []}, headers=VI)
    assert missing.json()["detail"] == "body.effective_date không hợp lệ: thiếu, bắt buộc phải có"
    assert missing.json()["errors"][0]["msg"] == "Field required"  # for programs

    text = await client.post(url, json=entry_body(cash, capital, 5, description="a\u0007b"),
                             headers=VI)
    assert text.json()["code"] == "invalid_text"
    assert text.json()["detail"].startswith("body.description: văn bản không được chứa U+0007")

    date = await client.post(url, json=entry_body(cash, capital, 5, when="2026-02-30"),
                             headers=VI)
    assert date.json()["detail"] == (
        "body.effective_date: date '2026-02-30' không phải một ngày có thật")

    unbalanced = entry_body(cash, capital, 5)
    unbalanced["postings"][0]["amount"] = 6
    body = (await client.post(url, json=unbalanced, headers=VI)).json()
    assert body["detail"] == "tổng Nợ 6 VND không bằng tổng Có 5 VND"

    clash = await client.post(f"/v1/funds/{fund}/accounts", headers=VI, json={
        "code": "111", "name": "Tiền mặt", "type": "asset"})
    assert clash.json()["code"] == "duplicate_account_code"
    assert "(" not in clash.json()["detail"]

    wrong_method = await client.delete(url, headers=VI)
    assert wrong_method.status_code == 405
    assert wrong_method.json()["detail"].startswith("đường dẫn này không phục vụ DELETE")
    english = await client.delete(url)
    assert english.json()["detail"].startswith("DELETE is not served on this path")
