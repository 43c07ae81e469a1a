"""The treasurer's and the chair's pages in a real browser (Debian's chromium) at 360×800:
the whole path from signing in to a repayment, and what the pages refuse."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

import httpx
import pytest

from service.context import BUSINESS_TIMEZONE
from tests.conftest import run_in_thread
from tests.pages.auditor_world import auditor_downloads_statement
from tests.pages.conftest import PAGE_BYTES_MAX, BrowserSession
from tests.pages.voucher_world import print_receipt_voucher
from tests.pages.world import (
    CHAIR_PHONE,
    CHAIR_PIN,
    TREASURER_PHONE,
    TREASURER_PIN,
    PagesWorld,
    build_world,
)

pytestmark = pytest.mark.slow


TAP_TARGET_PX_MIN = 44
TAP_TARGETS = "button, .button, input:not([type=hidden]), select, .list a, .menu a, .tools a"


def business_today() -> date:
    return datetime.now(BUSINESS_TIMEZONE).date()


def check_fit_for_older_eyes(phone: BrowserSession) -> None:
    """Base text 18 px, every tap target at least 44 px high, and no sideways scrolling
    at 360 px or at 200 % zoom (a 180 px wide layout)."""
    page = phone.page
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "18px"
    heights = page.eval_on_selector_all(
        TAP_TARGETS, "nodes => nodes.map(n => [n.outerHTML.slice(0, 60),"
                     " n.getBoundingClientRect().height])")
    assert heights and all(h >= TAP_TARGET_PX_MIN - 0.5 for _, h in heights), heights
    for width in (360, 180):
        page.set_viewport_size({"width": width, "height": 800})
        overflow = page.evaluate("document.documentElement.scrollWidth"
                                 " - document.documentElement.clientWidth")
        wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(n =>"
            " n.scrollWidth > n.clientWidth + 1 && getComputedStyle(n).overflowX !== 'auto')"
            ".map(n => n.tagName + '.' + n.className + ' ' + n.scrollWidth).slice(0, 5)")
        assert overflow <= 0, (width, overflow, wide)
    page.set_viewport_size({"width": 360, "height": 800})


def world_on(base: str, admin_token: str) -> PagesWorld:
    async def build() -> PagesWorld:
        async with httpx.AsyncClient(base_url=base, headers={
                "Authorization": f"Bearer {admin_token}"}) as admin:
            return await build_world(admin)

    return run_in_thread(build)


def setup_code(base: str, admin_token: str, person_id: str) -> str:
    response = httpx.post(f"{base}/v1/people/{person_id}/setup-code",
                          headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 201, response.text
    return str(response.json()["setup_code"])


def api_get(base: str, admin_token: str, path: str) -> Any:
    response = httpx.get(base + path, headers={"Authorization": f"Bearer {admin_token}"})
    assert response.status_code == 200, response.text
    return response.json()


def first_sign_in(phone: BrowserSession, code: str, number: str, pin: str, name: str) -> None:
    """The person sets her PIN with the printed setup code (and is signed in)."""
    phone.open("/")
    assert phone.page.url.endswith("/sign-in")
    phone.check(f"{name}-sign-in")
    phone.page.get_by_role("link", name="Lần đầu dùng? Đặt mã PIN").click()
    phone.check(f"{name}-set-pin")
    page = phone.page
    page.get_by_label("Số điện thoại").fill(number)
    page.get_by_label("Mã khởi tạo").fill(code)
    page.get_by_label("Mã PIN", exact=True).fill(pin)
    page.get_by_label("Nhập lại mã PIN").fill(pin)
    page.get_by_role("button", name="Lưu").click()
    page.wait_for_load_state("load")


def submit(phone: BrowserSession, button: str = "Lưu") -> None:
    phone.sizes.clear()
    phone.page.get_by_role("button", name=button).click()
    phone.page.wait_for_load_state("load")


def test_treasurer_and_chair_from_sign_in_to_repayment(
    pages_server: str, new_token: Callable[..., Any], phone: Callable[[], BrowserSession],
) -> None:
    base = pages_server
    admin = run_in_thread(lambda: new_token("admin"))
    world = world_on(base, admin)
    today = business_today()

    # The treasurer signs in for the first time with her setup code.
    hoa = phone()
    first_sign_in(hoa, setup_code(base, admin, world.treasurer_id), TREASURER_PHONE,
                  TREASURER_PIN, "treasurer")
    page = hoa.page
    assert page.url.endswith(f"/clubs/{world.club_id}")
    assert "20.000.000 ₫" in page.locator(".figures").inner_text()
    hoa.check("treasurer-club")
    check_fit_for_older_eyes(hoa)

    # A member: a mistake comes back with the input kept and a message by the field.
    hoa.open(f"/clubs/{world.club_id}/members/new")
    hoa.check("member-new")
    page.get_by_label("Họ và tên").fill("Phạm Thị Lan")
    page.get_by_label("Năm sinh").fill("một chín năm tám")
    submit(hoa)
    assert page.locator("#birth_year-problem").inner_text() == "Hãy ghi bằng chữ số."
    assert page.get_by_label("Họ và tên").input_value() == "Phạm Thị Lan"
    hoa.check("member-new-mistake", 422)
    page.get_by_label("Năm sinh").fill("1958")
    submit(hoa)
    assert "Sổ của thành viên: Phạm Thị Lan" in page.locator("h1").inner_text()
    hoa.check("member-passbook")
    members = api_get(base, admin, f"/v1/clubs/{world.club_id}/members")["items"]
    lan = next(m for m in members if m["name"] == "Phạm Thị Lan")
    hoa.open(f"/clubs/{world.club_id}/members")
    hoa.check("members")

    # A seed grant from the district budget needs its decision number.
    hoa.open(f"/clubs/{world.club_id}/money/seed-grant")
    hoa.check("seed-grant")
    page.get_by_label("Số tiền (đồng)").fill("30.000.000")
    submit(hoa)
    assert "số quyết định" in page.locator("#decision_number-problem").inner_text()
    assert page.get_by_label("Số tiền (đồng)").input_value() == "30.000.000"
    page.get_by_label("Số quyết định cấp vốn").fill("123/QĐ-UBND")
    submit(hoa)
    assert "PT-" in page.locator(".ok").inner_text()
    hoa.check("seed-grant-saved")

    # An expense over the cash in hand is refused in plain words, nothing written.
    hoa.open(f"/clubs/{world.club_id}/money/expense")
    page.get_by_label("Số tiền (đồng)").fill("999.000.000")
    submit(hoa)
    assert "không đủ tiền" in page.get_by_role("alert").inner_text()
    hoa.check("expense-refused", 422)
    hoa.open(f"/clubs/{world.club_id}")
    assert "50.000.000 ₫" in page.locator(".figures").inner_text()

    # A loan application for the new member.
    hoa.open(f"/clubs/{world.club_id}/loans/new")
    hoa.check("loan-new")
    page.get_by_label("Người vay").select_option(lan["id"])
    page.get_by_label("Số tiền vay (đồng)").fill("5.000.000")
    page.get_by_label("Số kỳ trả").fill("10")
    page.get_by_label("Lãi suất mỗi tháng (%)").fill("0,5")
    page.get_by_label("Ngày trả kỳ đầu").fill("31/02/2026")
    page.get_by_label("Mục đích vay").fill("nuôi bò")
    assert page.get_by_label("Ngày", exact=True).input_value() == today.strftime("%d/%m/%Y")
    submit(hoa)
    assert "ngày/tháng/năm" in page.locator("#first_due_date-problem").inner_text()
    assert page.get_by_label("Mục đích vay").input_value() == "nuôi bò"
    hoa.check("loan-new-mistake", 422)
    page.get_by_label("Ngày trả kỳ đầu").fill((today + timedelta(days=30)).strftime("%d/%m/%Y"))
    submit(hoa)
    assert "Chờ duyệt" in page.locator(".pairs").inner_text()
    loan_path = page.url.removeprefix(base)
    hoa.check("loan-applied")
    # The treasurer may not approve: her page offers no approval, and a forged one is refused.
    assert page.get_by_role("button", name="Duyệt cho vay").count() == 0
    token = page.locator("input[name=csrf_token]").first.input_value()
    forged = page.request.post(base + loan_path + "/approval",
                               form={"csrf_token": token, "decision": "approve"})
    assert forged.status == 404

    # The chair, another person, approves it from her queue.
    binh = phone()
    first_sign_in(binh, setup_code(base, admin, world.chair_id), CHAIR_PHONE, CHAIR_PIN,
                  "chair")
    binh.open(f"/clubs/{world.club_id}/approvals")
    binh.check("chair-approvals")
    binh.page.get_by_role("link", name="Phạm Thị Lan").click()
    binh.page.wait_for_load_state("load")
    binh.check("chair-loan")
    submit(binh, "Duyệt cho vay")
    assert "Đã duyệt" in binh.page.locator(".pairs").inner_text()

    # The treasurer pays the loan out, then records the first repayment: the split first.
    hoa.open(loan_path)
    submit(hoa, "Giải ngân (chi cho vay)")
    assert "Đang vay" in page.locator(".pairs").inner_text()
    hoa.check("loan-disbursed")
    check_fit_for_older_eyes(hoa)
    hoa.open(loan_path + "/repayment")
    hoa.check("repayment")
    page.get_by_label("Số tiền (đồng)").fill("525.000")
    submit(hoa, "Xem trước cách chia khoản trả")
    preview = page.locator(".preview").inner_text()
    assert "Lãi" in preview and "Gốc" in preview
    hoa.check("repayment-preview")
    check_fit_for_older_eyes(hoa)
    loan_id = loan_path.rsplit("/", 1)[1]
    assert api_get(base, admin, f"/v1/loans/{loan_id}")["principal_repaid"] == 0
    submit(hoa, "Đúng rồi, lưu")
    assert "PT-" in page.locator(".ok").inner_text()
    hoa.check("repayment-saved")
    loan = api_get(base, admin, f"/v1/loans/{loan_id}")
    assert loan["principal_repaid"] + loan["interest_paid"] + loan["penalty_paid"] == 525_000
    # She prints its phiếu thu: the QR on it decodes to the entry's audit receipt, which
    # verifies against the published keys.
    receipt = print_receipt_voucher(hoa, admin, "repayment-voucher")
    assert receipt.fund_id == world.fund_id
    hoa.open(f"/clubs/{world.club_id}/members/{lan['id']}")
    assert "525.000 ₫" in page.locator("main").inner_text()
    hoa.check("member-passbook-repaid")

    # An auditor of the area downloads the club's cash statement as XLSX and opens it.
    statement = auditor_downloads_statement(phone, base, admin, world.club_id,
                                            name="flow-auditor")
    cash_at_end = 20_000_000 + 30_000_000 - 5_000_000 + 525_000
    assert statement["labels"]["Số dư cuối kỳ"][2] == cash_at_end
    assert any(525_000 in line for line in statement["lines"]), statement["lines"]

    # English on request.
    hoa.open(f"/clubs/{world.club_id}?lang=en")
    assert "Cash" in page.locator(".figures").inner_text()
    hoa.check("treasurer-club-english")
    hoa.open(f"/clubs/{world.club_id}?lang=vi")

    # Every page: nothing left 127.0.0.1, at most 150 KB, no serious or critical axe finding.
    sessions = (hoa, binh)
    outside = [url for s in sessions for url in s.requested_urls
               if not url.startswith(base + "/")]
    assert outside == []
    records = hoa.records
    assert len(records) >= 15
    for record in records:
        assert 0 < record.transferred_bytes <= PAGE_BYTES_MAX, record
        assert record.blocking_violations == [], record
    print("\n".join(f"{r.name}: {r.transferred_bytes} bytes" for r in records))


def test_the_pages_refuse(
    pages_server: str, new_token: Callable[..., Any], phone: Callable[[], BrowserSession],
) -> None:
    base = pages_server
    admin = run_in_thread(lambda: new_token("admin"))
    world = world_on(base, admin)
    hoa = phone()
    first_sign_in(hoa, setup_code(base, admin, world.treasurer_id), TREASURER_PHONE,
                  TREASURER_PIN, "refusals-treasurer")
    page = hoa.page

    # Another club's pages are not found, and nothing can be written there.
    for path in (f"/clubs/{world.other_club_id}", f"/clubs/{world.other_club_id}/members/new",
                 f"/clubs/{world.other_club_id}/money/contribution"):
        assert hoa.open(path).status == 404
    assert "Không tìm thấy" in page.locator("h1").inner_text()
    hoa.check("other-club-404", 404)
    token = page.locator("input[name=csrf_token]").first.input_value()
    refused = page.request.post(f"{base}/clubs/{world.other_club_id}/money/contribution",
                                form={"csrf_token": token, "amount": "100000"})
    assert refused.status == 404

    # A form sent without its token writes nothing.
    hoa.open(f"/clubs/{world.club_id}/money/contribution")
    page.get_by_label("Số tiền (đồng)").fill("100.000")
    page.evaluate("document.querySelector('main input[name=csrf_token]').remove()")
    submit(hoa)
    assert "không có gì được lưu" in page.locator("h1").inner_text()
    hoa.check("no-form-token-403", 403)
    entries = api_get(base, admin, f"/v1/funds/{world.fund_id}/entries")["items"]
    assert len(entries) == 1  # the world's own contribution only

    # The chair records an application herself: she may not approve her own.
    binh = phone()
    first_sign_in(binh, setup_code(base, admin, world.chair_id), CHAIR_PHONE, CHAIR_PIN,
                  "refusals-chair")
    binh.open(f"/clubs/{world.club_id}/loans/new")
    binh.page.get_by_label("Người vay").select_option(world.member_id)
    binh.page.get_by_label("Số tiền vay (đồng)").fill("2.000.000")
    binh.page.get_by_label("Ngày trả kỳ đầu").fill(
        (business_today() + timedelta(days=30)).strftime("%d/%m/%Y"))
    submit(binh)
    loan_path = binh.page.url.removeprefix(base)
    submit(binh, "Duyệt cho vay")
    assert "không được tự duyệt" in binh.page.get_by_role("alert").inner_text()
    binh.check("own-approval-refused", 422)
    loan = api_get(base, admin, "/v1" + loan_path)
    assert loan["status"] == "applied" and loan["approved_by"] is None
    for record in hoa.records:
        assert record.blocking_violations == [], record
        assert record.transferred_bytes <= PAGE_BYTES_MAX, record
