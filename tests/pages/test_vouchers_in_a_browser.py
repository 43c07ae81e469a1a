"""Printed vouchers and editing a member, in a real browser (Debian's chromium) at 360×800.

The treasurer records a repayment and money in and out, opens the phiếu thu / phiếu chi,
and the QR code as Chromium draws it is decoded (zxing-cpp, from a screenshot of the
picture) to the address of the entry's audit receipt; the receipt fetched there verifies
with the published keys (`ledger.receipts.check_receipt`, what `clubfund audit
check-receipt` runs) and is the very record printed. She corrects a member's details,
a mistake coming back with her input kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest

from tests.conftest import run_in_thread
from tests.pages.conftest import PAGE_BYTES_MAX, BrowserSession
from tests.pages.test_pages_in_a_browser import (
    TREASURER_PHONE,
    TREASURER_PIN,
    api_get,
    business_today,
    check_fit_for_older_eyes,
    first_sign_in,
    setup_code,
    submit,
    world_on,
)
from tests.pages.voucher_world import decoded_qr, print_receipt_voucher, verified_receipt

pytestmark = pytest.mark.slow


def test_vouchers_carry_a_receipt_that_verifies_and_a_member_is_edited(
    pages_server: str, new_token: Callable[..., Any], phone: Callable[[], BrowserSession],
) -> None:
    base = pages_server
    admin = run_in_thread(lambda: new_token("admin"))
    world = world_on(base, admin)
    auditor = run_in_thread(lambda: new_token("auditor", scope=f"club:{world.club_id}"))
    today = business_today()
    hoa = phone()
    first_sign_in(hoa, setup_code(base, admin, world.treasurer_id), TREASURER_PHONE,
                  TREASURER_PIN, "voucher-treasurer")
    page = hoa.page

    # Money in: a donation with who gave it; its phiếu thu verifies.
    hoa.open(f"/clubs/{world.club_id}/money/donation")
    page.get_by_label("Số tiền (đồng)").fill("466.667")
    page.get_by_label("Người nộp / người nhận").fill("Công ty Bình Minh")
    submit(hoa)
    hoa.check("voucher-donation-saved")
    donation = print_receipt_voucher(hoa, auditor, "voucher-donation")
    voucher = page.locator(".voucher").inner_text()
    assert "Bốn trăm sáu mươi sáu nghìn sáu trăm sáu mươi bảy đồng" in voucher
    assert "466.667 ₫" in voucher and "Công ty Bình Minh" in voucher
    assert "Nguyễn Thị Hoa" in voucher  # who made it out
    assert f"Ngày {today.day:02d} tháng {today.month:02d} năm {today.year}" in voucher
    assert donation.fund_id == world.fund_id
    check_fit_for_older_eyes(hoa)

    # A loan to the member, approved over the API by the chair, paid out on the page: the
    # phiếu chi of the disbursement is on the loan page.
    chair = run_in_thread(lambda: new_token("chair", scope=f"club:{world.club_id}",
                                            person_id=world.chair_id))
    headers = {"Authorization": f"Bearer {admin}"}
    applied = httpx.post(f"{base}/v1/funds/{world.fund_id}/loans", headers=headers, json={
        "member_id": world.member_id, "principal": 3_000_000, "installments": 6,
        "rate_per_period": "0.005", "applied_on": today.isoformat(),
        "first_due_date": (today + timedelta(days=30)).isoformat()})
    assert applied.status_code == 201, applied.text
    loan_id = applied.json()["id"]
    approved = httpx.post(f"{base}/v1/loans/{loan_id}/approval",
                          headers={"Authorization": f"Bearer {chair}"}, json={})
    assert approved.status_code == 200, approved.text
    hoa.open(f"/loans/{loan_id}")
    submit(hoa, "Giải ngân (chi cho vay)")
    payout = page.get_by_role("link", name="In phiếu chi")
    assert payout.count() == 1
    hoa.sizes.clear()
    payout.click()
    page.wait_for_load_state("load")
    hoa.check("voucher-disbursement")
    voucher = page.locator(".voucher").inner_text()
    for words in ("PHIẾU CHI", "Mẫu số 02-TT", "3.000.000 ₫", "Ba triệu đồng",
                  "Lê Thị Mai", "Người nhận tiền", "Giải ngân khoản vay số 1"):
        assert words in voucher, (words, voucher)
    assert verified_receipt(base, auditor, decoded_qr(hoa)).sequence > donation.sequence

    # A repayment: saved, then its phiếu thu from the saved page and the passbook.
    hoa.open(f"/loans/{loan_id}/repayment")
    page.get_by_label("Số tiền (đồng)").fill("515.000")
    submit(hoa, "Xem trước cách chia khoản trả")
    submit(hoa, "Đúng rồi, lưu")
    repayment = print_receipt_voucher(hoa, auditor, "voucher-repayment")
    voucher = page.locator(".voucher").inner_text()
    assert "Năm trăm mười lăm nghìn đồng" in voucher and "Lê Thị Mai" in voucher
    assert "Gồm: gốc" in voucher
    hoa.open(f"/clubs/{world.club_id}/members/{world.member_id}")
    assert page.get_by_role("link", name="In phiếu thu").count() == 1
    assert page.get_by_role("link", name="In phiếu chi").count() == 1
    assert repayment.sequence > donation.sequence

    # Another club's voucher, an unknown number, a malformed one: not found.
    number = api_get(base, admin, f"/v1/entries/{repayment_entry(base, admin, world)}"
                     )["voucher_number"]
    for path in (f"/clubs/{world.other_club_id}/vouchers/{number}",
                 f"/clubs/{world.club_id}/vouchers/PT-2026-9999",
                 f"/clubs/{world.club_id}/vouchers/XX-1"):
        assert hoa.open(path).status == 404
    hoa.check("voucher-not-found", 404)

    # Printed on A5: the voucher fits one page.
    hoa.open(f"/clubs/{world.club_id}/vouchers/{number}")
    pdf = page.pdf(prefer_css_page_size=True)
    assert re.findall(rb"/MediaBox\s*\[0 0 (\d+)", pdf) == [b"420"]  # one page, 148 mm wide

    # Editing the member from her passbook: a mistake keeps the input, then it saves.
    hoa.open(f"/clubs/{world.club_id}/members/{world.member_id}")
    page.get_by_role("link", name="Sửa thông tin thành viên").click()
    page.wait_for_load_state("load")
    hoa.check("member-edit")
    assert page.get_by_label("Họ và tên").input_value() == "Lê Thị Mai"
    page.get_by_label("Họ và tên").fill("Lê Thị Mai Anh")
    page.get_by_label("Năm sinh").fill("năm mươi")
    submit(hoa)
    assert page.locator("#birth_year-problem").inner_text() == "Hãy ghi bằng chữ số."
    assert page.get_by_label("Họ và tên").input_value() == "Lê Thị Mai Anh"
    hoa.check("member-edit-mistake", 422)
    page.get_by_label("Năm sinh").fill(str(today.year + 1))
    submit(hoa)
    assert page.locator("#birth_year-problem").count() == 1
    assert page.get_by_label("Năm sinh").input_value() == str(today.year + 1)
    page.get_by_label("Năm sinh").fill("1951")
    page.get_by_label("Tạm nghỉ").check()
    submit(hoa)
    assert "Sổ của thành viên: Lê Thị Mai Anh" in page.locator("h1").inner_text()
    hoa.check("member-edited")
    member = api_get(base, admin, f"/v1/clubs/{world.club_id}/members/{world.member_id}")
    assert (member["name"], member["birth_year"], member["status"]) == (
        "Lê Thị Mai Anh", 1951, "inactive")
    assert hoa.open(f"/clubs/{world.other_club_id}/members/{world.member_id}/edit"
                    ).status == 404

    assert [u for u in hoa.requested_urls if not u.startswith(base + "/")] == []
    for record in hoa.records:
        assert 0 < record.transferred_bytes <= PAGE_BYTES_MAX, record
        assert record.blocking_violations == [], record
    print("\n".join(f"{r.name}: {r.transferred_bytes} bytes" for r in hoa.records))


def repayment_entry(base: str, token: str, world: Any) -> str:
    """The entry of the club's latest receipt (PT) voucher."""
    entries = api_get(base, token, f"/v1/funds/{world.fund_id}/entries?limit=500")["items"]
    return str([e for e in entries if (e["voucher_number"] or "").startswith("PT-")][-1]["id"])
