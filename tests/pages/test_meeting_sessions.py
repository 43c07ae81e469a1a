"""A meeting's queue across web sessions and people, in Debian's chromium at 360×800 on a
profile kept on disk (one phone): the treasurer records offline, the signal returns and
the send's answer is lost; she signs out (warned that records are not sent) and in
again, and the page sends the same records under the new session: each is written once.
Then she records two more offline and signs out; the chair signs in on the same phone
and neither sees nor sends them (the page names who recorded them); what the chair
records herself goes under her name; the treasurer, back, sends her own two."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import run_in_thread
from tests.pages.conftest import PAGE_BYTES_MAX, BrowserSession
from tests.pages.test_meeting_offline import (
    answers_lost_on_the_way,
    fund_figures,
    lent_to,
    phone_on_disk,
    wait_for_outcome,
    wait_for_waiting,
    waiting_count,
)
from tests.pages.test_pages_in_a_browser import (
    api_get,
    business_today,
    first_sign_in,
    setup_code,
    world_on,
)
from tests.pages.world import CHAIR_PHONE, CHAIR_PIN, TREASURER_PHONE, TREASURER_PIN

pytestmark = pytest.mark.slow
__all__ = ["phone_on_disk"]  # the fixture, used by name

REPAYMENT = 100_000
CONTRIBUTION = 50_000
CHAIR_CONTRIBUTION = 30_000


def record_offline(phone: BrowserSession, records: list[tuple[str, int]], today: str) -> None:
    page = phone.page
    for number, (choice, amount) in enumerate(records, start=waiting_count(phone) + 1):
        page.select_option("#what", choice)
        page.get_by_label("Số tiền (đồng)").fill(f"{amount:,}".replace(",", "."))
        page.get_by_label("Ngày", exact=True).fill(today)
        page.get_by_role("button", name="Ghi vào máy").click()
        wait_for_waiting(phone, number)


def sign_out_warned(phone: BrowserSession, waiting: int, name: str) -> None:
    """The first press of "Đăng xuất" warns of the records not sent; the second leaves."""
    page = phone.page
    page.get_by_role("button", name="Đăng xuất").click()
    warning = page.locator("#sign-out-warning")
    warning.wait_for(state="visible")
    assert warning.inner_text().startswith(f"Còn {waiting} khoản chưa gửi"), warning.inner_text()
    assert "/meeting" in page.url
    phone.check(name)
    page.get_by_role("button", name="Đăng xuất").click()
    page.wait_for_url("**/sign-in")


def sign_in(phone: BrowserSession, number: str, pin: str) -> None:
    page = phone.page
    phone.open("/sign-in")
    page.get_by_label("Số điện thoại").fill(number)
    page.get_by_label("Mã PIN").fill(pin)
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_load_state("load")
    assert not page.url.endswith("/sign-in"), page.url


def entry_actors(base: str, admin: str, fund_id: str) -> list[str]:
    entries = api_get(base, admin, f"/v1/funds/{fund_id}/entries?limit=500")["items"]
    return [entry["actor"] for entry in entries]


def test_a_queue_is_written_once_across_sessions_and_never_sent_by_another_officer(
    pages_server: str, new_token: Callable[..., Any],
    phone_on_disk: Callable[..., BrowserSession],
) -> None:
    base = pages_server
    admin = run_in_thread(lambda: new_token("admin"))
    world = world_on(base, admin)
    chair = run_in_thread(lambda: new_token("chair", person_id=world.chair_id))
    lan, lan_loan = lent_to(base, admin, chair, world, "Phạm Thị Lan")
    before = fund_figures(base, admin, world, [lan_loan])
    meeting = f"/clubs/{world.club_id}/meeting"
    today = business_today().strftime("%d/%m/%Y")
    treasurer_actor = f"person:{world.treasurer_id}"

    phone = phone_on_disk()
    page = phone.page
    first_sign_in(phone, setup_code(base, admin, world.treasurer_id), TREASURER_PHONE,
                  TREASURER_PIN, "sessions-treasurer")
    phone.open(meeting)
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")

    # Offline: three repayments and a contribution kept on the phone.
    page.context.set_offline(True)
    page.wait_for_function("() => !navigator.onLine")
    record_offline(phone, [(f"repayment:{lan_loan}", REPAYMENT)] * 3
                   + [(f"contribution:{lan}", CONTRIBUTION)], today)

    # The signal returns, the queue goes, its answer is lost on the way.
    batch_url = f"{base}{meeting}/batch"
    lost = answers_lost_on_the_way(page, batch_url)
    page.context.set_offline(False)
    wait_for_outcome(phone, "Chưa gửi được")
    page.context.unroute(batch_url)
    (answer,) = lost
    assert [item["status"] for item in answer["items"]] == [201] * 4
    written = fund_figures(base, admin, world, [lan_loan])
    assert written["entries"] == before["entries"] + 4
    assert waiting_count(phone) == 4

    # She signs out (warned: 4 not sent) and in again: a new session sends the same
    # records, which answer as the first time and write nothing more.
    sign_out_warned(phone, 4, "sessions-sign-out-warning")
    sign_in(phone, TREASURER_PHONE, TREASURER_PIN)
    phone.open(meeting)
    assert "Đã gửi 4 khoản." in wait_for_outcome(phone, "Đã gửi 4 khoản")
    assert waiting_count(phone) == 0 and page.locator(".queue li").count() == 0
    phone.check("sessions-sent-once")
    after = fund_figures(base, admin, world, [lan_loan])
    assert after == written
    assert after[lan_loan] == before[lan_loan] + 3 * REPAYMENT
    assert after["cash"] == before["cash"] + 3 * REPAYMENT + CONTRIBUTION

    # Two more records offline; she signs out with them waiting.
    page.context.set_offline(True)
    page.wait_for_function("() => !navigator.onLine")
    record_offline(phone, [(f"repayment:{lan_loan}", REPAYMENT),
                           (f"contribution:{lan}", CONTRIBUTION)], today)
    page.context.route(batch_url, lambda route: route.abort())  # the signal is too weak
    page.context.set_offline(False)
    wait_for_outcome(phone, "Chưa gửi được")
    sign_out_warned(phone, 2, "sessions-sign-out-two-waiting")
    page.context.unroute(batch_url)

    # The chair signs in on the same phone: the treasurer's records are neither shown
    # nor sent; the page says whose they are.
    first_sign_in(phone, setup_code(base, admin, world.chair_id), CHAIR_PHONE, CHAIR_PIN,
                  "sessions-chair")
    phone.open(meeting)
    others = page.locator("#others")
    others.wait_for(state="visible")
    assert others.inner_text().startswith("2 khoản do Nguyễn Thị Hoa ghi đang chờ trên máy này")
    assert waiting_count(phone) == 0 and page.locator(".queue li").count() == 0
    phone.check("sessions-chair-sees-others")
    page.get_by_role("button", name="Gửi ngay").click()
    assert "Không có khoản nào chờ gửi" in wait_for_outcome(phone, "Không có khoản")
    assert fund_figures(base, admin, world, [lan_loan]) == after

    # What the chair records goes under her name, alone.
    record_offline(phone, [(f"contribution:{lan}", CHAIR_CONTRIBUTION)], today)
    page.get_by_role("button", name="Gửi ngay").click()
    assert "Đã gửi 1 khoản." in wait_for_outcome(phone, "Đã gửi 1 khoản")
    assert entry_actors(base, admin, world.fund_id).count(f"person:{world.chair_id}") == 1
    assert fund_figures(base, admin, world, [lan_loan])["entries"] == after["entries"] + 1
    assert others.inner_text().startswith("2 khoản do Nguyễn Thị Hoa")
    page.get_by_role("button", name="Đăng xuất").click()  # nothing of hers waits: no warning
    page.wait_for_url("**/sign-in")

    # The treasurer, back on her phone, finds her two records and sends them.
    sign_in(phone, TREASURER_PHONE, TREASURER_PIN)
    phone.open(meeting)
    assert "Đã gửi 2 khoản." in wait_for_outcome(phone, "Đã gửi 2 khoản")
    assert page.locator("#others").is_hidden()
    final = fund_figures(base, admin, world, [lan_loan])
    assert final["entries"] == after["entries"] + 3
    assert final[lan_loan] == before[lan_loan] + 4 * REPAYMENT
    assert final["cash"] == after["cash"] + REPAYMENT + CONTRIBUTION + CHAIR_CONTRIBUTION
    assert entry_actors(base, admin, world.fund_id).count(treasurer_actor) == 6

    assert [url for url in phone.requested_urls if not url.startswith(base + "/")] == []
    for record in phone.records:
        assert record.transferred_bytes <= PAGE_BYTES_MAX, record
        assert record.blocking_violations == [], record
