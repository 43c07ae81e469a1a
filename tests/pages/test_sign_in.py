"""Web sign-in: setup code, PIN, lock-out, session cookie, form tokens (no browser)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from service.signin.service import FAILED_ATTEMPTS_MAX
from tests.pages.world import (
    CHAIR_PHONE,
    CHAIR_PIN,
    TREASURER_PHONE,
    TREASURER_PIN,
    PagesWorld,
    form_token,
    set_pin,
)


@pytest.fixture
async def browser_like(
    client_for: Callable[[str | None], httpx.AsyncClient],
) -> AsyncIterator[Callable[[], httpx.AsyncClient]]:
    """Clients with no token that keep cookies, as a browser does."""

    def make() -> httpx.AsyncClient:
        return client_for(None)

    yield make


async def sign_in(http: httpx.AsyncClient, phone: str, pin: str) -> httpx.Response:
    page = await http.get("/sign-in")
    return await http.post("/sign-in", data={"form_token": form_token(page.text),
                                             "phone": phone, "pin": pin})


async def test_setup_code_route_is_for_admins(
    anonymous: httpx.AsyncClient, client: httpx.AsyncClient, world: PagesWorld,
    client_for: Callable[[str | None], httpx.AsyncClient], new_token,
) -> None:
    path = f"/v1/people/{world.treasurer_id}/setup-code"
    assert (await anonymous.post(path)).status_code == 401
    treasurer = client_for(await new_token(person_id=world.treasurer_id))
    assert (await treasurer.post(path)).status_code == 403
    created = await client.post(path)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/people/{world.treasurer_id}"
    code = created.json()["setup_code"]
    assert len(code.replace(" ", "")) == 8 and code.replace(" ", "").isdigit()
    assert (await client.post("/v1/people/00000000-0000-7000-8000-000000000000/setup-code")
            ).status_code == 404


async def test_a_visitor_is_sent_to_sign_in(anonymous: httpx.AsyncClient, world: PagesWorld
                                            ) -> None:
    for path in ("/", f"/clubs/{world.club_id}", f"/clubs/{world.club_id}/members"):
        response = await anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/sign-in"
    page = await anonymous.get("/sign-in")
    assert page.status_code == 200 and "Số điện thoại" in page.text
    policy = page.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "Phone number" in (await anonymous.get("/sign-in?lang=en")).text


async def test_set_pin_sign_in_and_the_session_cookie(
    client: httpx.AsyncClient, browser_like, world: PagesWorld,
) -> None:
    http = browser_like()
    answered = await set_pin(http, client, world.treasurer_id, TREASURER_PHONE, TREASURER_PIN)
    assert answered.status_code == 303, answered.text
    cookie = answered.headers["set-cookie"]
    assert "clubfund_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie or "samesite=strict" in cookie.lower()
    club_page = await http.get(f"/clubs/{world.club_id}")
    assert club_page.status_code == 200 and "Nguyễn Thị Hoa" in club_page.text
    assert "20.000.000 ₫" in club_page.text
    # The session reads the API (download links of a signed-in page), never writes it.
    assert (await http.get(f"/v1/clubs/{world.club_id}")).status_code == 200
    assert (await http.get(f"/v1/clubs/{world.other_club_id}")).status_code == 404
    download = await http.get(f"/v1/funds/{world.fund_id}/trial-balance?format=xlsx")
    assert download.status_code == 200, download.text
    assert download.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert download.content.startswith(b"PK")
    write = await http.post(f"/v1/clubs/{world.club_id}/members",
                            json={"name": "X", "gender": "male", "birth_year": 1950})
    assert write.status_code == 401
    # Signing out ends the session: the cookie no longer opens anything.
    stale = http.cookies.get("clubfund_session")
    page = await http.get(f"/clubs/{world.club_id}")
    out = await http.post("/sign-out", data={"csrf_token": form_token(page.text)})
    assert out.status_code == 303
    again = browser_like()
    again.cookies.set("clubfund_session", stale)
    assert (await again.get(f"/clubs/{world.club_id}")).status_code == 303
    assert (await again.get(f"/v1/clubs/{world.club_id}")).status_code == 401


async def test_the_setup_code_is_used_once(client: httpx.AsyncClient, browser_like,
                                           world: PagesWorld) -> None:
    http = browser_like()
    created = await client.post(f"/v1/people/{world.chair_id}/setup-code")
    code = created.json()["setup_code"]
    page = await http.get("/set-pin")
    body = {"form_token": form_token(page.text), "phone": CHAIR_PHONE, "setup_code": code,
            "pin": CHAIR_PIN, "pin_again": CHAIR_PIN}
    assert (await http.post("/set-pin", data=body)).status_code == 303
    other = browser_like()
    page = await other.get("/set-pin")
    body["form_token"] = form_token(page.text)
    body["pin"] = body["pin_again"] = "9999"
    refused = await other.post("/set-pin", data=body)
    assert refused.status_code == 200 and "chưa đúng" in refused.text
    assert (await sign_in(browser_like(), CHAIR_PHONE, "9999")).status_code == 200
    assert (await sign_in(browser_like(), CHAIR_PHONE, CHAIR_PIN)).status_code == 303


async def test_wrong_pins_lock_the_sign_in(client: httpx.AsyncClient, browser_like,
                                           world: PagesWorld) -> None:
    await set_pin(browser_like(), client, world.treasurer_id, TREASURER_PHONE, TREASURER_PIN)
    http = browser_like()
    for _ in range(FAILED_ATTEMPTS_MAX - 1):
        refused = await sign_in(http, TREASURER_PHONE, "0000")
        assert refused.status_code == 200 and "chưa đúng" in refused.text
    locked = await sign_in(http, TREASURER_PHONE, "0000")
    assert "tạm khóa" in locked.text or "Nhập sai quá nhiều lần" in locked.text
    # Locked: even the right PIN does not open it now.
    still = await sign_in(http, TREASURER_PHONE, TREASURER_PIN)
    assert still.status_code == 200 and "Nhập sai quá nhiều lần" in still.text
    # A new setup code from the admin lifts the lock.
    assert (await set_pin(browser_like(), client, world.treasurer_id, TREASURER_PHONE,
                          TREASURER_PIN)).status_code == 303


async def test_unknown_phone_and_bad_pin_say_the_same(browser_like, world: PagesWorld) -> None:
    unknown = await sign_in(browser_like(), "0987654321", "1234")
    assert unknown.status_code == 200 and "chưa đúng" in unknown.text


async def test_forms_without_their_token_write_nothing(
    client: httpx.AsyncClient, browser_like, world: PagesWorld,
) -> None:
    http = browser_like()
    await set_pin(http, client, world.treasurer_id, TREASURER_PHONE, TREASURER_PIN)
    path = f"/clubs/{world.club_id}/members/new"
    body = {"name": "Phạm Văn Tư", "gender": "male", "birth_year": "1948"}
    for token in (None, "forged" * 8):
        data = dict(body) if token is None else {**body, "csrf_token": token}
        refused = await http.post(path, data=data)
        assert refused.status_code == 403 and "không có gì được lưu" in refused.text
    members = await client.get(f"/v1/clubs/{world.club_id}/members")
    assert [m["name"] for m in members.json()["items"]] == ["Lê Thị Mai"]
    # The sign-in form too: without its token it signs nobody in.
    anonymous_http = browser_like()
    refused = await anonymous_http.post("/sign-in", data={"phone": TREASURER_PHONE,
                                                          "pin": TREASURER_PIN})
    assert refused.status_code == 403 and "clubfund_session" not in anonymous_http.cookies
    page = await http.get(path)
    saved = await http.post(path, data={**body, "csrf_token": form_token(page.text)})
    assert saved.status_code == 303, saved.text
    members = await client.get(f"/v1/clubs/{world.club_id}/members")
    assert len(members.json()["items"]) == 2


async def test_the_demo_treasurer_and_chair_sign_in_with_the_printed_pins(
    client: httpx.AsyncClient, browser_like, world: PagesWorld, owner_connection,
) -> None:
    from datetime import UTC, datetime

    from service.demo.loader import DEMO_SIGN_INS, add_sign_ins

    async with owner_connection.transaction():
        lines = await add_sign_ins(owner_connection, world.club_id, datetime.now(UTC))
    for (role, _, phone, pin), line in zip(DEMO_SIGN_INS, lines, strict=True):
        assert phone in line and pin in line and role in line
        http = browser_like()
        signed_in = await sign_in(http, phone, pin)
        assert signed_in.status_code == 303, signed_in.text
        assert (await http.get("/")).headers["location"] == f"/clubs/{world.club_id}"


async def test_over_https_the_cookies_are_secure(
    app, client: httpx.AsyncClient, world: PagesWorld,
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="https://clubfund.test") as http:
        page = await http.get("/sign-in")
        assert "secure" in page.headers["set-cookie"].lower()
        answered = await set_pin(http, client, world.treasurer_id, TREASURER_PHONE,
                                 TREASURER_PIN)
        cookie = answered.headers["set-cookie"]
        assert "clubfund_session=" in cookie and "secure" in cookie.lower()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://clubfund.test") as http:
        page = await http.get("/sign-in")
        assert "secure" not in page.headers["set-cookie"].lower()
