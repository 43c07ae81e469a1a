"""The auditor's pages over HTTP (no browser): who may open them, the figures they show
(the same as the API's reports), the downloads they link to, and what is not found."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from html import unescape
from typing import Any

import httpx
import pytest

from service.context import BUSINESS_TIMEZONE
from service.pages.auditor_pages import figure_text
from service.reports.service import PORTFOLIO_COLUMNS
from tests.api.factories import XLSX_MEDIA_TYPE, create_person, post_area
from tests.integration import test_witnesses as witnessing
from tests.integration.test_witnesses import WITNESS_NAME, cosigned_checkpoint
from tests.pages.auditor_world import (
    AUDITOR_PHONE,
    AUDITOR_PIN,
    CASH_AT_END,
    COMMUNE,
    CONTRIBUTION,
    EXPENSE,
    PROVINCE,
    SEED,
    WAITING_SINCE,
    AuditorWorld,
    build_auditor_world,
    statement_figures,
)
from tests.pages.world import TREASURER_PHONE, TREASURER_PIN, build_world, form_token, set_pin

# A witness process and the service submitting to it (tests/integration/test_witnesses.py).
witness = witnessing.witness
witnessed = witnessing.witnessed


@pytest.fixture
async def world(client: httpx.AsyncClient) -> AuditorWorld:
    return await build_auditor_world(client)


@pytest.fixture
async def thu(client: httpx.AsyncClient, world: AuditorWorld,
              client_for: Callable[[str | None], httpx.AsyncClient]) -> httpx.AsyncClient:
    """The auditor of province 51, signed in on the pages (a browser-like client)."""
    http = client_for(None)
    answered = await set_pin(http, client, world.auditor_id, AUDITOR_PHONE, AUDITOR_PIN)
    assert answered.status_code == 303, answered.text
    return http


def text_of(response: httpx.Response) -> str:
    """The page's visible text, one space between words."""
    body = re.sub(r"<[^>]+>", " ", response.text)
    return " ".join(unescape(body).split())


def shown(value: object) -> object:
    """A JSON ratio (a decimal string) as the report's Decimal."""
    return Decimal(value) if isinstance(value, str) else value


def pages(world: AuditorWorld) -> list[str]:
    return ["/auditor", f"/auditor/clubs/{world.club_id}",
            f"/auditor/clubs/{world.club_id}/accounts/{world.cash_account_id}",
            "/auditor/programme"]


async def test_a_visitor_is_sent_to_sign_in(anonymous: httpx.AsyncClient,
                                            world: AuditorWorld) -> None:
    for path in pages(world):
        response = await anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"] == "/sign-in"


async def test_the_auditor_lands_on_her_area(thu: httpx.AsyncClient) -> None:
    home = await thu.get("/")
    assert home.status_code == 303 and home.headers["location"] == "/auditor"
    page = await thu.get("/auditor")
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert "Tình hình quỹ theo địa bàn" in text
    # Her province's own row, then its district (a link to the district's page).
    assert f"Area {PROVINCE}" in text
    assert f'href="/auditor?area={PROVINCE}1&amp;as_of=' in page.text
    assert f'<option value="{COMMUNE}"' in page.text


