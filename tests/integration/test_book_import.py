"""`clubfund import`: a club's books from the template into its empty fund, checked
first (nothing written when a row is wrong), written with the API's rules, records,
loan events and audit chain."""

from __future__ import annotations

import csv
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from ledger.opening_books import BooksRefused, FundNotEmpty
from service import cli
from service.bookimport.service import NotAClubFund, import_files
from tests.api.factories import post_club, post_commune, post_member

TEMPLATES = Path(__file__).resolve().parents[2] / "docs" / "templates"
SAMPLE_XLSX = TEMPLATES / "so-sach-mau.xlsx"
SAMPLE_CSV = TEMPLATES / "mau"


async def empty_club(client: Any, prefix: str = "51") -> dict[str, Any]:
    return await post_club(client, await post_commune(client, prefix),
                           established_on="2023-01-01")


def sample_rows(sheet: str) -> list[list[str]]:
    with (SAMPLE_CSV / f"{sheet}.csv").open(encoding="utf-8") as file:
        return list(csv.reader(file))


def money(text: str) -> int:
    return int(text)


def run_cli(database: Any, monkeypatch: Any, *args: str) -> int:
    """`clubfund import ...` against the test's database, as the command line runs it."""
    from service.settings import get_settings
    from tests.conftest import run_in_thread

    monkeypatch.setenv("DATABASE_URL", database.app_url)
    monkeypatch.setenv("CLUBFUND_MIGRATE_DATABASE_URL", database.owner_url)
    get_settings.cache_clear()
    try:
        return run_in_thread(lambda: cli.main(["import", *args]))
    finally:
        get_settings.cache_clear()


async def written(owner_connection: Any, fund_id: str) -> tuple[int, int, int, int]:
    """(entries, members, loans, audit records) of the fund."""
    row = await owner_connection.fetchrow(
        """
        SELECT (SELECT count(*) FROM entries WHERE fund_id = $1) AS entries,
               (SELECT count(*) FROM members m JOIN funds f ON f.club_id = m.club_id
                 WHERE f.id = $1) AS members,
               (SELECT count(*) FROM loans WHERE fund_id = $1) AS loans,
               (SELECT count(*) FROM audit_records WHERE fund_id = $1) AS records
        """, uuid.UUID(fund_id))
    return tuple(row)  # type: ignore[return-value]


async def test_the_sample_books_import_and_the_reports_agree(
    client, database, owner_connection,
) -> None:
    club = await empty_club(client)
    fund = club["fund_id"]
    records_before = (await written(owner_connection, fund))[3]
    summary = await import_files(database.app_url, uuid.UUID(fund), [SAMPLE_XLSX], "cli")
    assert (summary.members_count, summary.loans_count) == (6, 3)

    trial = (await client.get(f"/v1/funds/{fund}/trial-balance")).json()
    assert trial["balanced"] is True
    balance = {item["code"]: item["balance"] for item in trial["items"]}
    opening = {row[1]: money(row[2]) for row in sample_rows("SoDuDauKy")[1:]}
    after_cut_over = [row for row in sample_rows("TraNo")[1:]
                      if row[1].split("/")[::-1] >= ["2026", "01", "01"]]
    assert balance["111"] == opening["111"] + sum(
        money(r[2]) for r in after_cut_over if r[3] == "Tiền mặt")
    assert balance["112"] == opening["112"] + sum(
        money(r[2]) for r in after_cut_over if r[3] == "Chuyển khoản")
    for code in ("4111", "4112", "4114", "4118"):
        assert balance[code] == opening[code]
    assert balance["4113"] == 0

    loans = (await client.get(f"/v1/funds/{fund}/loans")).json()["items"]
    assert [loan["status"] for loan in loans] == ["disbursed", "disbursed", "repaid"]
    for loan in loans:  # the loan register and the ledger hold the same outstanding
        assert balance[loan["account_code"]] == loan["outstanding_principal"]
    assert loans[2]["outstanding_principal"] == 0
    # What the loans were paid after the cut-over is the income and principal booked.
    events = [e for loan in loans
              for e in (await client.get(f"/v1/loans/{loan['id']}")).json()["events"]
              if e["kind"] == "repayment" and e["entry_id"] is not None]
    assert balance["515"] == sum(e["allocation"]["interest"] for e in events)
    assert len(events) == len(after_cut_over)

    verify = (await client.get(f"/v1/funds/{fund}/audit/verify")).json()
    assert verify["ok"] is True, verify
    assert verify["tree_size"] == records_before + summary.audit_records_count
    first = (await client.get(f"/v1/funds/{fund}/audit", params={"limit": 1})
             ).json()["items"][0]
    assert first["record"]["action"] == "club.created"  # the chain continues the club's


