"""The auditor's pages in a real browser (Debian's chromium) at 360×800: from signing in
to the portfolio of her area, a club's trial balance and cash statement, the statement
downloaded as XLSX and opened, the programme with the club waiting for seed money at the
top; another province's club is not found."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import run_in_thread
from tests.pages.auditor_world import (
    AUDITOR_PHONE,
    AUDITOR_PIN,
    CASH_AT_END,
    COMMUNE,
    CONTRIBUTION,
    EXPENSE,
    PROVINCE,
    SEED,
    AuditorWorld,
    auditor_downloads_statement,
    build_auditor_world,
    statement_figures,
)
from tests.pages.conftest import PAGE_BYTES_MAX, BrowserSession
from tests.pages.test_pages_in_a_browser import (
    business_today,
    check_fit_for_older_eyes,
    first_sign_in,
    setup_code,
)

pytestmark = pytest.mark.slow


def auditor_world_on(base: str, admin_token: str) -> AuditorWorld:
    async def build() -> AuditorWorld:
        async with httpx.AsyncClient(base_url=base, headers={
                "Authorization": f"Bearer {admin_token}"}) as admin:
            return await build_auditor_world(admin)

    return run_in_thread(build)


def follow(session: BrowserSession, locator: Any) -> None:
    """Click a link or button and wait for the page it opens (measured from here)."""
    session.sizes.clear()
    locator.click()
    session.page.wait_for_load_state("load")


def test_an_auditor_from_sign_in_to_the_statement_file(
    pages_server: str, new_token: Callable[..., Any], phone: Callable[[], BrowserSession],
) -> None:
    base = pages_server
    admin = run_in_thread(lambda: new_token("admin"))
    world = auditor_world_on(base, admin)
    today = business_today().strftime("%d/%m/%Y")

    # She signs in for the first time and lands on her province's page.
    thu = phone()
    first_sign_in(thu, setup_code(base, admin, world.auditor_id), AUDITOR_PHONE, AUDITOR_PIN,
                  "auditor")
    page = thu.page
    assert page.url == f"{base}/auditor"
    assert page.get_by_label("Đến ngày", exact=True).input_value() == today
    thu.check("auditor-area")
    check_fit_for_older_eyes(thu)

    # She picks the commune and a date: a row per club, each club's log verified.
    page.get_by_label("Địa bàn", exact=True).select_option(COMMUNE)
    page.get_by_label("Đến ngày", exact=True).fill("31/10/2026")
    follow(thu, page.get_by_role("button", name="Xem"))
    club_row = page.locator("table.report tr", has_text="CLB LTH xã Tịnh Hà")
    assert "31.500.000 ₫" in club_row.inner_text()
    assert page.locator("table.report tr", has_text="CLB LTH thôn Phú Lộc").count() == 1
    assert page.locator(".logs li").count() == 2
    assert "điểm kiểm tra đã ký: 4 bản ghi" in page.locator(".logs").inner_text()
    thu.check("auditor-portfolio-commune")
    check_fit_for_older_eyes(thu)
    follow(thu, page.get_by_role("button", name="Kiểm tra từng bản ghi của các nhật ký"))
    assert page.locator(".logs").inner_text().count("Khớp:") == 2
    thu.check("auditor-logs-verified")

    # The club: its trial balance as of that date, and its log's status.
    follow(thu, page.locator("table.report").get_by_role("link", name="CLB LTH xã Tịnh Hà"))
    assert "CLB LTH xã Tịnh Hà" in page.locator("h1").inner_text()
    assert "Tổng nợ bằng tổng có." in page.locator("main").inner_text()
    assert "Khớp:" in page.locator(".audit-status").inner_text()
    thu.check("auditor-club")
    check_fit_for_older_eyes(thu)

    # The cash account's statement, for a range she types.
    follow(thu, page.get_by_role("link", name="111 Tiền mặt", exact=True))
    page.get_by_label("Từ ngày").fill("01/01/2026")
    page.get_by_label("Đến ngày", exact=True).fill("31/10/2026")
    follow(thu, page.get_by_role("button", name="Xem"))
    assert page.locator(".closing").inner_text() == "31.500.000 ₫"
    assert page.locator("table.report tbody tr").count() == 3
    thu.check("auditor-statement")
    check_fit_for_older_eyes(thu)

    # She downloads it as XLSX with the link on the page and opens it.
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải sổ chi tiết (Excel)").click()
    assert download.value.suggested_filename.endswith(".xlsx")
    with open(download.value.path(), "rb") as file:
        figures = statement_figures(file.read())
    assert figures["labels"]["Số dư đầu kỳ"][2] == 0
    assert figures["labels"]["Cộng phát sinh trong kỳ"][:2] == (SEED + CONTRIBUTION, EXPENSE)
    assert figures["labels"]["Số dư cuối kỳ"][2] == CASH_AT_END
    assert [line[5] or -line[6] for line in figures["lines"]] == [SEED, CONTRIBUTION, -EXPENSE]

    # The programme: the club still waiting for its seed money comes first.
    follow(thu, page.get_by_role("link", name="Chương trình và vốn ban đầu"))
    page.get_by_label("Địa bàn", exact=True).select_option(PROVINCE)
    follow(thu, page.get_by_role("button", name="Xem"))
    first_waiting = page.locator(".waiting li").first.inner_text()
    assert "CLB LTH thôn Phú Lộc" in first_waiting and "đã chờ" in first_waiting
    assert page.locator(".waiting li").count() == 1
    assert page.get_by_role("link", name="Tải báo cáo (Excel)").count() == 1
    thu.check("auditor-programme")
    check_fit_for_older_eyes(thu)

    # Another province's club is not found; English on request.
    assert thu.open(f"/auditor/clubs/{world.foreign_club_id}").status == 404
    assert "Không tìm thấy" in page.locator("h1").inner_text()
    thu.check("auditor-foreign-club-404", 404)
    thu.open("/auditor/programme?lang=en")
    assert "Clubs waiting for seed money" in page.locator("main").inner_text()
    thu.check("auditor-programme-english")
    thu.open("/auditor?lang=vi")

    # The walk the main flow reuses: another auditor of the province, from her sign-in
    # to the club's cash statement as XLSX.
    again = auditor_downloads_statement(phone, base, admin, world.club_id)
    assert again["labels"]["Số dư cuối kỳ"][2] == CASH_AT_END

    # Every page: nothing left 127.0.0.1, at most 150 KB, no serious or critical axe finding.
    assert [url for url in thu.requested_urls if not url.startswith(base + "/")] == []
    records = thu.records
    assert len(records) >= 10
    for record in records:
        assert 0 < record.transferred_bytes <= PAGE_BYTES_MAX, record
        assert record.blocking_violations == [], record
    print("\n".join(f"{r.name}: {r.transferred_bytes} bytes" for r in records))
