"""The chair's queue, closing a month and correcting a mistake, over HTTP (no browser):
every decision goes through the domain service, the four-eyes refusal and a closed month
are explained in plain Vietnamese, and a refused form writes nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.test_loans_api import snapshot
from tests.pages.world import (
    CHAIR_PHONE,
    CHAIR_PIN,
    TREASURER_PHONE,
    TREASURER_PIN,
    PagesWorld,
    build_world,
    form_token,
    set_pin,
)

MISTYPED, MEANT = 500_000, 50_000


@dataclass(frozen=True)
class Officers:
    """The treasurer and the chair, each signed in on the pages (cookies) and holding
    an API token of her own (the same person)."""

    world: PagesWorld
    treasurer: httpx.AsyncClient
    chair: httpx.AsyncClient
    treasurer_api: httpx.AsyncClient
    chair_api: httpx.AsyncClient


@pytest.fixture
async def officers(client: httpx.AsyncClient, client_for: Callable[[str | None], Any],
                   new_token: Any) -> Officers:
    world = await build_world(client)
    treasurer, chair = client_for(None), client_for(None)
    await set_pin(treasurer, client, world.treasurer_id, TREASURER_PHONE, TREASURER_PIN)
    await set_pin(chair, client, world.chair_id, CHAIR_PHONE, CHAIR_PIN)
    return Officers(world, treasurer, chair,
                    client_for(await new_token(person_id=world.treasurer_id)),
                    client_for(await new_token(person_id=world.chair_id)))


async def loan_with_a_mistyped_repayment(
    treasurer: httpx.AsyncClient, chair: httpx.AsyncClient, world: PagesWorld,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A loan of 5,000,000 paid out in September 2026, and its first repayment typed as
    500,000 instead of 50,000 (1 November 2026): the loan and the repayment."""
    applied = await treasurer.post(f"/v1/funds/{world.fund_id}/loans", json={
        "member_id": world.member_id, "principal": 5_000_000, "installments": 10,
        "rate_per_period": "0.01", "first_due_date": "2026-10-01",
        "applied_on": "2026-09-01", "purpose": "nuôi bò"})
    assert applied.status_code == 201, applied.text
    loan = applied.json()
    approved = await chair.post(f"/v1/loans/{loan['id']}/approval",
                                json={"effective_date": "2026-09-02"})
    assert approved.status_code == 200, approved.text
    paid_out = await treasurer.post(f"/v1/loans/{loan['id']}/disbursement",
                                    json={"effective_date": "2026-09-03"})
    assert paid_out.status_code == 200, paid_out.text
    repaid = await treasurer.post(f"/v1/loans/{loan['id']}/repayments",
                                  json={"amount": MISTYPED, "effective_date": "2026-11-01"})
    assert repaid.status_code == 201, repaid.text
    return paid_out.json(), repaid.json()