async def test_the_commune_has_a_row_per_club_with_its_log(thu: httpx.AsyncClient,
                                                          world: AuditorWorld) -> None:
    page = await thu.get("/auditor", params={"area": COMMUNE, "as_of": "31/10/2026"})
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert "CLB LTH xã Tịnh Hà" in text and "CLB LTH thôn Phú Lộc" in text
    assert "Đến ngày 31/10/2026" in text or "31/10/2026" in text
    row = re.search(r"CLB LTH xã Tịnh Hà</a>.*?</tr>", page.text, re.S)
    assert row is not None
    cells = re.findall(r"<td>([^<]*)</td>", row.group(0))
    # Every indicator as the API's portfolio report gives it, in the report's order.
    report = (await thu.get("/v1/reports/portfolio", params={
        "area": COMMUNE, "as_of": "2026-10-31"})).json()
    club = next(i for i in report["items"] if i["club_id"] == world.club_id)
    assert len(cells) == len(PORTFOLIO_COLUMNS) - 3
    for key, cell in zip(PORTFOLIO_COLUMNS[3:], cells, strict=True):
        assert cell == figure_text(key, shown(club[key]), "vi", None), (key, cell)
    assert cells[PORTFOLIO_COLUMNS.index("capital_district_budget") - 3] == "30.000.000 ₫"
    assert cells[PORTFOLIO_COLUMNS.index("cash") - 3] == "31.500.000 ₫"
    assert f'href="/auditor/clubs/{world.club_id}?as_of=31%2F10%2F2026"' in page.text
    # Each club's log by its signed checkpoint (no witness is configured here), and
    # verified record by record when she asks.
    logs = page.text[page.text.index('class="list logs"'):]
    assert logs.count("chưa kiểm tra từng bản ghi") == 2 and "Khớp:" not in logs
    assert "điểm kiểm tra đã ký: 4 bản ghi" in logs and "chưa có nhân chứng ký" in logs
    verified = await thu.get("/auditor", params={"area": COMMUNE, "as_of": "31/10/2026",
                                                  "verify": "1"})
    logs = verified.text[verified.text.index('class="list logs"'):]
    assert logs.count("Khớp:") == 2 and "Khớp: 4 bản ghi" in logs
    assert "Kiểm tra từng bản ghi của các nhật ký" not in verified.text
    # The download links are the API's report routes, read with the session cookie.
    link = re.search(r'href="(/v1/reports/portfolio\?[^"]+format=xlsx)"', page.text)
    assert link is not None
    download = await thu.get(unescape(link.group(1)))
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == XLSX_MEDIA_TYPE


async def test_a_club_trial_balance_and_its_statement(thu: httpx.AsyncClient,
                                                     world: AuditorWorld) -> None:
    page = await thu.get(f"/auditor/clubs/{world.club_id}")
    assert page.status_code == 200, page.text
    text = text_of(page)
    assert "Bảng cân đối tài khoản" in text and "Tổng nợ bằng tổng có." in text
    assert "Khớp:" in text and "Mã băm gốc" in text
    statement_link = re.search(
        rf'href="(/auditor/clubs/{world.club_id}/accounts/{world.cash_account_id}\?[^"]+)"',
        page.text)
    assert statement_link is not None
    statement = await thu.get(unescape(statement_link.group(1)))
    assert statement.status_code == 200, statement.text
    text = text_of(statement)
    assert "Sổ chi tiết tài khoản: 111" in text
    assert f"Số dư cuối ngày {datetime.now(BUSINESS_TIMEZONE):%d/%m/%Y}" in text
    closing = re.search(r'class="closing">([^<]+)<', statement.text)
    assert closing is not None and closing.group(1) == "31.500.000 ₫"
    assert "05/01/2026" in text and "02/03/2026" in text

    # A shorter range: from 01/02/2026 the opening holds the seed money.
    ranged = await thu.get(f"/auditor/clubs/{world.club_id}/accounts/{world.cash_account_id}",
                           params={"from": "01/02/2026", "to": "28/02/2026"})
    text = text_of(ranged)
    assert "Số dư đầu ngày 01/02/2026 30.000.000 ₫" in text
    assert "Số dư cuối ngày 28/02/2026 32.000.000 ₫" in text

    # The statement's XLSX link: the API's file, with the same figures.
    link = re.search(r'href="(/v1/accounts/[^"]+format=xlsx)"', ranged.text)
    assert link is not None
    download = await thu.get(unescape(link.group(1)))
    assert download.headers["content-type"] == XLSX_MEDIA_TYPE
    figures = statement_figures(download.content)
    assert figures["labels"]["Số dư đầu kỳ"][2] == SEED
    assert figures["labels"]["Cộng phát sinh trong kỳ"][:2] == (CONTRIBUTION, 0)
    assert figures["labels"]["Số dư cuối kỳ"][2] == SEED + CONTRIBUTION
    csv = await thu.get(unescape(link.group(1)).replace("format=xlsx", "format=csv"))
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert str(EXPENSE) not in csv.text  # the expense lies outside the range


