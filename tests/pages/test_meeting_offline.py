"""A meeting without signal, in Debian's chromium at 360×800 with a profile kept on disk
(a phone's browser): the treasurer opens the meeting page once, loses the signal,
records 20 repayments and contributions, reloads the page and restarts the browser
still offline (the queue is intact), and meanwhile the chair closes the month one
record is dated in. Back online the queue goes as one batch whose answer is lost on
the way; sent again it writes nothing more: 19 entries, the refused one shown with its
Vietnamese reason, fixed by the treasurer and sent."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import run_in_thread
from tests.pages.conftest import (
    CHROMIUM,
    PAGE_BYTES_MAX,
    BrowserSession,
    PageRecord,
    measured_session,
)
from tests.pages.test_pages_in_a_browser import (
    api_get,
    business_today,
    first_sign_in,
    setup_code,
    world_on,
)
from tests.pages.world import TREASURER_PHONE, TREASURER_PIN, PagesWorld
from tests.test_readme_commands import world_readable_folder

pytestmark = pytest.mark.slow

REPAYMENT = 100_000
LOAN_PRINCIPAL = 5_000_000
REPAYMENTS_PER_LOAN = 6
CONTRIBUTIONS = (50_000, 60_000, 70_000, 80_000, 90_000, 110_000, 120_000)
LATE_CONTRIBUTION = 75_000  # dated in the month the chair closes meanwhile
ANSWER_SECONDS_MAX = 60


def month_start(day: date, back: int) -> date:
    """The first day of the month `back` months before `day`'s."""
    month_index = day.year * 12 + day.month - 1 - back
    return date(month_index // 12, month_index % 12 + 1, 1)


def lent_to(base: str, admin_token: str, chair_token: str, world: PagesWorld,
            name: str) -> tuple[str, str]:
    """A new member of the club with a loan paid out two months ago: (member, loan)."""
    start = month_start(business_today(), 2)
    lent_on = (start + timedelta(days=4)).isoformat()
    first_due = (month_start(business_today(), 1) + timedelta(days=4)).isoformat()
    admin = {"Authorization": f"Bearer {admin_token}"}
    chair = {"Authorization": f"Bearer {chair_token}"}
    with httpx.Client(base_url=base) as http:
        member = http.post(f"/v1/clubs/{world.club_id}/members", headers=admin, json={
            "name": name, "gender": "female", "birth_year": 1952})
        assert member.status_code == 201, member.text
        loan = http.post(f"/v1/funds/{world.fund_id}/loans", headers=admin, json={
            "member_id": member.json()["id"], "principal": LOAN_PRINCIPAL, "installments": 10,
            "rate_per_period": "0.005", "first_due_date": first_due, "applied_on": lent_on})
        assert loan.status_code == 201, loan.text
        loan_id = loan.json()["id"]
        approved = http.post(f"/v1/loans/{loan_id}/approval", headers=chair,
                             json={"effective_date": lent_on})
        assert approved.status_code == 200, approved.text
        paid_out = http.post(f"/v1/loans/{loan_id}/disbursement", headers=admin,
                             json={"effective_date": lent_on})
        assert paid_out.status_code == 200, paid_out.text
    return member.json()["id"], loan_id


@pytest.fixture
def phone_on_disk(pages_server: str) -> Iterator[Callable[..., BrowserSession]]:
    """`phone_on_disk(offline)`: chromium started on one profile folder kept for the whole
    test (world-readable, in /tmp), 360×800; starting it again closes the one before, as
    a phone's browser that was shut. Every request of the context is recorded."""
    from playwright.sync_api import sync_playwright

    records: list[PageRecord] = []
    requested: list[str] = []
    open_contexts: list[Any] = []
    with world_readable_folder() as folder, sync_playwright() as playwright:
        profile = Path(folder) / "profile"

        def start(offline: bool = False) -> BrowserSession:
            for context in open_contexts:
                context.close()
            open_contexts.clear()
            context = playwright.chromium.launch_persistent_context(
                str(profile), executable_path=CHROMIUM, args=["--no-sandbox"],
                viewport={"width": 360, "height": 800}, device_scale_factor=1,
                locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", offline=offline)
            open_contexts.append(context)
            context.on("request", lambda request: requested.append(request.url))
            page = context.pages[0] if context.pages else context.new_page()
            session = measured_session(page, pages_server, records)
            session.requested_urls = requested  # the worker's requests too
            return session

        try:
            yield start
        finally:
            for context in open_contexts:
                context.close()


def wait_for_waiting(phone: BrowserSession, count: int) -> None:
    """(A function, not a string: the page's policy lets no string be run as script.)"""
    phone.page.wait_for_function(
        "count => document.getElementById('waiting-count').textContent === String(count)",
        arg=count)


def waiting_count(phone: BrowserSession) -> int:
    return int(phone.page.locator("#waiting-count").inner_text())


def wait_for_connection(phone: BrowserSession, text: str) -> None:
    phone.page.wait_for_function(
        "text => document.getElementById('connection').textContent.includes(text)", arg=text)


def wait_for_outcome(phone: BrowserSession, text: str) -> str:
    phone.page.wait_for_function(
        "text => document.getElementById('outcome').textContent.includes(text)", arg=text,
        timeout=ANSWER_SECONDS_MAX * 1000)
    return str(phone.page.locator("#outcome").inner_text())


def answers_lost_on_the_way(page: Any, batch_url: str) -> list[Any]:
    """From now on each send reaches the service, which answers, but the phone never hears
    the answer (the signal dropped): the answers, as the service gave them."""
    lost: list[Any] = []

    def lose_the_answer(route: Any) -> None:
        answer = route.fetch()
        lost.append(answer.json())
        route.abort()

    page.context.route(batch_url, lose_the_answer)
    return lost


def fund_figures(base: str, admin: str, world: PagesWorld, loans: list[str]) -> dict[str, int]:
    """The number of entries, the cash and what each loan has been paid, from the API."""
    entries = api_get(base, admin, f"/v1/funds/{world.fund_id}/entries?limit=500")["items"]
    accounts = api_get(base, admin, f"/v1/funds/{world.fund_id}/accounts?limit=500")["items"]
    figures = {"entries": len(entries),
               "cash": next(a["balance"] for a in accounts if a["code"] == "111")}
    for loan_id in loans:
        loan = api_get(base, admin, f"/v1/loans/{loan_id}")
        figures[loan_id] = loan["principal_repaid"] + loan["interest_paid"] + loan["penalty_paid"]
    return figures


def test_a_meeting_without_signal_keeps_every_record_and_sends_each_once(
    pages_server: str, new_token: Callable[..., Any],
    phone_on_disk: Callable[..., BrowserSession],
) -> None:
    base = pages_server
    admin = run_in_thread(lambda: new_token("admin"))
    world = world_on(base, admin)
    chair = run_in_thread(lambda: new_token("chair", person_id=world.chair_id))
    lan, lan_loan = lent_to(base, admin, chair, world, "Phạm Thị Lan")
    tu, tu_loan = lent_to(base, admin, chair, world, "Đỗ Thị Tư")
    loans = [lan_loan, tu_loan]
    today = business_today()
    closing = month_start(today, 1)
    before = fund_figures(base, admin, world, loans)
    meeting = f"/clubs/{world.club_id}/meeting"

    # One visit with signal: the page and its worker keep what the page needs.
    hoa = phone_on_disk()
    first_sign_in(hoa, setup_code(base, admin, world.treasurer_id), TREASURER_PHONE,
                  TREASURER_PIN, "meeting-treasurer")
    response = hoa.open(meeting)
    assert response is not None and response.status == 200
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "worker-src 'self'" in policy
    page = hoa.page
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    synced = page.locator("#synced")
    synced_at = synced.get_attribute("data-at")
    assert synced.inner_text().startswith("Số liệu lúc ")
    assert "Phạm Thị Lan" in page.locator(".meeting-members").inner_text()
    hoa.check("meeting-online")
    assert waiting_count(hoa) == 0
    # Pages other than the meeting still run no script at all.
    club_page = hoa.open(f"/clubs/{world.club_id}")
    assert club_page is not None and "script-src" not in club_page.headers[
        "content-security-policy"]
    hoa.open(meeting)
    synced_at = synced.get_attribute("data-at")

    # No signal: twenty records kept on the phone.
    page.context.set_offline(True)
    page.wait_for_function("() => !navigator.onLine")
    today_text = today.strftime("%d/%m/%Y")
    records = [(f"repayment:{loan}", REPAYMENT, today_text)
               for _ in range(REPAYMENTS_PER_LOAN) for loan in loans]
    payers = [world.member_id, lan, tu]
    records += [(f"contribution:{payers[n % 3]}", amount, today_text)
                for n, amount in enumerate(CONTRIBUTIONS)]
    records.insert(7, (f"contribution:{world.member_id}", LATE_CONTRIBUTION,
                       (closing + timedelta(days=14)).strftime("%d/%m/%Y")))
    assert len(records) == 20
    for number, (choice, amount, day) in enumerate(records, start=1):
        page.select_option("#what", choice)
        page.get_by_label("Số tiền (đồng)").fill(f"{amount:,}".replace(",", "."))
        page.get_by_label("Ngày", exact=True).fill(day)
        page.get_by_role("button", name="Ghi vào máy").click()
        wait_for_waiting(hoa, number)
    assert page.locator(".queue li").count() == 20
    assert page.locator(".queue li .state").all_inner_texts() == ["Chờ gửi"] * 20
    hoa.check("meeting-offline-20-waiting")

    # Reloaded, then the browser shut and started again, still offline: all 20 wait, and
    # the figures are still those of the last visit with signal, marked with their time.
    page.reload()
    wait_for_waiting(hoa, 20)
    assert page.locator("#synced").get_attribute("data-at") == synced_at
    hoa = phone_on_disk(offline=True)
    page = hoa.page
    hoa.open(meeting)
    wait_for_waiting(hoa, 20)
    assert page.locator("#synced").get_attribute("data-at") == synced_at
    # (Said at once when the phone knows it is offline, else once the first send fails.)
    wait_for_connection(hoa, "Không có mạng")
    hoa.check("meeting-restarted-offline")
    assert fund_figures(base, admin, world, loans) == before

    # Meanwhile the chair closes last month, in which one record is dated.
    closed = httpx.post(f"{base}/v1/funds/{world.fund_id}/periods/{closing:%Y-%m}/close",
                        headers={"Authorization": f"Bearer {chair}"})
    assert closed.status_code == 201, closed.text

    # The signal returns: the queue goes by itself, but its answer is lost on the way.
    batch_url = f"{base}{meeting}/batch"
    lost = answers_lost_on_the_way(page, batch_url)
    # (Waiting for the lost answer itself: a send tried at start-up, before the phone knew
    # it was offline, may already have left the same words on the page.)
    with page.context.expect_event(
            "requestfailed", predicate=lambda request: request.url == batch_url and bool(lost),
            timeout=ANSWER_SECONDS_MAX * 1000):
        page.context.set_offline(False)
    assert "Chưa gửi được" in wait_for_outcome(hoa, "Chưa gửi được")
    assert waiting_count(hoa) == 20
    # The phone says it is online, but nothing came back: the page says so.
    assert page.evaluate("() => navigator.onLine")
    wait_for_connection(hoa, "Không có mạng")
    (answer,) = lost
    assert [item["status"] for item in answer["items"]].count(201) == 19
    (refusal,) = [item["problem"] for item in answer["items"] if item["status"] != 201]
    assert refusal["code"] == "period_closed"
    written = fund_figures(base, admin, world, loans)
    assert written["entries"] == before["entries"] + 19
    page.context.unroute(batch_url)

    # "Gửi ngay": the same queue again writes nothing more; the refused one stays.
    page.get_by_role("button", name="Gửi ngay").click()
    outcome = wait_for_outcome(hoa, "bị từ chối")
    assert "Đã gửi 19 khoản; 1 khoản bị từ chối" in outcome
    assert page.locator("#connection").inner_text() == "Đang có mạng."
    assert waiting_count(hoa) == 0
    refused = page.locator(".queue li.refused")
    assert refused.count() == 1
    reason = refused.locator(".reason").inner_text()
    assert "khóa sổ" in reason, reason
    assert f"{LATE_CONTRIBUTION:,}".replace(",", ".") in refused.inner_text()
    hoa.check("meeting-synced-one-refused")
    after = fund_figures(base, admin, world, loans)
    assert after == written
    cash_in = REPAYMENT * REPAYMENTS_PER_LOAN * len(loans) + sum(CONTRIBUTIONS)
    assert after["cash"] == before["cash"] + cash_in
    for loan_id in loans:
        assert after[loan_id] == before[loan_id] + REPAYMENT * REPAYMENTS_PER_LOAN
    page.get_by_role("button", name="Gửi ngay").click()
    assert "Không có khoản nào chờ gửi" in wait_for_outcome(hoa, "Không có khoản")
    assert fund_figures(base, admin, world, loans) == after

    # She moves the refused contribution to today, and it is written once.
    refused.get_by_role("button", name="Sửa").click()
    page.get_by_label("Ngày", exact=True).fill(today_text)
    page.get_by_role("button", name="Ghi vào máy").click()
    wait_for_waiting(hoa, 1)
    assert page.locator(".queue li").count() == 1
    # (The page kept offline may carry a form token gone stale: it takes the current one.)
    page.evaluate("() => document.querySelectorAll('input[name=csrf_token]')"
                  ".forEach(field => { field.value = 'stale'; })")
    page.get_by_role("button", name="Gửi ngay").click()
    assert "Đã gửi 1 khoản." in wait_for_outcome(hoa, "Đã gửi 1 khoản")
    final = fund_figures(base, admin, world, loans)
    assert final["entries"] == before["entries"] + 20
    assert final["cash"] == before["cash"] + cash_in + LATE_CONTRIBUTION
    assert page.locator(".queue li").count() == 0

    # Every page: nothing left 127.0.0.1, within its bytes, no serious axe finding.
    assert [url for url in hoa.requested_urls if not url.startswith(base + "/")] == []
    assert hoa.records[0].transferred_bytes > 0
    for record in hoa.records:
        assert record.transferred_bytes <= PAGE_BYTES_MAX, record
        assert record.blocking_violations == [], record
    print("\n".join(f"{r.name}: {r.transferred_bytes} bytes" for r in hoa.records))
