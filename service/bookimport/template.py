"""The import template's files: the blank template and the sample club's books, as an
XLSX workbook and as one CSV file per sheet (docs/templates/). Regenerate them with

    .venv/bin/python -m service.bookimport.template docs/templates
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Final

from ledger import chart
from ledger.opening_books import (
    COLUMNS,
    OPENING_CAPITAL_ACCOUNTS,
    OPENING_MONEY_ACCOUNTS,
    Sheet,
    check_books,
    rows_of,
)

Cell = str | int | date | None
SheetTable = list[list[Cell]]

NOTES_SHEET: Final = "_HuongDan"
NOTES: Final = (
    "Mẫu nhập sổ sách câu lạc bộ — clubfund import (docs/import.md)",
    "ThanhVien: mỗi dòng một thành viên. SoDuDauKy: số dư đầu ngày chuyển sổ (111, 112,"
    " 4111, 4112, 4113, 4114, 4118). KhoanVay: khoản vay đang còn, giải ngân trước ngày"
    " chuyển sổ. TraNo: các lần trả nợ đến nay.",
    "Ngày viết dd/mm/yyyy; số tiền là số đồng, không có phần lẻ; lãi suất viết theo %"
    " (0,8 là 0,8 %/tháng).",
    "Tiền mặt + tiền gửi + dư nợ cho vay tại ngày chuyển sổ = tổng nguồn vốn.",
)
SAMPLE_CUT_OVER: Final = date(2026, 1, 1)
SAMPLE_TODAY: Final = date(2026, 11, 30)


def headers(sheet: Sheet) -> list[Cell]:
    return [column.header for column in COLUMNS[sheet]]


def sample_sheets() -> dict[Sheet, SheetTable]:
    """A small club: six members, three loans in progress at the cut-over 01/01/2026 (one
    paid off since), their repayments before and after it; the retained surplus is what
    makes the opening balances balance."""
    members: SheetTable = [
        ["TV01", "Nguyễn Thị Lan", "Nữ", 1956, date(2023, 3, 2)],
        ["TV02", "Trần Văn Hùng", "Nam", 1950, date(2023, 3, 2)],
        ["TV03", "Lê Thị Hoa", "Nữ", 1962, date(2023, 5, 10)],
        ["TV04", "Phạm Thị Mai", "Nữ", 1958, None],
        ["TV05", "Võ Văn Nam", "Nam", 1948, date(2024, 1, 15)],
        ["TV06", "Đặng Thị Thu", "Nữ", 1965, date(2024, 6, 1)],
    ]
    loans: SheetTable = [
        ["KV01", "TV01", 6_000_000, 12, "Hàng tháng", "Cố định", "0,8", None,
         date(2025, 6, 5), date(2025, 7, 5), 1000, "Nuôi bò"],
        ["KV02", "TV03", 10_000_000, 12, "Hàng tháng", "Dư nợ giảm dần", "1", "0,04",
         date(2025, 9, 10), date(2025, 10, 10), 1000, "Buôn bán nhỏ"],
        ["KV03", "TV05", 3_000_000, 6, "Hàng tháng", "Cố định", "0,5", None,
         date(2025, 10, 1), date(2025, 11, 1), 1000, "Trồng rau"],
    ]
    repayments: SheetTable = []
    for month in range(7, 18):  # KV01: the instalment each month, July 2025 to May 2026
        year, month_of_year = 2025 + (month - 1) // 12, (month - 1) % 12 + 1
        repayments.append(["KV01", date(year, month_of_year, 5), 548_000, "Tiền mặt"])
    for month in range(10, 21):  # KV02: 900,000 a month, October 2025 to August 2026
        year, month_of_year = 2025 + (month - 1) // 12, (month - 1) % 12 + 1
        repayments.append(["KV02", date(year, month_of_year, 10), 900_000, "Chuyển khoản"])
    repayments += [["KV03", date(2025, 11, 1), 515_000, "Tiền mặt"],
                   ["KV03", date(2025, 12, 1), 515_000, "Tiền mặt"],
                   ["KV03", date(2026, 2, 20), 2_040_179, "Tiền mặt"]]
    opening: SheetTable = [
        [SAMPLE_CUT_OVER, chart.CASH, 4_250_000],
        [SAMPLE_CUT_OVER, chart.BANK, 12_800_000],
        [SAMPLE_CUT_OVER, chart.CAPITAL_DISTRICT_BUDGET, 20_000_000],
        [SAMPLE_CUT_OVER, chart.CAPITAL_COMMUNE_PROVINCE_BUDGET, 5_000_000],
        [SAMPLE_CUT_OVER, chart.CAPITAL_MEMBERS, 3_600_000],
    ]
    sheets = {Sheet.MEMBERS: members, Sheet.OPENING: opening, Sheet.LOANS: loans,
              Sheet.REPAYMENTS: repayments}
    opening.append([SAMPLE_CUT_OVER, chart.RETAINED_SURPLUS, balancing_surplus(sheets)])
    return sheets


def balancing_surplus(sheets: Mapping[Sheet, SheetTable]) -> int:
    """The retained surplus that makes the opening balances balance (cash + bank + loans
    owed at the cut-over − the other capital), from the core's own allocation."""
    books = check_books({sheet: rows_of(sheet, headers(sheet), table)
                         for sheet, table in sheets.items()}, SAMPLE_TODAY, balanced=False)
    money = sum(amount for code, amount in books.opening if code in OPENING_MONEY_ACCOUNTS)
    capital = sum(amount for code, amount in books.opening
                  if code in OPENING_CAPITAL_ACCOUNTS)
    return money + sum(loan.owed_at_cut_over for loan in books.loans) - capital


