"""Two clubs in two provinces, each with a fund, a chart and an entry, a member, a
disbursed loan and a closed month, and a token of every kind scoped to club A (or A's
province): the world the access tests walk."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.chart import DEFAULT_CHART
from ledger.signed_notes import cosign_note_text
from service.auth.rules import (
    ADMIN,
    AUDITOR,
    CHAIR,
    INTEGRATION_READ,
    INTEGRATION_WRITE,
    TREASURER,
)
from tests.api.factories import create_account, create_area, create_club, entry_body

_codes = itertools.count(1)


@dataclass
class ClubWorld:
    province: str
    commune: str
    club_id: str
    fund_id: str
    cash: str = ""
    capital: str = ""
    entry_id: str = ""
    member_id: str = ""
    loan_id: str = ""
    person_id: str = ""  # the recorder: a treasurer of this club
    recorder_token: str = ""  # the recorder's: records what others approve
    correction_id: str = ""  # a reversal requested by the recorder, pending
    extra_ids: set[str] = field(default_factory=set)

    def ids(self) -> set[str]:
        """Every identifier of this club's data: none may show up outside its scope."""
        return {self.club_id, self.fund_id, self.cash, self.capital, self.entry_id,
                self.member_id, self.loan_id, self.person_id, self.correction_id,
                *self.extra_ids}


@dataclass
class World:
    admin: httpx.AsyncClient
    a: ClubWorld
    b: ClubWorld
    tokens: dict[str, str]  # access kind -> token scoped to club A (or A's province)
    spare_token_id: str
    sample_entries: int = 0  # entries posted while preparing sample requests

    async def post_entry(self, club: ClubWorld, amount: int = 1_000) -> str:
        response = await self.admin.post(f"/v1/funds/{club.fund_id}/entries",
                                         json=entry_body(club.cash, club.capital, amount))
        assert response.status_code == 201, response.text
        entry_id: str = response.json()["id"]
        club.extra_ids.add(entry_id)
        self.sample_entries += 1
        return entry_id

    async def reversal_correction(self, club: ClubWorld) -> str:
        """A new entry whose reversal the club's recorder requested (pending)."""
        return await request_reversal(self.admin, club, await self.post_entry(club))

    async def reopen_correction(self, club: ClubWorld) -> str:
        """A reopening of the club's latest closed month, requested by the admin (any
        reopening still pending is withdrawn first)."""
        fund = club.fund_id
        pending = await self.admin.get(f"/v1/funds/{fund}/corrections",
                                       params={"status": "pending", "limit": 500})
        for correction in pending.json()["items"]:
            if correction["kind"] == "reopen":
                withdrawn = await self.admin.post(
                    f"/v1/corrections/{correction['id']}/rejection")
                assert withdrawn.status_code == 200, withdrawn.text
        closed = await self.admin.get(f"/v1/funds/{fund}/periods", params={"limit": 500})
        latest = closed.json()["items"][-1]["period"]
        response = await self.admin.post(f"/v1/funds/{fund}/periods/{latest}/reopen",
                                         json={"reason": "x"})
        assert response.status_code == 202, response.text
        correction_id: str = response.json()["id"]
        club.extra_ids.add(correction_id)
        return correction_id

    async def loan(self, club: ClubWorld, until: str = "applied") -> str:
        """A new loan of the club, recorded by its treasurer and taken by the admin as far
        as `until`: applied, approved, disbursed, write_off_requested or written_off."""
        loan_id = await apply_for_loan(self.admin, club)
        steps = ["approved", "disbursed", "write_off_requested", "written_off"]
        for step in steps[: steps.index(until) + 1] if until in steps else []:
            path, body, token = {
                "approved": ("approval", {"effective_date": "2026-02-01"}, None),
                "disbursed": ("disbursement", {"effective_date": "2026-02-05"}, None),
                "write_off_requested": ("write-off", {"reason": "x"}, club.recorder_token),
                "written_off": ("write-off/approval", {}, None),
            }[step]
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await self.admin.post(f"/v1/loans/{loan_id}/{path}", json=body,
                                             headers=headers)
            assert response.status_code == 200, response.text
            self.sample_entries += step in ("disbursed", "written_off")
        club.extra_ids.add(loan_id)
        return loan_id


async def apply_for_loan(admin: httpx.AsyncClient, club: ClubWorld) -> str:
    """A loan application recorded by the club's treasurer (so the admin may approve it)."""
    response = await admin.post(
        f"/v1/funds/{club.fund_id}/loans",
        json={"member_id": club.member_id, "principal": 100_000, "installments": 2,
              "rate_per_period": "0.01", "first_due_date": "2026-03-05",
              "applied_on": "2026-02-01"},
        headers={"Authorization": f"Bearer {club.recorder_token}"},
    )
    assert response.status_code == 201, response.text
    loan_id: str = response.json()["id"]
    return loan_id


async def request_reversal(admin: httpx.AsyncClient, club: ClubWorld, entry_id: str) -> str:
    response = await admin.post(f"/v1/entries/{entry_id}/reversal", json={"reason": "x"},
                                headers={"Authorization": f"Bearer {club.recorder_token}"})
    assert response.status_code == 202, response.text
    correction_id: str = response.json()["id"]
    club.extra_ids.add(correction_id)
    return correction_id


