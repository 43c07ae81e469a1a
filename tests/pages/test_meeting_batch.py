"""The meeting page's send (`POST /clubs/{club_id}/meeting/batch`) and what the page and
its worker are served with, without a browser: only the signed-in officer of the club
with her session's form token writes, through the batches service, each record once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx

from service.errors import PROBLEM_MEDIA_TYPE
from tests.pages.world import (
    CHAIR_PHONE,
    CHAIR_PIN,
    TREASURER_PHONE,
    TREASURER_PIN,
    PagesWorld,
    form_token,
    set_pin,
)


async def signed_in_treasurer(client: httpx.AsyncClient, world: PagesWorld,
                              client_for: Callable[[str | None], httpx.AsyncClient],
                              ) -> tuple[httpx.AsyncClient, str]:
    """A cookie-keeping client signed in as the treasurer, and her session's form token."""
    http = client_for(None)
    signed = await set_pin(http, client, world.treasurer_id, TREASURER_PHONE, TREASURER_PIN)
    assert signed.status_code == 303, signed.text
    page = await http.get(f"/clubs/{world.club_id}/meeting")
    assert page.status_code == 200, page.text
    return http, form_token(page.text)


def contribution(amount: int, member_id: str, day: str = "2026-11-05") -> dict[str, Any]:
    return {"key": f"meeting-{uuid.uuid4()}", "op": "contribution", "loan_id": None,
            "body": {"amount": amount, "effective_date": day, "source": "members",
                     "member_id": member_id, "payment_method": "cash"}}


async def entries_count(client: httpx.AsyncClient, world: PagesWorld) -> int:
    response = await client.get(f"/v1/funds/{world.fund_id}/entries", params={"limit": 500})
    assert response.status_code == 200, response.text
    return len(response.json()["items"])


async def test_only_the_signed_in_officer_with_her_form_token_sends(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, world: PagesWorld,
    client_for: Callable[[str | None], httpx.AsyncClient],
) -> None:
    items = [contribution(50_000, world.member_id)]
    body = {"batch_key": f"meeting-{uuid.uuid4()}", "items": items}
    path = f"/clubs/{world.club_id}/meeting/batch"
    before = await entries_count(client, world)

    refused = await anonymous.post(path, json=body)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert (await anonymous.get(f"/clubs/{world.club_id}/meeting")).status_code == 303

    http, token = await signed_in_treasurer(client, world, client_for)
    no_token = await http.post(path, json=body)
    assert no_token.status_code == 403 and no_token.json()["code"] == "form_token_missing"
    wrong_token = await http.post(path, json=body, headers={"X-CSRF-Token": "x" * 43})
    assert wrong_token.status_code == 403
    other_club = await http.post(f"/clubs/{world.other_club_id}/meeting/batch", json=body,
                                 headers={"X-CSRF-Token": token})
    assert other_club.status_code == 404
    not_recorded_here = {**body, "items": [{**items[0], "op": "expense"}]}
    expense = await http.post(path, json=not_recorded_here, headers={"X-CSRF-Token": token})
    assert expense.status_code == 422 and expense.json()["code"] == "validation_error"
    assert await entries_count(client, world) == before


async def test_a_queue_sent_twice_is_written_once_and_refusals_come_in_vietnamese(
    client: httpx.AsyncClient, world: PagesWorld,
    client_for: Callable[[str | None], httpx.AsyncClient],
) -> None:
    http, token = await signed_in_treasurer(client, world, client_for)
    path = f"/clubs/{world.club_id}/meeting/batch"
    items = [contribution(50_000, world.member_id), contribution(60_000, world.member_id),
             contribution(70_000, world.member_id, day="2999-01-01")]
    before = await entries_count(client, world)

    first = await http.post(path, headers={"X-CSRF-Token": token},
                            json={"batch_key": f"meeting-{uuid.uuid4()}", "items": items})
    assert first.status_code == 200, first.text
    answers = first.json()["items"]
    assert [a["status"] for a in answers] == [201, 201, 422]
    assert answers[2]["problem"]["code"] == "future_date"
    assert answers[2]["problem"]["title"] == "Ngày ở trong tương lai"  # the page's language
    assert await entries_count(client, world) == before + 2

    again = await http.post(path, headers={"X-CSRF-Token": token},
                            json={"batch_key": f"meeting-{uuid.uuid4()}", "items": items})
    assert again.status_code == 200, again.text
    assert [a.get("result") for a in again.json()["items"][:2]] == [
        a["result"] for a in answers[:2]]
    assert await entries_count(client, world) == before + 2