async def test_a_wrong_date_comes_back_next_to_its_field(thu: httpx.AsyncClient,
                                                        world: AuditorWorld) -> None:
    page = await thu.get("/auditor", params={"as_of": "31/02/2026"})
    assert page.status_code == 422
    assert 'id="as_of-problem">Hãy ghi ngày theo ngày/tháng/năm' in page.text
    assert 'value="31/02/2026"' in page.text
    future = await thu.get(f"/auditor/clubs/{world.club_id}", params={"as_of": "01/01/2099"})
    assert future.status_code == 422
    assert 'id="as_of-problem"' in future.text and 'value="01/01/2099"' in future.text
    reversed_range = await thu.get(
        f"/auditor/clubs/{world.club_id}/accounts/{world.cash_account_id}",
        params={"from": "01/03/2026", "to": "01/02/2026"})
    assert reversed_range.status_code == 422 and 'id="to-problem"' in reversed_range.text
    year = await thu.get("/auditor/programme", params={"year": "hai nghìn"})
    assert year.status_code == 422 and 'id="year-problem"' in year.text


async def test_the_programme_puts_the_waiting_club_first(thu: httpx.AsyncClient,
                                                        world: AuditorWorld) -> None:
    page = await thu.get("/auditor/programme", params={"area": PROVINCE, "year": "2026"})
    assert page.status_code == 200, page.text
    text = text_of(page)
    days = (datetime.now(BUSINESS_TIMEZONE).date() - WAITING_SINCE).days
    waiting = text.index("Câu lạc bộ chờ vốn ban đầu")
    assert text.index(f"CLB LTH thôn Phú Lộc đã chờ {days} ngày thành lập 01/02/2026") \
        > waiting
    assert waiting < text.index("Kết quả theo địa bàn")
    assert "CLB LTH xã Tịnh Hà" not in text[waiting:text.index("Kết quả theo địa bàn")]
    link = re.search(r'href="(/v1/reports/programme\?[^"]+format=xlsx)"', page.text)
    assert link is not None and (await thu.get(unescape(link.group(1)))).status_code == 200
    english = await thu.get("/auditor/programme?lang=en")
    assert f"waited {days} days" in text_of(english)


async def test_foreign_areas_and_clubs_are_not_found_like_unknown_ones(
    thu: httpx.AsyncClient, world: AuditorWorld,
) -> None:
    unknown = str(uuid.uuid4())
    pairs = [
        ("/auditor?area=52", "/auditor?area=99"),
        ("/auditor?area=521", "/auditor?area=not-a-code!"),
        ("/auditor/programme?area=52", "/auditor/programme?area=99"),
        (f"/auditor/clubs/{world.foreign_club_id}", f"/auditor/clubs/{unknown}"),
        (f"/auditor/clubs/{world.foreign_club_id}/accounts/{world.foreign_cash_account_id}",
         f"/auditor/clubs/{unknown}/accounts/{unknown}"),
        (f"/auditor/clubs/{world.club_id}/accounts/{world.foreign_cash_account_id}",
         f"/auditor/clubs/{world.club_id}/accounts/{unknown}"),
    ]
    for foreign, missing in pairs:
        one, other = await thu.get(foreign), await thu.get(missing)
        assert one.status_code == other.status_code == 404, (foreign, one.status_code)
        # The same page, but for the path in its language link.
        assert one.text.replace(foreign.split("?")[0], "") == \
            other.text.replace(missing.split("?")[0], "")
        assert "Không tìm thấy trang này." in one.text
    # The API's downloads answer the same for the foreign club.
    assert (await thu.get(f"/v1/accounts/{world.foreign_cash_account_id}/statement",
                          params={"format": "xlsx"})).status_code == 404