async def test_a_loan_imports_as_the_api_records_it(
    client, client_for, new_token, database,
) -> None:
    """Loan KV01 of the sample recorded through the API, disbursed and repaid on the same
    dates, has the same schedule and the same allocation of every repayment."""
    club = await empty_club(client, "52")
    await import_files(database.app_url, uuid.UUID(club["fund_id"]), [SAMPLE_XLSX], "cli")
    imported = (await client.get(f"/v1/funds/{club['fund_id']}/loans")).json()["items"][0]

    other = await empty_club(client, "53")
    treasurer = client_for(await new_token("treasurer", scope=f"club:{other['id']}"))
    chair = client_for(await new_token("chair", scope=f"club:{other['id']}"))
    member = await post_member(treasurer, other["id"])
    grant = await treasurer.post(f"/v1/funds/{other['fund_id']}/seed-grants", json={
        "amount": 20_000_000, "source": "district_budget", "decision_number": "1/QĐ",
        "effective_date": "2025-06-01"})
    assert grant.status_code == 201, grant.text
    loan = await treasurer.post(f"/v1/funds/{other['fund_id']}/loans", json={
        "member_id": member["id"], "principal": 6_000_000, "installments": 12,
        "frequency": "monthly", "interest_method": "flat", "rate_per_period": "0.008",
        "first_due_date": "2025-07-05", "rounding_unit": 1000, "applied_on": "2025-06-05"})
    assert loan.status_code == 201, loan.text
    loan_id = loan.json()["id"]
    assert (await chair.post(f"/v1/loans/{loan_id}/approval", json={
        "effective_date": "2025-06-05"})).status_code == 200
    assert (await treasurer.post(f"/v1/loans/{loan_id}/disbursement", json={
        "effective_date": "2025-06-05"})).status_code == 200
    for row in sample_rows("TraNo")[1:]:
        if row[0] == "KV01":
            day, month, year = row[1].split("/")
            paid = await treasurer.post(f"/v1/loans/{loan_id}/repayments", json={
                "amount": money(row[2]), "effective_date": f"{year}-{month}-{day}"})
            assert paid.status_code == 201, paid.text

    def allocations(loan_id: str) -> Any:
        return client.get(f"/v1/loans/{loan_id}")

    recorded = (await allocations(loan_id)).json()
    mine = (await allocations(imported["id"])).json()
    assert [(e["kind"], e["effective_date"], e["allocation"]) for e in mine["events"]] == [
        (e["kind"], e["effective_date"], e["allocation"]) for e in recorded["events"]]
    for field in ("outstanding_principal", "principal_repaid", "interest_paid",
                  "amount_due", "payoff_amount", "days_overdue", "status"):
        assert mine[field] == recorded[field], field
    schedules = [(await client.get(f"/v1/loans/{i}/schedule")).json()
                 for i in (imported["id"], loan_id)]
    assert schedules[0]["installments"] == schedules[1]["installments"]


def broken_copy(folder: Path, changes: dict[str, dict[int, dict[int, str]]]) -> list[Path]:
    """The sample's CSV files with cells changed: sheet → row number → column → text."""
    shutil.copytree(SAMPLE_CSV, folder)
    for sheet, rows in changes.items():
        table = sample_rows(sheet)
        for number, cells in rows.items():
            for column, text in cells.items():
                table[number - 1][column] = text
        with (folder / f"{sheet}.csv").open("w", newline="", encoding="utf-8") as file:
            csv.writer(file).writerows(table)
    return sorted(folder.glob("*.csv"))


