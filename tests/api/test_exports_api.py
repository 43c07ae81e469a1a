"""Files an auditor can hand in: the title block, number and date formats, column widths
and frozen header of every XLSX; download names; one `?format=` decoder; a loan's
schedule and a member's passbook as CSV and XLSX."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from urllib.parse import unquote

import pytest

from ledger.merkle import root_from_frontier
from tests.api.factories import (
    club_with_seed_grant,
    post_club,
    post_commune,
    post_member,
    xlsx_sheet,
    xlsx_table,
)
from tests.api.test_loans_api import disbursed

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EN = {"Accept-Language": "en"}


@pytest.fixture
async def club(client, client_for, new_token):
    """A club with a seed grant, a member's two contributions, a loan paid out to her
    and two repayments."""
    world = await club_with_seed_grant(client, client_for, new_token)
    treasurer = world["treasurer"]
    for day, amount in (("2026-01-10", 100_000), ("2026-03-10", 50_000)):
        response = await treasurer.post(f"/v1/funds/{world['fund']}/contributions", json={
            "amount": amount, "effective_date": day, "member_id": world["member"]})
        assert response.status_code == 201, response.text
    loan = await disbursed(world)
    for day, amount in (("2026-03-05", 466_667), ("2026-04-05", 466_667)):
        response = await treasurer.post(f"/v1/loans/{loan['id']}/repayments",
                                        json={"amount": amount, "effective_date": day})
        assert response.status_code == 201, response.text
    return world | {"loan": loan["id"]}


async def audit_tree(owner_connection, fund: str) -> tuple[int, str]:
    row = await owner_connection.fetchrow(
        "SELECT tree_size, frontier FROM audit_trees WHERE fund_id = $1", fund)
    size = row["tree_size"]
    return size, root_from_frontier(tuple(bytes(h) for h in row["frontier"]), size).hex()


def title_block(sheet) -> dict[str, list]:
    """label → the values beside it, for every row above the frozen header."""
    header_row = int(sheet.freeze_panes[1:]) - 1
    block = {}
    for row in sheet.iter_rows(max_row=header_row - 1):
        if row and row[0].value is not None:
            block[row[0].value] = [c for c in row[1:] if c.value is not None]
    return block


async def test_a_statement_xlsx_has_the_title_block_formats_widths_and_frozen_header(
    club, owner_connection
):
    cash = (await club["treasurer"].get(f"/v1/funds/{club['fund']}/accounts")).json()["items"]
    cash_id = next(a["id"] for a in cash if a["code"] == "111")
    url = f"/v1/accounts/{cash_id}/statement?from=2026-03-01&to=2026-03-31&format=xlsx"
    response = await club["treasurer"].get(url)
    size, root = await audit_tree(owner_connection, club["fund"])
    sheet = xlsx_sheet(response)
    block = title_block(sheet)
    # Vietnamese by default for a club's files.
    assert sheet["A1"].value.startswith("Sổ chi tiết tài khoản: 111")
    assert [c.value for c in block["Câu lạc bộ"]] == ["CLB LTH xã Tịnh Hà"]
    assert [c.value for c in block["Xã"]] == ["Area 51101"]
    period = block["Kỳ"]
    assert [c.value for c in period] == [datetime(2026, 3, 1), datetime(2026, 3, 31)]
    assert {c.number_format for c in period} == {"dd/mm/yyyy"}
    assert block["Lập lúc"][0].is_date
    assert [c.value for c in block["Nhật ký kiểm toán: số bản ghi"]] == [size]
    assert [c.value for c in block["Nhật ký kiểm toán: mã băm gốc"]] == [root]
    header_row = int(sheet.freeze_panes[1:]) - 1
    assert sheet.freeze_panes == f"A{header_row + 1}"
    assert [c.value for c in sheet[header_row]][:2] == ["Ngày", "Bút toán"]
    lines = list(sheet.iter_rows(min_row=header_row + 1))
    dates = [r[0] for r in lines]
    assert all(c.is_date and c.number_format == "dd/mm/yyyy" for c in dates)
    amounts = [c for r in lines for c in r[5:8] if c.value is not None]
    assert amounts and {c.number_format for c in amounts} == {"#,##0"}
    assert {r[2].number_format for r in lines if r[2].value is not None} == {"0"}
    widths = {col: sheet.column_dimensions[col].width for col in "ABCDEFGH"}
    assert widths["A"] >= len("dd/mm/yyyy") and widths["B"] >= 36  # an entry id
    assert widths["E"] >= max(len(str(r[4].value or "")) for r in lines)
    assert response.headers["content-disposition"] == (
        'attachment; filename="so-quy_clb-lth-xa-tinh-ha_2026-03.xlsx";'
        " filename*=UTF-8''" + "so-quy_CLB%20LTH%20x%C3%A3%20T%E1%BB%8Bnh%20H%C3%A0_2026-03.xlsx")
    assert unquote(response.headers["content-disposition"].split("''")[1]) == (
        "so-quy_CLB LTH xã Tịnh Hà_2026-03.xlsx")
    english = xlsx_sheet(await club["treasurer"].get(url, headers=EN))
    assert "Audit log: root hash" in title_block(english)
    assert (await club["treasurer"].get(url.replace("&format=xlsx", ""))).json()[
        "columns"]["effective_date"] == "Date"  # JSON: Accept-Language, English without


async def test_the_portfolio_xlsx_shows_ratios_as_percentages_and_every_clubs_log(
    client, club, owner_connection
):
    response = await client.get("/v1/reports/portfolio?area=51&as_of=2026-04-30&format=xlsx")
    workbook_sheet = xlsx_sheet(response)
    table = xlsx_table(response)
    header = table[0]
    header_row = int(workbook_sheet.freeze_panes[1:]) - 1
    par30 = header.index("PAR30") + 1
    rate = header.index("Repayment rate") + 1
    cells = [workbook_sheet.cell(row, column) for row in range(header_row + 1,
             header_row + len(table)) for column in (par30, rate)]
    assert {c.number_format for c in cells if c.value is not None} == {"0.00%"}
    logs = response_workbook_sheet(response, 1)
    size, root = await audit_tree(owner_connection, club["fund"])
    assert [list(r) for r in logs.iter_rows(min_row=2, values_only=True)] == [
        ["CLB LTH xã Tịnh Hà", club["fund"], size, root]]
    assert 'filename="bao-cao-quy_51_2026-04-30.xlsx"' in response.headers[
        "content-disposition"]


def response_workbook_sheet(response, index: int):
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(response.content)).worksheets[index]


async def test_an_unknown_format_is_refused_on_every_exportable_route(client, club):
    routes = [f"/v1/funds/{club['fund']}/trial-balance", f"/v1/loans/{club['loan']}/schedule",
              f"/v1/clubs/{club['club']}/members/{club['member']}/passbook",
              "/v1/reports/portfolio", "/v1/reports/programme?year=2026"]
    for route in routes:
        separator = "&" if "?" in route else "?"
        response = await client.get(f"{route}{separator}format=pdf")
        assert response.status_code == 400, (route, response.text)
        assert response.json()["code"] == "unknown_format"
        assert "`pdf`" in response.json()["detail"]
        vietnamese = await client.get(f"{route}{separator}format=pdf",
                                      headers={"Accept-Language": "vi"})
        assert vietnamese.json()["detail"].startswith("không có định dạng `pdf`")
        long = await client.get(f"{route}{separator}format={'x' * 300}")
        assert (long.status_code, long.json()["code"]) == (400, "unknown_format")


async def test_a_loans_schedule_is_exported_with_what_was_paid(
    anonymous, client, club, client_for, new_token
):
    url = f"/v1/loans/{club['loan']}/schedule"
    response = await anonymous.get(url + "?format=csv")
    assert response.status_code == 401
    other = await post_club(client, await post_commune(client, "52"), "CLB khác")
    stranger = client_for(await new_token("treasurer", scope=f"club:{other['id']}"))
    for export in ("json", "csv", "xlsx"):
        response = await stranger.get(url, params={"format": export})
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    body = (await club["treasurer"].get(url + "?format=json")).json()
    paid = [(i["principal_paid"], i["interest_paid"]) for i in body["installments"]]
    assert paid[:3] == [(416_667, 50_000), (416_667, 50_000), (0, 0)]
    rows = list(csv.reader(io.StringIO((await club["treasurer"].get(
        url, params={"format": "csv"}, headers=EN)).content.decode("utf-8-sig"))))
    assert rows[0] == ["Instalment", "Due date", "Principal", "Interest", "Total",
                       "Principal paid", "Interest paid", "Remaining"]
    assert [[int(v) for v in r[2:]] for r in rows[1:13]] == [
        [i["principal"], i["interest"], i["total"], i["principal_paid"], i["interest_paid"],
         i["total"] - i["principal_paid"] - i["interest_paid"]] for i in body["installments"]]
    total = body["total_principal"] + body["total_interest"]
    assert rows[-1][1:] == ["Total", str(body["total_principal"]), str(body["total_interest"]),
                            str(total), "833334", "100000", str(total - 933_334)]
    response = await club["treasurer"].get(url, params={"format": "xlsx"})
    table = xlsx_table(response)
    assert table[0][:2] == ["Kỳ trả", "Ngày đến hạn"]
    assert table[1][:2] == [1, datetime(2026, 3, 5)]
    assert title_block(xlsx_sheet(response))["Câu lạc bộ"][0].value == "CLB LTH xã Tịnh Hà"
    assert xlsx_sheet(response)["A1"].value == "Lịch trả nợ khoản vay số 1 (Nguyễn Thị A)"
    assert 'filename="lich-tra-no_clb-lth-xa-tinh-ha_khoan-vay-1.xlsx"' in response.headers[
        "content-disposition"]


async def test_a_members_passbook_in_date_order_with_running_figures(
    anonymous, client, club, client_for, new_token
):
    url = f"/v1/clubs/{club['club']}/members/{club['member']}/passbook"
    assert (await anonymous.get(url)).status_code == 401
    other = await post_club(client, await post_commune(client, "53"), "CLB khác")
    stranger = client_for(await new_token("auditor", scope=f"club:{other['id']}"))
    for export in ("json", "csv", "xlsx"):
        response = await stranger.get(url, params={"format": export})
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
    elsewhere = await stranger.get(
        f"/v1/clubs/{other['id']}/members/{club['member']}/passbook")
    assert elsewhere.status_code == 404  # her club is not this one
    body = (await club["treasurer"].get(url)).json()
    assert [(i["effective_date"], i["operation"], i["contribution"], i["disbursed"],
             i["principal"], i["interest"], i["contributions_total"],
             i["outstanding_principal"]) for i in body["items"]] == [
        ("2026-01-10", "contribution", 100_000, 0, 0, 0, 100_000, 0),
        ("2026-02-05", "disbursement", 0, 5_000_000, 0, 0, 100_000, 5_000_000),
        ("2026-03-05", "repayment", 0, 0, 416_667, 50_000, 100_000, 4_583_333),
        ("2026-03-10", "contribution", 50_000, 0, 0, 0, 150_000, 4_583_333),
        ("2026-04-05", "repayment", 0, 0, 416_667, 50_000, 150_000, 4_166_666),
    ]
    assert (body["contributions_total"], body["outstanding_principal"]) == (150_000, 4_166_666)
    rows = list(csv.reader(io.StringIO((await club["treasurer"].get(
        url, params={"format": "csv"})).content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Ngày", "Nghiệp vụ", "Khoản vay số"]
    assert [r[0] for r in rows[1:]] == [i["effective_date"] for i in body["items"]]
    assert rows[2][1:3] == ["Giải ngân", "1"]
    response = await club["treasurer"].get(url, params={"format": "xlsx"})
    table = xlsx_table(response)
    assert [r[0] for r in table[1:]] == [
        datetime.combine(date.fromisoformat(i["effective_date"]), datetime.min.time())
        for i in body["items"]]
    assert [r[-1] for r in table[1:]] == [i["outstanding_principal"] for i in body["items"]]
    assert 'filename="so-thanh-vien_clb-lth-xa-tinh-ha-nguyen-thi-a_2026-04-05.xlsx"' in (
        response.headers["content-disposition"])


async def test_a_contribution_names_a_member_of_the_funds_club_only(client, club):
    other = await post_club(client, await post_commune(client, "54"), "CLB khác")
    stranger = await post_member(client, other["id"])
    response = await club["treasurer"].post(f"/v1/funds/{club['fund']}/contributions", json={
        "amount": 1_000, "effective_date": "2026-04-10", "member_id": stranger["id"]})
    assert (response.status_code, response.json()["code"]) == (422, "unknown_member")
    response = await club["treasurer"].post(f"/v1/funds/{club['fund']}/donations", json={
        "amount": 1_000, "effective_date": "2026-04-10", "member_id": club["member"]})
    assert (response.status_code, response.json()["code"]) == (422, "validation_error")
