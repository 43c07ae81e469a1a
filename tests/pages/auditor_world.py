"""An auditor's province, set up over the API, and the auditor's walk to a club's cash
statement as XLSX in a real browser (reusable from any browser flow)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx

from tests.api.factories import create_person, post_club, post_commune

AUDITOR_PHONE, AUDITOR_PIN = "0912000103", "8642"
PROVINCE, COMMUNE = "51", "51101"
SEED, CONTRIBUTION, EXPENSE = 30_000_000, 2_000_000, 500_000
CASH_AT_END = SEED + CONTRIBUTION - EXPENSE
WAITING_SINCE = date(2026, 2, 1)
CASH_ACCOUNT = "111"


@dataclass(frozen=True)
class AuditorWorld:
    club_id: str
    fund_id: str
    cash_account_id: str
    waiting_club_id: str
    foreign_club_id: str
    foreign_cash_account_id: str
    auditor_id: str


async def posted(admin: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await admin.post(path, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def cash_account_of(admin: httpx.AsyncClient, fund_id: str) -> str:
    response = await admin.get(f"/v1/funds/{fund_id}/accounts", params={"limit": 500})
    assert response.status_code == 200, response.text
    return str(next(a["id"] for a in response.json()["items"] if a["code"] == CASH_ACCOUNT))


async def build_auditor_world(admin: httpx.AsyncClient) -> AuditorWorld:
    """Province 51 (district 511, commune 51101) with a seeded club that took a
    contribution and paid an expense, and a club waiting for its seed money since
    1 February 2026; province 52 with a club of its own; the auditor of province 51."""
    commune = await post_commune(admin, PROVINCE)
    club = await post_club(admin, commune, name="CLB LTH xã Tịnh Hà")
    fund = club["fund_id"]
    await posted(admin, f"/v1/funds/{fund}/seed-grants", {
        "amount": SEED, "source": "district_budget", "decision_number": "12/QĐ-UBND",
        "effective_date": "2026-01-05", "payment_method": "cash"})
    await posted(admin, f"/v1/funds/{fund}/contributions", {
        "amount": CONTRIBUTION, "effective_date": "2026-02-10", "payment_method": "cash"})
    await posted(admin, f"/v1/funds/{fund}/expenses", {
        "amount": EXPENSE, "effective_date": "2026-03-02", "payment_method": "cash",
        "description": "Mua sổ sách"})
    waiting = await post_club(admin, commune, name="CLB LTH thôn Phú Lộc",
                              established_on=WAITING_SINCE.isoformat())
    foreign = await post_club(admin, await post_commune(admin, "52"), name="CLB LTH tỉnh bên")
    auditor = await create_person(admin, "auditor", f"area:{PROVINCE}", name="Võ Thị Thu",
                                  phone=AUDITOR_PHONE)
    return AuditorWorld(
        club_id=club["id"], fund_id=fund, cash_account_id=await cash_account_of(admin, fund),
        waiting_club_id=waiting["id"], foreign_club_id=foreign["id"],
        foreign_cash_account_id=await cash_account_of(admin, foreign["fund_id"]),
        auditor_id=auditor["id"])


def statement_figures(workbook_bytes: bytes) -> dict[str, Any]:
    """The opening, period totals and closing rows of a statement workbook (openpyxl),
    by their Vietnamese labels: {label: (debit, credit, balance)}, and its lines."""
    import openpyxl

    sheet = openpyxl.load_workbook(io.BytesIO(workbook_bytes)).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = next(i for i, r in enumerate(rows) if "Diễn giải" in r or "Nội dung" in r)
    table = rows[header + 1:]
    labels = {r[4]: (r[5], r[6], r[7]) for r in table if r[1] is None and r[4]}
    lines = [r for r in table if r[1] is not None]
    return {"labels": labels, "lines": lines, "header": rows[header]}


def auditor_downloads_statement(phone: Any, base: str, admin_token: str, club_id: str,
                                account_code: str = CASH_ACCOUNT, name: str = "auditor",
                                ) -> dict[str, Any]:
    """In a new 360×800 browser session (`phone()` of tests/pages/conftest.py), the
    auditor of the club's province (made here, with her setup code) signs in, lands on
    her area page, opens the club, its account `account_code` and downloads its
    statement as XLSX with the link on the page. Returns `statement_figures` of the
    downloaded file; the caller checks them against what it recorded."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    area = httpx.get(f"{base}/v1/clubs/{club_id}", headers=headers).json()["area_code"]
    while (parent := httpx.get(f"{base}/v1/areas/{area}", headers=headers).json()
           .get("parent_code")) is not None:
        area = parent
    person = httpx.post(f"{base}/v1/people", headers=headers, json={
        "name": "Đặng Thị Kiểm", "role": "auditor", "scope": f"area:{area}",
        "phone": "0912000199"})
    assert person.status_code == 201, person.text
    code = httpx.post(f"{base}/v1/people/{person.json()['id']}/setup-code", headers=headers)
    assert code.status_code == 201, code.text
    session = phone()
    page = session.page
    session.open("/set-pin")
    page.locator("#phone").fill("0912000199")
    page.locator("#setup_code").fill(code.json()["setup_code"])
    page.locator("#pin").fill("9753")
    page.locator("#pin_again").fill("9753")
    page.locator("main button[type=submit]").click()
    page.wait_for_url(f"{base}/auditor")
    session.check(f"{name}-area")
    session.open(f"/auditor/clubs/{club_id}")
    session.check(f"{name}-club")
    page.locator(f"table.report a:text-matches('^{account_code} ')").click()
    page.wait_for_load_state("load")
    session.check(f"{name}-statement")
    with page.expect_download() as download:
        page.locator("a.button[href*='format=xlsx']").click()
    path = download.value.path()
    with open(path, "rb") as file:
        return statement_figures(file.read())