async def test_the_meeting_page_alone_may_run_its_scripts(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, world: PagesWorld,
    client_for: Callable[[str | None], httpx.AsyncClient],
) -> None:
    worker = await anonymous.get("/meeting-worker.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["content-security-policy"] == "default-src 'none'; connect-src 'self'"
    script = await anonymous.get("/pages/meeting.js")
    assert script.status_code == 200 and b"indexedDB" in script.content
    http, _ = await signed_in_treasurer(client, world, client_for)
    meeting = await http.get(f"/clubs/{world.club_id}/meeting")
    policy = meeting.headers["content-security-policy"]
    assert "script-src 'self';" in policy and "worker-src 'self';" in policy
    assert "unsafe" not in policy and "default-src 'none'" in policy
    assert "Số liệu lúc " in meeting.text
    club_page = await http.get(f"/clubs/{world.club_id}")
    assert "script-src" not in club_page.headers["content-security-policy"]
    assert f'href="/clubs/{world.club_id}/meeting"' in club_page.text


async def test_a_queue_sent_again_after_signing_in_anew_replays_and_another_person_does_not(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, world: PagesWorld,
    client_for: Callable[[str | None], httpx.AsyncClient],
) -> None:
    """The first send's answer is lost, her session ends, she signs in again and the page
    sends the same records: each is written once and answers as the first time. The
    chair, sending the same keys from her own session, never gets the treasurer's answers."""
    path = f"/clubs/{world.club_id}/meeting/batch"
    refused = await anonymous.post(path, json={"batch_key": "k", "items": [
        contribution(50_000, world.member_id)]})
    assert refused.status_code == 401
    items = [contribution(50_000, world.member_id), contribution(60_000, world.member_id)]
    before = await entries_count(client, world)

    first_session, first_token = await signed_in_treasurer(client, world, client_for)
    first = await first_session.post(path, headers={"X-CSRF-Token": first_token}, json={
        "batch_key": f"meeting-{uuid.uuid4()}", "items": items})
    assert first.status_code == 200, first.text
    first_answers = first.json()["items"]
    assert [a["status"] for a in first_answers] == [201, 201]
    assert await entries_count(client, world) == before + 2
    out = await first_session.post("/sign-out", data={"csrf_token": first_token})
    assert out.status_code == 303
    ended = await first_session.post(path, headers={"X-CSRF-Token": first_token}, json={
        "batch_key": f"meeting-{uuid.uuid4()}", "items": items})
    assert ended.status_code == 401

    # Signed in again (a new session, a new token): the same records replay.
    second_session, second_token = await signed_in_treasurer(client, world, client_for)
    assert second_session.cookies.get("clubfund_session") != first_session.cookies.get(
        "clubfund_session")
    again = await second_session.post(path, headers={"X-CSRF-Token": second_token}, json={
        "batch_key": f"meeting-{uuid.uuid4()}", "items": items})
    assert again.status_code == 200, again.text
    assert again.json()["items"] == first_answers
    assert await entries_count(client, world) == before + 2
    # The same key with another amount is refused on its own, writing nothing.
    changed = [{**items[0], "body": {**items[0]["body"], "amount": 55_000}}, items[1]]
    conflict = await second_session.post(path, headers={"X-CSRF-Token": second_token}, json={
        "batch_key": f"meeting-{uuid.uuid4()}", "items": changed})
    assert conflict.status_code == 200, conflict.text
    statuses = [a["status"] for a in conflict.json()["items"]]
    assert statuses == [409, 201]
    assert conflict.json()["items"][0]["problem"]["code"] == "idempotency_conflict"
    assert conflict.json()["items"][1] == first_answers[1]
    assert await entries_count(client, world) == before + 2

    # The chair sends the same keys from her own session: her own records, written for
    # her; nothing of the treasurer's answers comes back to her.
    chair = client_for(None)
    signed = await set_pin(chair, client, world.chair_id, CHAIR_PHONE, CHAIR_PIN)
    assert signed.status_code == 303, signed.text
    chair_token = form_token((await chair.get(f"/clubs/{world.club_id}/meeting")).text)
    chairs = await chair.post(path, headers={"X-CSRF-Token": chair_token}, json={
        "batch_key": f"meeting-{uuid.uuid4()}", "items": changed})
    assert chairs.status_code == 200, chairs.text
    chair_answers = chairs.json()["items"]
    assert [a["status"] for a in chair_answers] == [201, 201]
    treasurer_entries = {a["result"]["id"] for a in first_answers}
    assert not treasurer_entries & {a["result"]["id"] for a in chair_answers}
    assert chair_answers[0]["result"]["postings"][0]["amount"] == 55_000
    assert {a["result"]["actor"] for a in chair_answers} == {f"person:{world.chair_id}"}
    assert {a["result"]["actor"] for a in first_answers} == {f"person:{world.treasurer_id}"}
    assert await entries_count(client, world) == before + 4