async def pending_corrections(api: httpx.AsyncClient, fund_id: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/funds/{fund_id}/corrections", params={"status": "pending"})
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def text_of(html: str) -> str:
    """The page's words, without tags and with spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


async def test_a_visitor_is_sent_to_sign_in(anonymous: httpx.AsyncClient,
                                            officers: Officers) -> None:
    world = officers.world
    some = "00000000-0000-7000-8000-000000000000"
    for path in (f"/clubs/{world.club_id}/approvals", f"/clubs/{world.club_id}/close-month",
                 f"/clubs/{world.club_id}/corrections", f"/entries/{some}/correction",
                 f"/loans/{some}/write-off"):
        answered = await anonymous.get(path)
        assert answered.status_code == 303 and answered.headers["location"] == "/sign-in"
    for path in (f"/clubs/{world.club_id}/approvals/correction/{some}",
                 f"/clubs/{world.club_id}/close-month", f"/entries/{some}/correction"):
        answered = await anonymous.post(path, data={"csrf_token": "x"})
        assert answered.status_code == 303 and answered.headers["location"] == "/sign-in"


async def test_a_mistyped_repayment_is_corrected_by_two_people(
    client: httpx.AsyncClient, officers: Officers, superuser_connection: Any,
) -> None:
    world = officers.world
    _, typo = await loan_with_a_mistyped_repayment(officers.treasurer_api, officers.chair_api,
                                                   world)
    loan_id = typo["loan_id"]
    path = f"/entries/{typo['entry_id']}/correction"

    # The loan page and the passbook lead to "Sửa sai" on the repayment.
    loan_page = await officers.treasurer.get(f"/loans/{loan_id}")
    assert f'href="{path}"' in loan_page.text
    passbook = await officers.treasurer.get(
        f"/clubs/{world.club_id}/members/{world.member_id}")
    assert f'href="{path}"' in passbook.text
    listed = await officers.treasurer.get(f"/clubs/{world.club_id}/corrections")
    assert f'href="{path}"' in listed.text

    page = await officers.treasurer.get(path)
    assert page.status_code == 200
    words = text_of(page.text)
    assert "500.000 ₫" in words and "khoản sai vẫn còn trong sổ" in words
    assert "bút toán đảo" in words and "khoản vay được tính lại" in words

    # Without a reason: the field says so, nothing is asked.
    before = await snapshot(superuser_connection)
    refused = await officers.treasurer.post(path, data={"csrf_token": form_token(page.text)})
    assert refused.status_code == 422
    assert 'id="reason-problem">Hãy ghi lý do sửa sai' in refused.text
    assert await pending_corrections(client, world.fund_id) == []
    assert await snapshot(superuser_connection) == before

    asked = await officers.treasurer.post(path, data={
        "csrf_token": form_token(page.text), "reason": "gõ nhầm 500.000, đúng là 50.000"})
    assert asked.status_code == 303 and asked.headers["location"] == path + "?requested=1"
    (correction,) = await pending_corrections(client, world.fund_id)
    assert correction["requested_by"] == f"person:{world.treasurer_id}"
    shown = text_of((await officers.treasurer.get(path + "?requested=1")).text)
    assert "Đã gửi đề nghị sửa sai" in shown and "Gửi đề nghị sửa sai" not in shown

    # The treasurer's queue shows it as hers, with no approval; a forged approval is
    # refused in plain words and changes nothing.
    queue = await officers.treasurer.get(f"/clubs/{world.club_id}/approvals")
    words = text_of(queue.text)
    assert "Đề nghị sửa sai phiếu" in words and "Bạn là người đề nghị" in words
    assert ">Duyệt</button>" not in queue.text and "Rút lại đề nghị" in queue.text
    decide = f"/clubs/{world.club_id}/approvals/correction/{correction['id']}"
    before = await snapshot(superuser_connection)
    forged = await officers.treasurer.post(decide, data={
        "csrf_token": form_token(queue.text), "decision": "approve"})
    assert forged.status_code == 422
    assert "Việc này do chủ nhiệm câu lạc bộ duyệt" in text_of(forged.text)
    assert await snapshot(superuser_connection) == before
    assert len(await pending_corrections(client, world.fund_id)) == 1

    # The chair sees who asked, when, how much and why, and approves.
    queue = await officers.chair.get(f"/clubs/{world.club_id}/approvals")
    words = text_of(queue.text)
    for shown_word in ("Nguyễn Thị Hoa", "500.000 ₫", "gõ nhầm 500.000, đúng là 50.000",
                       "Thu nợ khoản vay số 1"):
        assert shown_word in words
    approved = await officers.chair.post(decide, data={
        "csrf_token": form_token(queue.text), "decision": "approve"})
    assert approved.status_code == 303, approved.text
    assert "Đã duyệt." in text_of((await officers.chair.get(approved.headers["location"])).text)
    decided = (await client.get(f"/v1/corrections/{correction['id']}")).json()
    assert decided["status"] == "approved"
    assert decided["decided_by"] == f"person:{world.chair_id}"

    # The loan is as if nothing had been paid; the cash is back.
    loan = (await client.get(f"/v1/loans/{loan_id}")).json()
    assert (loan["principal_repaid"], loan["interest_paid"]) == (0, 0)
    assert loan["outstanding_principal"] == 5_000_000
    accounts = (await client.get(f"/v1/funds/{world.fund_id}/accounts")).json()["items"]
    assert {a["code"]: a["balance"] for a in accounts}["111"] == 20_000_000 - 5_000_000
    again = text_of((await officers.treasurer.get(path)).text)
    assert "đã được đảo" in again and "Gửi đề nghị sửa sai" not in again


async def test_the_requester_may_not_approve_her_own_request(
    client: httpx.AsyncClient, officers: Officers, superuser_connection: Any,
) -> None:
    """The chair asks for a correction herself: her queue offers no approval of it, a
    forged approval is refused by the service's four-eyes rule in plain words, and
    withdrawing it is allowed."""
    world = officers.world
    entries = (await client.get(f"/v1/funds/{world.fund_id}/entries")).json()["items"]
    path = f"/entries/{entries[0]['id']}/correction"
    page = await officers.chair.get(path)
    asked = await officers.chair.post(path, data={"csrf_token": form_token(page.text),
                                                  "reason": "ghi trùng"})
    assert asked.status_code == 303
    (correction,) = await pending_corrections(client, world.fund_id)
    queue = await officers.chair.get(f"/clubs/{world.club_id}/approvals")
    assert "Bạn là người đề nghị" in text_of(queue.text)
    # She may approve others' requests, but is not offered her own: only withdrawing it.
    assert ">Duyệt</button>" not in queue.text and "Rút lại đề nghị" in queue.text
    decide = f"/clubs/{world.club_id}/approvals/correction/{correction['id']}"
    before = await snapshot(superuser_connection)
    refused = await officers.chair.post(decide, data={"csrf_token": form_token(queue.text),
                                                      "decision": "approve"})
    assert refused.status_code == 422
    assert "không tự duyệt được" in text_of(refused.text)
    assert await snapshot(superuser_connection) == before
    withdrawn = await officers.chair.post(decide, data={"csrf_token": form_token(queue.text),
                                                        "decision": "reject"})
    assert withdrawn.status_code == 303
    assert (await client.get(f"/v1/corrections/{correction['id']}")).json()["status"] == \
        "rejected"


async def test_the_queue_holds_loan_applications_and_write_offs(
    client: httpx.AsyncClient, officers: Officers,
) -> None:
    world = officers.world
    applied = await officers.treasurer_api.post(f"/v1/funds/{world.fund_id}/loans", json={
        "member_id": world.member_id, "principal": 3_000_000, "installments": 6,
        "rate_per_period": "0.005", "first_due_date": "2026-12-20", "purpose": "trồng rau"})
    assert applied.status_code == 201, applied.text
    paid_out, _ = await loan_with_a_mistyped_repayment(officers.treasurer_api,
                                                       officers.chair_api, world)
    loan_id = paid_out["id"]

    # The treasurer asks for the write-off from the loan page.
    loan_page = await officers.treasurer.get(f"/loans/{loan_id}")
    assert f'href="/loans/{loan_id}/write-off"' in loan_page.text
    form = await officers.treasurer.get(f"/loans/{loan_id}/write-off")
    assert "Dư nợ gốc" in text_of(form.text)
    refused = await officers.treasurer.post(f"/loans/{loan_id}/write-off", data={
        "csrf_token": form_token(form.text), "reason": "", "effective_date": "30/11/2026"})
    assert refused.status_code == 422 and 'id="reason-problem"' in refused.text
    asked = await officers.treasurer.post(f"/loans/{loan_id}/write-off", data={
        "csrf_token": form_token(form.text), "reason": "thành viên chuyển đi xa",
        "effective_date": "29/11/2026"})
    assert asked.status_code == 303, asked.text

    # The treasurer may not approve: her queue offers no approval, a forged one is refused.
    queue = await officers.treasurer.get(f"/clubs/{world.club_id}/approvals")
    assert "Đơn xin vay số 1: Lê Thị Mai" in text_of(queue.text)
    assert ">Duyệt</button>" not in queue.text
    for kind, item in (("loan", applied.json()["id"]), ("write-off", loan_id)):
        forged = await officers.treasurer.post(
            f"/clubs/{world.club_id}/approvals/{kind}/{item}",
            data={"csrf_token": form_token(queue.text), "decision": "approve"})
        assert forged.status_code == 422
        assert "Việc này do chủ nhiệm câu lạc bộ duyệt" in text_of(forged.text)
    assert (await client.get(f"/v1/loans/{applied.json()['id']}")).json()["status"] == \
        "applied"
    assert (await client.get(f"/v1/loans/{loan_id}")).json()["status"] == \
        "write_off_requested"

    queue = await officers.chair.get(f"/clubs/{world.club_id}/approvals")
    words = text_of(queue.text)
    assert "Đơn xin vay số 1: Lê Thị Mai" in words and "3.000.000 ₫" in words
    assert "trồng rau" in words
    assert "Đề nghị xóa nợ khoản vay số 2: Lê Thị Mai" in words
    assert "thành viên chuyển đi xa" in words and "29/11/2026" in words
    token = form_token(queue.text)
    for kind, item in (("loan", applied.json()["id"]), ("write-off", loan_id)):
        decided = await officers.chair.post(
            f"/clubs/{world.club_id}/approvals/{kind}/{item}",
            data={"csrf_token": token, "decision": "approve"})
        assert decided.status_code == 303, decided.text
    assert (await client.get(f"/v1/loans/{applied.json()['id']}")).json()["status"] == \
        "approved"
    assert (await client.get(f"/v1/loans/{loan_id}")).json()["status"] == "written_off"
    assert "Không có việc nào chờ duyệt." in text_of(
        (await officers.chair.get(f"/clubs/{world.club_id}/approvals")).text)


async def test_a_closed_month_refuses_entries_dated_in_it(
    client: httpx.AsyncClient, officers: Officers, superuser_connection: Any,
) -> None:
    world = officers.world
    path = f"/clubs/{world.club_id}/close-month"
    # Only the chair closes months: the treasurer's page is not there.
    assert (await officers.treasurer.get(path)).status_code == 404
    assert "close-month" not in (await officers.treasurer.get(f"/clubs/{world.club_id}")).text
    page = await officers.chair.get(path)
    assert page.status_code == 200 and "Chưa khóa sổ tháng nào." in text_of(page.text)
    assert '<option value="2026-10"' in page.text

    # A form without its token closes nothing.
    before = await snapshot(superuser_connection)
    forged = await officers.chair.post(path, data={"period": "2026-10", "step": "save"})
    assert forged.status_code == 403
    assert (await client.get(f"/v1/funds/{world.fund_id}/periods")).json()["items"] == []
    assert await snapshot(superuser_connection) == before

    token = form_token(page.text)
    preview = await officers.chair.post(path, data={"csrf_token": token, "period": "2026-10"})
    words = text_of(preview.text)
    assert "Khóa sổ tháng 10/2026 nghĩa là" in words
    assert "từ 01/10/2026 đến 31/10/2026" in words and "các tháng trước cũng" in words
    assert (await client.get(f"/v1/funds/{world.fund_id}/periods")).json()["items"] == []
    closed = await officers.chair.post(path, data={"csrf_token": token, "period": "2026-10",
                                                   "step": "save"})
    assert closed.status_code == 303, closed.text
    periods = (await client.get(f"/v1/funds/{world.fund_id}/periods")).json()["items"]
    assert [p["period"] for p in periods] == ["2026-10"]
    words = text_of((await officers.chair.get(closed.headers["location"])).text)
    assert "Đã khóa sổ tháng 10/2026." in words and "đã khóa đến hết tháng 10/2026" in words
    # Closing it again is refused in words; nothing else is offered before November ends.
    again = await officers.chair.post(path, data={"csrf_token": token, "period": "2026-10",
                                                  "step": "save"})
    assert again.status_code == 422 and "đã khóa sổ rồi" in again.text

    # The treasurer's forms dated in October come back with the refusal by the date field.
    before = await snapshot(superuser_connection)
    form = await officers.treasurer.get(f"/clubs/{world.club_id}/money/contribution")
    refused = await officers.treasurer.post(
        f"/clubs/{world.club_id}/money/contribution",
        data={"csrf_token": form_token(form.text), "amount": "200.000",
              "effective_date": "15/10/2026", "payment_method": "cash"})
    assert refused.status_code == 422
    assert ('id="effective_date-problem">Ngày này thuộc tháng đã khóa sổ nên không ghi được'
            in refused.text)
    assert 'value="15/10/2026"' in refused.text and 'value="200.000"' in refused.text
    loan_form = await officers.treasurer.post(
        f"/clubs/{world.club_id}/loans/new",
        data={"csrf_token": form_token(form.text), "member_id": world.member_id,
              "principal": "1.000.000", "installments": "5", "rate": "0,5",
              "first_due_date": "20/12/2026", "applied_on": "20/10/2026"})
    assert loan_form.status_code == 422
    assert 'id="applied_on-problem">Ngày này thuộc tháng đã khóa sổ' in loan_form.text
    assert await snapshot(superuser_connection) == before


async def test_another_clubs_entries_and_loans_are_not_found(
    client: httpx.AsyncClient, officers: Officers, new_token: Any,
    client_for: Callable[[str | None], Any],
) -> None:
    world = officers.world
    other_treasurer = client_for(await new_token("treasurer",
                                                 scope=f"club:{world.other_club_id}"))
    other_member = await other_treasurer.post(
        f"/v1/clubs/{world.other_club_id}/members",
        json={"name": "Hồ Văn Sáu", "gender": "male", "birth_year": 1949})
    assert other_member.status_code == 201, other_member.text
    other_club = (await client.get(f"/v1/clubs/{world.other_club_id}")).json()
    given = await client.post(f"/v1/funds/{other_club['fund_id']}/donations", json={
        "amount": 1_000_000, "source": "donor", "effective_date": "2026-11-02"})
    assert given.status_code == 201, given.text
    page = await officers.treasurer.get(f"/clubs/{world.club_id}/corrections")
    token = form_token(page.text)
    path = f"/entries/{given.json()['id']}/correction"
    assert (await officers.treasurer.get(path)).status_code == 404
    refused = await officers.treasurer.post(path, data={"csrf_token": token, "reason": "x"})
    assert refused.status_code == 404
    assert await pending_corrections(client, other_club["fund_id"]) == []
    assert (await officers.chair.get(f"/clubs/{world.other_club_id}/approvals")).status_code \
        == 404
    assert (await officers.chair.get(f"/clubs/{world.other_club_id}/close-month")
            ).status_code == 404


async def test_the_chair_asks_to_reopen_the_latest_closed_month(
    client: httpx.AsyncClient, officers: Officers, superuser_connection: Any,
) -> None:
    """The reopening waits in the queue for an auditor of the area (or an admin): the chair
    who asked sees it there without an approval, and may withdraw it."""
    world = officers.world
    closed = await officers.chair_api.post(f"/v1/funds/{world.fund_id}/periods/2026-10/close")
    assert closed.status_code == 201, closed.text
    path = f"/clubs/{world.club_id}/close-month"
    page = await officers.chair.get(path)
    assert "Mở lại sổ tháng 10/2026" in text_of(page.text)
    before = await snapshot(superuser_connection)
    refused = await officers.chair.post(f"/clubs/{world.club_id}/reopen-month",
                                        data={"csrf_token": form_token(page.text)})
    assert refused.status_code == 422 and 'id="reason-problem"' in refused.text
    assert await snapshot(superuser_connection) == before
    hers = await officers.treasurer.get(f"/clubs/{world.club_id}")
    assert (await officers.treasurer.post(
        f"/clubs/{world.club_id}/reopen-month",
        data={"csrf_token": form_token(hers.text), "reason": "x"})).status_code == 404
    asked = await officers.chair.post(f"/clubs/{world.club_id}/reopen-month", data={
        "csrf_token": form_token(page.text), "reason": "phiếu thu ngày 12/10 ghi sai"})
    assert asked.status_code == 303, asked.text
    (reopening,) = await pending_corrections(client, world.fund_id)
    assert (reopening["kind"], reopening["period"]) == ("reopen", "2026-10")
    assert "đang chờ kiểm soát viên duyệt" in text_of((await officers.chair.get(path)).text)

    queue = await officers.chair.get(f"/clubs/{world.club_id}/approvals")
    words = text_of(queue.text)
    assert "Đề nghị mở lại sổ tháng 10/2026" in words
    assert "phiếu thu ngày 12/10 ghi sai" in words and "Trần Văn Bình" in words
    assert ">Duyệt</button>" not in queue.text and "Rút lại đề nghị" in queue.text
    # An admin approves it over the API: October is open again (September stays closed).
    approved = await client.post(f"/v1/corrections/{reopening['id']}/approval")
    assert approved.status_code == 200, approved.text
    periods = (await client.get(f"/v1/funds/{world.fund_id}/periods")).json()["items"]
    assert [p["period"] for p in periods] == ["2026-09"]
    assert "đã khóa đến hết tháng 09/2026" in text_of((await officers.chair.get(path)).text)


async def test_a_waiver_waits_in_the_queue_and_the_chair_approves_it(
    client: httpx.AsyncClient, officers: Officers,
) -> None:
    world = officers.world
    applied = await officers.treasurer_api.post(f"/v1/funds/{world.fund_id}/loans", json={
        "member_id": world.member_id, "principal": 5_000_000, "installments": 10,
        "rate_per_period": "0.01", "first_due_date": "2026-10-01",
        "applied_on": "2026-09-01", "purpose": "nuôi gà"})
    assert applied.status_code == 201, applied.text
    loan_id = applied.json()["id"]
    approved = await officers.chair_api.post(f"/v1/loans/{loan_id}/approval",
                                             json={"effective_date": "2026-09-02"})
    assert approved.status_code == 200, approved.text
    paid_out = await officers.treasurer_api.post(f"/v1/loans/{loan_id}/disbursement",
                                                 json={"effective_date": "2026-09-03"})
    assert paid_out.status_code == 200, paid_out.text
    # October's interest (50,000) is due and unpaid: the treasurer asks to forgive 10,000.
    asked = await officers.treasurer_api.post(f"/v1/loans/{loan_id}/waivers", json={
        "part": "interest", "amount": 10_000, "effective_date": "2026-10-15",
        "reason": "Nhà bị ngập lụt"})
    assert asked.status_code == 202, asked.text

    queue = await officers.treasurer.get(f"/clubs/{world.club_id}/approvals")
    assert queue.status_code == 200
    words = text_of(queue.text)
    assert "Đề nghị miễn tiền lãi của khoản vay, ngày 15/10/2026" in words
    assert "10.000 ₫" in words and "Nhà bị ngập lụt" in words
    queue = await officers.chair.get(f"/clubs/{world.club_id}/approvals")
    decided = await officers.chair.post(
        f"/clubs/{world.club_id}/approvals/correction/{asked.json()['id']}",
        data={"csrf_token": form_token(queue.text), "decision": "approve"})
    assert decided.status_code == 303, decided.text
    waiver = (await client.get(f"/v1/corrections/{asked.json()['id']}")).json()
    assert waiver["status"] == "approved"