def blank_sheets() -> dict[Sheet, SheetTable]:
    return {sheet: [] for sheet in Sheet}


def write_workbook(path: Path, sheets: Mapping[Sheet, Sequence[Sequence[Cell]]]) -> None:
    """The sheets in the template's order, headers bold and frozen, dates dd/mm/yyyy, and
    a notes sheet (its name starts with `_`: the import skips it)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title = NOTES_SHEET
    for line in NOTES:
        notes.append([line])
    for sheet in Sheet:
        worksheet = workbook.create_sheet(sheet.value)
        worksheet.append(headers(sheet))
        for cell in worksheet[1]:
            cell.font = Font(bold=True)
        worksheet.freeze_panes = "A2"
        for row in sheets.get(sheet, ()):
            worksheet.append(list(row))
        for column in worksheet.columns:
            worksheet.column_dimensions[column[0].column_letter].width = 22
            for cell in column[1:]:
                if isinstance(cell.value, date):
                    cell.number_format = "DD/MM/YYYY"
                elif isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula
    workbook.save(path)


def csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    return str(value)


def write_csv_files(folder: Path, sheets: Mapping[Sheet, Sequence[Sequence[Cell]]]) -> None:
    """One UTF-8 CSV file per sheet, named after it."""
    folder.mkdir(parents=True, exist_ok=True)
    for sheet in Sheet:
        with (folder / f"{sheet.value}.csv").open("w", newline="", encoding="utf-8") as file:
            writer = csv.writer(file)
            writer.writerow(headers(sheet))
            writer.writerows([csv_cell(cell) for cell in row] for row in sheets.get(sheet, ()))


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path("docs/templates")
    folder.mkdir(parents=True, exist_ok=True)
    write_workbook(folder / "so-sach-trong.xlsx", blank_sheets())
    write_csv_files(folder / "trong", blank_sheets())
    sample = sample_sheets()
    write_workbook(folder / "so-sach-mau.xlsx", sample)
    write_csv_files(folder / "mau", sample)
    print(f"wrote the blank template and the sample books in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