async def test_other_roles_find_no_auditor_pages(
    client: httpx.AsyncClient, client_for: Callable[[str | None], httpx.AsyncClient],
) -> None:
    pages_world = await build_world(client)
    http = client_for(None)
    answered = await set_pin(http, client, pages_world.treasurer_id, TREASURER_PHONE,
                             TREASURER_PIN)
    assert answered.status_code == 303
    for path in ("/auditor", f"/auditor/clubs/{pages_world.club_id}", "/auditor/programme"):
        assert (await http.get(path)).status_code == 404


async def test_english_on_request(thu: httpx.AsyncClient, world: AuditorWorld) -> None:
    page = await thu.get(f"/auditor/clubs/{world.club_id}/accounts/{world.cash_account_id}",
                         params={"lang": "en", "from": "01/01/2026", "to": "31/10/2026"})
    text = text_of(page)
    assert "Account statement: 111" in text and "Closing balance on 31/10/2026" in text
    assert f"{CASH_AT_END:,}".replace(",", ".") + " ₫" in text


async def test_the_club_page_names_the_witness_who_cosigned(witnessed: Any) -> None:
    """With a witness configured (a `clubfund witness serve` process on loopback), the
    club's audit status names it once it has cosigned the log's latest checkpoint."""
    app, admin = witnessed
    world = await build_auditor_world(admin)
    size = (await admin.get(f"/v1/funds/{world.fund_id}/audit/head")).json()["tree_size"]
    await cosigned_checkpoint(admin, world.fund_id, size)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://clubfund.test") as http:
        answered = await set_pin(http, admin, world.auditor_id, AUDITOR_PHONE, AUDITOR_PIN)
        assert answered.status_code == 303, answered.text
        page = await http.get(f"/auditor/clubs/{world.club_id}")
        assert page.status_code == 200, page.text
        status = text_of(page)
        assert f"Nhân chứng đã ký xác nhận {WITNESS_NAME}" in status
        assert f"Điểm kiểm tra đã ký (số bản ghi) {size}" in status
        area = await http.get("/auditor", params={"area": COMMUNE})
        assert f"nhân chứng: {WITNESS_NAME}" in text_of(area)


async def test_the_demo_auditor_signs_in_with_the_printed_pin(
    client: httpx.AsyncClient, client_for: Callable[[str | None], httpx.AsyncClient],
    owner_connection: Any,
) -> None:
    from service.demo import names
    from service.demo.loader import DEMO_AUDITOR, add_auditor_sign_in

    code, name = names.PROVINCE
    await post_area(client, code, "province", name=name)
    async with owner_connection.transaction():
        (line,) = await add_auditor_sign_in(owner_connection, datetime.now(UTC))
    _, phone, pin = DEMO_AUDITOR
    assert phone in line and pin in line
    http = client_for(None)
    page = await http.get("/sign-in")
    signed_in = await http.post("/sign-in", data={"form_token": form_token(page.text),
                                                  "phone": phone, "pin": pin})
    assert signed_in.status_code == 303, signed_in.text
    assert (await http.get("/")).headers["location"] == "/auditor"
    area = await http.get("/auditor")
    assert area.status_code == 200 and f"{name} ({code})" in area.text


async def test_a_club_auditor_sees_her_club_and_the_areas_above_it_only(
    client: httpx.AsyncClient, world: AuditorWorld,
    client_for: Callable[[str | None], httpx.AsyncClient],
) -> None:
    person = await create_person(client, "auditor", f"club:{world.club_id}",
                                 name="Lý Thị Hằng", phone="0912000104")
    http = client_for(None)
    answered = await set_pin(http, client, person["id"], "0912000104", "5319")
    assert answered.status_code == 303, answered.text
    page = await http.get("/auditor")
    assert page.status_code == 200, page.text
    options = re.findall(r'<option value="([^"]+)"', page.text)
    assert options == [PROVINCE, f"{PROVINCE}1", COMMUNE]
    commune = await http.get("/auditor", params={"area": COMMUNE})
    assert "CLB LTH xã Tịnh Hà" in commune.text and "CLB LTH thôn Phú Lộc" not in commune.text
    assert (await http.get(f"/auditor/clubs/{world.waiting_club_id}")).status_code == 404
    assert (await http.get("/auditor", params={"area": "52"})).status_code == 404