async def test_bad_rows_write_nothing_and_each_is_named(
    client, database, owner_connection, tmp_path, monkeypatch, capsys,
) -> None:
    club = await empty_club(client)
    fund = club["fund_id"]
    before = await written(owner_connection, fund)
    files = broken_copy(tmp_path / "books", {
        "ThanhVien": {3: {2: "X"}},                      # gender
        "KhoanVay": {2: {6: "2"}, 3: {1: "TV99"}},       # 24 %/year; unknown member
        "TraNo": {4: {1: "05/09/2027"}, 26: {2: "9000000"}},  # future; above the payoff
    })
    with pytest.raises(BooksRefused) as refused:
        await import_files(database.app_url, uuid.UUID(fund), files, "cli")
    named = {(p.sheet.value, p.row, p.column.header if p.column else None)
             for p in refused.value.problems}
    assert named == {
        ("ThanhVien", 3, "Giới tính"), ("KhoanVay", 2, "Lãi suất mỗi kỳ (%)"),
        ("KhoanVay", 3, "Mã thành viên"), ("TraNo", 4, "Ngày trả"), ("TraNo", 26, "Số tiền"),
    }
    assert await written(owner_connection, fund) == before

    # The command line names them in Vietnamese and English and exits 1.
    assert run_cli(database, monkeypatch, "--fund", fund, *map(str, files)) == 1
    errors = capsys.readouterr().err
    assert "trang KhoanVay, dòng 2, cột “Lãi suất mỗi kỳ (%)”" in errors
    assert "sheet KhoanVay, row 2, column “Lãi suất mỗi kỳ (%)” (rate per period (%))" in errors
    assert "vượt 20 % (Bộ luật Dân sự điều 468)" in errors
    assert "is above 20 % (Civil Code art. 468)" in errors
    assert await written(owner_connection, fund) == before


async def test_opening_balances_that_do_not_balance_are_refused(
    client, database, owner_connection, tmp_path,
) -> None:
    club = await empty_club(client)
    files = broken_copy(tmp_path / "books", {"SoDuDauKy": {2: {2: "4250001"}}})
    before = await written(owner_connection, club["fund_id"])
    with pytest.raises(BooksRefused) as refused:
        await import_files(database.app_url, uuid.UUID(club["fund_id"]), files, "cli")
    [problem] = refused.value.problems
    assert (problem.sheet.value, problem.column and problem.column.header) == (
        "SoDuDauKy", "Số tiền")
    assert "không cân" in problem.detail_vi
    assert await written(owner_connection, club["fund_id"]) == before


async def test_a_fund_that_holds_books_is_refused(
    client, database, owner_connection, monkeypatch, capsys,
) -> None:
    club = await empty_club(client)
    await post_member(client, club["id"])
    before = await written(owner_connection, club["fund_id"])
    with pytest.raises(FundNotEmpty):
        await import_files(database.app_url, uuid.UUID(club["fund_id"]),
                           sorted(SAMPLE_CSV.glob("*.csv")), "cli")
    assert await written(owner_connection, club["fund_id"]) == before

    bare = await client.post("/v1/funds", json={"name": "Sổ trống", "currency": "VND"})
    with pytest.raises(NotAClubFund):
        await import_files(database.app_url, uuid.UUID(bare.json()["id"]), [SAMPLE_XLSX],
                           "cli")

    # After one import, a second is refused too.
    other = await empty_club(client, "52")
    await import_files(database.app_url, uuid.UUID(other["fund_id"]), [SAMPLE_XLSX], "cli")
    assert run_cli(database, monkeypatch, "--fund", other["fund_id"], str(SAMPLE_XLSX)) == 1
    assert "chỉ nhập sổ vào quỹ câu lạc bộ còn trống" in capsys.readouterr().err


async def test_the_benchmark_imports_its_generated_books(client, database, tmp_path) -> None:
    """bench/import_books.py on a few loans (its timing is not asserted: speed is measured
    by running the bench)."""
    from bench.import_books import CUT_OVER, timed_import

    summary, seconds, repayments = await timed_import(database.app_url, tmp_path / "books", 4)
    verify = (await client.get(f"/v1/funds/{summary.fund_id}/audit/verify")).json()
    assert verify["ok"] is True, verify
    rows = sample_rows_of(tmp_path / "books" / "TraNo.csv")
    after = [row for row in rows if row[1].split("/")[::-1] >= CUT_OVER.strftime(
        "%Y/%m/%d").split("/")]
    assert summary.loans_count == 4
    assert repayments == len(rows)
    assert summary.entries_count == len(after) + 1  # and one opening entry
    assert seconds > 0


def sample_rows_of(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8") as file:
        return list(csv.reader(file))[1:]
