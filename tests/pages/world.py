"""A club with a treasurer and a chair who sign in on the pages, set up over the API."""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from tests.api.factories import create_person, post_club, post_commune, post_member

TREASURER_PHONE, TREASURER_PIN = "0912000101", "2468"
CHAIR_PHONE, CHAIR_PIN = "0912000102", "1357"


@dataclass(frozen=True)
class PagesWorld:
    club_id: str
    fund_id: str
    other_club_id: str
    member_id: str
    treasurer_id: str
    chair_id: str


async def set_pin(http: httpx.AsyncClient, admin: httpx.AsyncClient, person_id: str,
                  phone: str, pin: str) -> httpx.Response:
    """The admin creates a setup code; the person sets her PIN on /set-pin (signs in)."""
    created = await admin.post(f"/v1/people/{person_id}/setup-code")
    assert created.status_code == 201, created.text
    form = await http.get("/set-pin")
    token = form_token(form.text)
    return await http.post("/set-pin", data={
        "form_token": token, "phone": phone, "setup_code": created.json()["setup_code"],
        "pin": pin, "pin_again": pin})


def form_token(html: str) -> str:
    found = re.search(r'name="(?:form_token|csrf_token)" value="([^"]+)"', html)
    assert found, html
    return found.group(1)


async def build_world(admin: httpx.AsyncClient, cash: int = 20_000_000) -> PagesWorld:
    commune = await post_commune(admin)
    club = await post_club(admin, commune)
    other = await post_club(admin, commune, name="CLB LTH xã bên cạnh")
    member = await post_member(admin, club["id"], name="Lê Thị Mai", birth_year=1950)
    if cash:
        response = await admin.post(f"/v1/funds/{club['fund_id']}/contributions", json={
            "amount": cash, "effective_date": "2026-01-10"})
        assert response.status_code == 201, response.text
    treasurer = await create_person(admin, "treasurer", f"club:{club['id']}",
                                    name="Nguyễn Thị Hoa", phone=TREASURER_PHONE)
    chair = await create_person(admin, "chair", f"club:{club['id']}",
                                name="Trần Văn Bình", phone=CHAIR_PHONE)
    return PagesWorld(club_id=club["id"], fund_id=club["fund_id"], other_club_id=other["id"],
                      member_id=member["id"], treasurer_id=treasurer["id"],
                      chair_id=chair["id"])