async def build_club(
    admin: httpx.AsyncClient, owner: Any, province: str, new_token: Any
) -> ClubWorld:
    await create_area(owner, province, "province")
    commune = await create_area(owner, f"{province}001", "commune", parent_code=province)
    club = await create_club(owner, commune, name=f"CLB {province}")
    world = ClubWorld(province=province, commune=commune, **club)
    world.cash = (await create_account(admin, world.fund_id, "111", "asset",
                                       allow_negative=False))["id"]
    world.capital = (await create_account(admin, world.fund_id, "4111", "equity"))["id"]
    for account in DEFAULT_CHART:  # the rest of a club fund's chart
        if account.code not in ("111", "4111"):
            await create_account(admin, world.fund_id, account.code, account.type.value,
                                 allow_negative=account.allow_negative)
    response = await admin.post(f"/v1/funds/{world.fund_id}/entries",
                                json=entry_body(world.cash, world.capital, 5_000_000,
                                                "2026-01-05"))
    assert response.status_code == 201, response.text
    world.entry_id = response.json()["id"]
    head = await admin.get(f"/v1/funds/{world.fund_id}/audit/head")  # a saved signed head
    assert head.status_code == 200, head.text
    # A witness's cosignature of that checkpoint, kept as the background task keeps one.
    note = (await admin.get(f"/v1/funds/{world.fund_id}/audit/checkpoint")).text
    line = cosign_note_text(Ed25519PrivateKey.generate(), "witness.test/w",
                            note[: note.index("\n\n") + 1], 1_780_000_000)
    await owner.execute("INSERT INTO audit_cosignatures VALUES ($1, $2, 'witness.test/w', $3)",
                        uuid.UUID(world.fund_id), head.json()["tree_size"], line)
    member = await admin.post(f"/v1/clubs/{world.club_id}/members",
                              json={"name": "Bà A", "gender": "female", "birth_year": 1950})
    assert member.status_code == 201, member.text
    world.member_id = member.json()["id"]
    recorder = await admin.post("/v1/people", json={
        "name": f"Thủ quỹ {world.club_id[-4:]}", "role": "treasurer",
        "scope": f"club:{world.club_id}"})
    assert recorder.status_code == 201, recorder.text
    world.person_id = recorder.json()["id"]
    world.recorder_token = await new_token(person_id=world.person_id)
    world.loan_id = await apply_for_loan(admin, world)
    for path, body in (("approval", {"effective_date": "2026-02-01"}),
                       ("disbursement", {"effective_date": "2026-02-05"})):
        response = await admin.post(f"/v1/loans/{world.loan_id}/{path}", json=body)
        assert response.status_code == 200, response.text
    closed = await admin.post(f"/v1/funds/{world.fund_id}/periods/2020-01/close")
    assert closed.status_code == 201, closed.text
    spare = await admin.post(f"/v1/funds/{world.fund_id}/entries",
                             json=entry_body(world.cash, world.capital, 1_000))
    assert spare.status_code == 201, spare.text
    world.correction_id = await request_reversal(admin, world, spare.json()["id"])
    return world


async def build_world(admin: httpx.AsyncClient, owner: Any, new_token: Any) -> World:
    number = next(_codes)
    a = await build_club(admin, owner, f"{number}1", new_token)
    b = await build_club(admin, owner, f"{number}2", new_token)
    club_a, area_a = f"club:{a.club_id}", f"area:{a.province}"
    tokens = {
        ADMIN: await new_token("admin"),
        AUDITOR: await new_token("auditor", scope=area_a),
        TREASURER: await new_token("treasurer", scope=club_a),
        CHAIR: await new_token("chair", scope=club_a),
        INTEGRATION_READ: await new_token("integration", scope=area_a),
        INTEGRATION_WRITE: await new_token("integration", scope=club_a, write=True),
    }
    spare_person = await admin.post("/v1/people", json={"name": "Kiểm soát viên",
                                                        "role": "auditor", "scope": club_a})
    assert spare_person.status_code == 201, spare_person.text
    spare = await admin.post("/v1/tokens", json={"person_id": spare_person.json()["id"]})
    assert spare.status_code == 201, spare.text
    return World(admin=admin, a=a, b=b, tokens=tokens, spare_token_id=spare.json()["id"])


async def switch_off_row_level_security(owner: Any) -> None:
    """Leave only the service's own scope checks (each layer must hold alone)."""
    tables = await owner.fetch(
        "SELECT c.oid::regclass::text AS name FROM pg_class c"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relrowsecurity"
    )
    assert tables
    for table in tables:
        await owner.execute(
            f"ALTER TABLE {table['name']} NO FORCE ROW LEVEL SECURITY, DISABLE ROW LEVEL SECURITY"
        )


def switch_off_service_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave only the database's row-level security (each layer must hold alone)."""
    from service.auth.principal import Principal
    from service.context import RequestContext

    monkeypatch.setattr(Principal, "sees_fund", lambda self, fund_id: True)
    monkeypatch.setattr(Principal, "sees_club", lambda self, club_id: True)
    monkeypatch.setattr(RequestContext, "fund_scope", property(lambda self: None))
