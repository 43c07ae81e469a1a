"""The voucher page without a browser: who may open it, a reversed entry's voucher, the
amount in words, and the QR's address (the browser test decodes the picture itself)."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from service.vouchers.service import amount_in_words, qr_svg
from tests.pages.world import (
    CHAIR_PHONE,
    CHAIR_PIN,
    TREASURER_PHONE,
    TREASURER_PIN,
    PagesWorld,
    set_pin,
)


@pytest.mark.parametrize("amount, words", [
    (466_667, "Bốn trăm sáu mươi sáu nghìn sáu trăm sáu mươi bảy đồng"),
    (1_500_000, "Một triệu năm trăm nghìn đồng"),
    (20_000_000, "Hai mươi triệu đồng"),
])
def test_the_amount_in_words(amount: int, words: str) -> None:
    assert amount_in_words(amount) == words


async def test_a_voucher_for_its_clubs_officers_only_and_marked_when_reversed(
    client: httpx.AsyncClient, world: PagesWorld,
    client_for: Callable[[str | None], httpx.AsyncClient], new_token,
) -> None:
    contributions = (await client.get(f"/v1/funds/{world.fund_id}/entries")).json()["items"]
    entry = next(e for e in contributions if e["voucher_number"])
    number = entry["voucher_number"]
    assert re.fullmatch(r"PT-\d{4}-0001", number)
    path = f"/clubs/{world.club_id}/vouchers/{number}"

    visitor = client_for(None)
    anonymous = await visitor.get(path)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/sign-in"

    treasurer = client_for(None)
    assert (await set_pin(treasurer, client, world.treasurer_id, TREASURER_PHONE,
                          TREASURER_PIN)).status_code == 303
    shown = await treasurer.get(path)
    assert shown.status_code == 200, shown.text
    assert shown.headers["content-type"].startswith("text/html")
    for words in ("PHIẾU THU", "Mẫu số 01-TT", "20.000.000 ₫", "Hai mươi triệu đồng",
                  "Người nộp tiền", "Thủ quỹ", number):
        assert words in shown.text, words
    assert "đã bị hủy" not in shown.text
    address = (f"http://clubfund.test/v1/entries/{entry['id']}/receipt"
               f"#leaf_hash={entry['audit']['leaf_hash']}")
    assert f"bản ghi số {entry['audit']['sequence']}" in shown.text
    assert "<svg" in shown.text and "<script" not in shown.text
    assert qr_svg(address) in shown.text

    for elsewhere in (f"/clubs/{world.other_club_id}/vouchers/{number}",
                      f"/clubs/{world.club_id}/vouchers/PT-2026-9999",
                      f"/clubs/{world.club_id}/vouchers/{entry['id']}"):
        assert (await treasurer.get(elsewhere)).status_code == 404, elsewhere

    # The entry reversed (the treasurer asks, the chair approves): the voucher says so.
    asked = await client_for(await new_token(person_id=world.treasurer_id)).post(
        f"/v1/entries/{entry['id']}/reversal", json={"reason": "ghi nhầm"})
    assert asked.status_code == 202, asked.text
    chair = client_for(await new_token(person_id=world.chair_id))
    approved = await chair.post(f"/v1/corrections/{asked.json()['id']}/approval")
    assert approved.status_code == 200, approved.text
    assert "đã bị hủy" in (await treasurer.get(path)).text

    # The chair, an officer of the club, opens it too.
    chair_phone = client_for(None)
    assert (await set_pin(chair_phone, client, world.chair_id, CHAIR_PHONE,
                          CHAIR_PIN)).status_code == 303
    assert (await chair_phone.get(path)).status_code == 200
