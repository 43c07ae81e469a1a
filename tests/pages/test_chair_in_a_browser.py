"""Correcting a mistake and closing a month in a real browser (Debian's chromium) at
360×800: the treasurer asks for the reversal of a mistyped repayment, cannot approve it
herself, the chair approves it in her queue, then closes a month, and the treasurer's
form dated in it is refused next to its date field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import run_in_thread
from tests.pages.conftest import PAGE_BYTES_MAX, BrowserSession
from tests.pages.test_chair_pages import MISTYPED, loan_with_a_mistyped_repayment
from tests.pages.test_pages_in_a_browser import (
    api_get,
    check_fit_for_older_eyes,
    first_sign_in,
    setup_code,
    submit,
    world_on,
)
from tests.pages.world import CHAIR_PHONE, CHAIR_PIN, TREASURER_PHONE, TREASURER_PIN, PagesWorld

pytestmark = pytest.mark.slow


def mistyped_repayment(base: str, treasurer_token: str, chair_token: str,
                       world: PagesWorld) -> dict[str, Any]:
    async def record() -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=base, headers={
                "Authorization": f"Bearer {treasurer_token}"}) as treasurer, \
                httpx.AsyncClient(base_url=base, headers={
                    "Authorization": f"Bearer {chair_token}"}) as chair:
            _, typo = await loan_with_a_mistyped_repayment(treasurer, chair, world)
            return typo

    return run_in_thread(record)


def press(phone: BrowserSession, button: Any) -> None:
    """Click a button found by the caller (exact names: "Duyệt" is in "Không duyệt")."""
    phone.sizes.clear()
    button.click()
    phone.page.wait_for_load_state("load")


def test_a_mistake_corrected_by_two_people_and_a_month_closed(
    pages_server: str, new_token: Callable[..., Any], phone: Callable[[], BrowserSession],
) -> None:
    base = pages_server
    admin = run_in_thread(lambda: new_token("admin"))
    world = world_on(base, admin)
    typo = mistyped_repayment(
        base, run_in_thread(lambda: new_token(person_id=world.treasurer_id)),
        run_in_thread(lambda: new_token(person_id=world.chair_id)), world)
    loan_id, entry_id = typo["loan_id"], typo["entry_id"]
    cash_before = 20_000_000 - 5_000_000

    # The treasurer finds the wrong repayment on the loan's page and asks for "Sửa sai".
    hoa = phone()
    first_sign_in(hoa, setup_code(base, admin, world.treasurer_id), TREASURER_PHONE,
                  TREASURER_PIN, "fix-treasurer")
    page = hoa.page
    hoa.open(f"/loans/{loan_id}")
    hoa.check("fix-loan-with-typo")
    press(hoa, page.locator(f'a[href="/entries/{entry_id}/correction"]'))
    assert "khoản sai vẫn còn trong sổ" in page.locator("main").inner_text()
    assert "500.000 ₫" in page.locator(".pairs").inner_text()
    hoa.check("fix-correction-form")
    check_fit_for_older_eyes(hoa)
    page.get_by_label("Lý do").fill("gõ nhầm 500.000, đúng là 50.000")
    submit(hoa, "Gửi đề nghị sửa sai")
    assert "Đã gửi đề nghị sửa sai" in page.get_by_role("status").inner_text()
    hoa.check("fix-correction-requested")
    (pending,) = api_get(base, admin, f"/v1/funds/{world.fund_id}/corrections"
                                      "?status=pending")["items"]

    # Her queue shows it as hers, with no approval; a forged approval is refused in words.
    hoa.open(f"/clubs/{world.club_id}/approvals")
    assert "Bạn là người đề nghị" in page.locator(".queue-item").inner_text()
    assert page.get_by_role("button", name="Duyệt", exact=True).count() == 0
    hoa.check("fix-treasurer-queue")
    token = page.locator("input[name=csrf_token]").first.input_value()
    forged = page.request.post(
        f"{base}/clubs/{world.club_id}/approvals/correction/{pending['id']}",
        form={"csrf_token": token, "decision": "approve"})
    assert forged.status == 422
    assert "Việc này do chủ nhiệm câu lạc bộ duyệt" in forged.text()
    assert api_get(base, admin, f"/v1/corrections/{pending['id']}")["status"] == "pending"

    # The chair sees who asked, when, how much and why.
    binh = phone()
    first_sign_in(binh, setup_code(base, admin, world.chair_id), CHAIR_PHONE, CHAIR_PIN,
                  "fix-chair")
    chair_page = binh.page
    binh.open(f"/clubs/{world.club_id}/approvals")
    item = chair_page.locator(".queue-item").inner_text()
    for shown in ("Nguyễn Thị Hoa", "500.000 ₫", "gõ nhầm 500.000, đúng là 50.000"):
        assert shown in item
    binh.check("fix-chair-queue")
    check_fit_for_older_eyes(binh)
    # Her approval without the form's token changes nothing.
    chair_page.evaluate("document.querySelector('.queue-item input[name=csrf_token]').remove()")
    press(binh, chair_page.get_by_role("button", name="Duyệt", exact=True))
    assert "không có gì được lưu" in chair_page.locator("h1").inner_text()
    binh.check("fix-approval-without-token", 403)
    assert api_get(base, admin, f"/v1/corrections/{pending['id']}")["status"] == "pending"
    loan = api_get(base, admin, f"/v1/loans/{loan_id}")
    assert loan["principal_repaid"] + loan["interest_paid"] == MISTYPED
    # With it, the reversal is posted.
    binh.open(f"/clubs/{world.club_id}/approvals")
    press(binh, chair_page.get_by_role("button", name="Duyệt", exact=True))
    assert chair_page.get_by_role("status").inner_text() == "Đã duyệt."
    assert "Không có việc nào chờ duyệt." in chair_page.locator("main").inner_text()
    binh.check("fix-chair-approved")

    # The books: the loan as if nothing had been paid, the cash back where it was.
    loan = api_get(base, admin, f"/v1/loans/{loan_id}")
    assert (loan["principal_repaid"], loan["interest_paid"], loan["outstanding_principal"]) \
        == (0, 0, 5_000_000)
    accounts = api_get(base, admin, f"/v1/funds/{world.fund_id}/accounts")["items"]
    assert {a["code"]: a["balance"] for a in accounts}["111"] == cash_before
    assert api_get(base, admin, f"/v1/corrections/{pending['id']}")["status"] == "approved"
    hoa.open(f"/loans/{loan_id}")
    assert "đã đảo" in page.locator("main").inner_text()
    hoa.check("fix-loan-reversed")

    # The chair closes October after seeing what closing means.
    binh.open(f"/clubs/{world.club_id}/close-month")
    binh.check("close-month")
    chair_page.get_by_label("Tháng").select_option("2026-10")
    submit(binh, "Xem khóa sổ nghĩa là gì")
    assert "từ 01/10/2026 đến 31/10/2026" in chair_page.locator(".preview").inner_text()
    binh.check("close-month-preview")
    check_fit_for_older_eyes(binh)
    assert api_get(base, admin, f"/v1/funds/{world.fund_id}/periods")["items"] == []
    submit(binh, "Đúng, khóa sổ tháng 10/2026")
    assert chair_page.get_by_role("status").inner_text() == "Đã khóa sổ tháng 10/2026."
    binh.check("close-month-closed")
    periods = api_get(base, admin, f"/v1/funds/{world.fund_id}/periods")["items"]
    assert [p["period"] for p in periods] == ["2026-10"]

    # The treasurer's contribution dated in October: refused by the date field, kept,
    # nothing written.
    entries_before = api_get(base, admin, f"/v1/funds/{world.fund_id}/entries")["items"]
    hoa.open(f"/clubs/{world.club_id}/money/contribution")
    page.get_by_label("Số tiền (đồng)").fill("200.000")
    page.get_by_label("Ngày", exact=True).fill("15/10/2026")
    submit(hoa)
    assert page.locator("#effective_date-problem").inner_text().startswith(
        "Ngày này thuộc tháng đã khóa sổ nên không ghi được")
    assert "đã khóa sổ" in page.get_by_role("alert").inner_text()
    assert page.get_by_label("Ngày", exact=True).input_value() == "15/10/2026"
    assert page.get_by_label("Số tiền (đồng)").input_value() == "200.000"
    hoa.check("contribution-in-closed-month", 422)
    assert api_get(base, admin, f"/v1/funds/{world.fund_id}/entries")["items"] == \
        entries_before

    # Every page: nothing left 127.0.0.1, at most 150 KB, no serious or critical axe finding.
    outside = [url for s in (hoa, binh) for url in s.requested_urls
               if not url.startswith(base + "/")]
    assert outside == []
    records = hoa.records
    assert len(records) >= 14
    for record in records:
        assert 0 < record.transferred_bytes <= PAGE_BYTES_MAX, record
        assert record.blocking_violations == [], record
    print("\n".join(f"{r.name}: {r.transferred_bytes} bytes" for r in records))
