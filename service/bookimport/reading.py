"""Reading a club's books from the template's files: one XLSX workbook with the four
sheets, or one CSV file per sheet named after it (ThanhVien.csv, SoDuDauKy.csv,
KhoanVay.csv, TraNo.csv; UTF-8, comma-separated, the headers in the first line), or
both mixed. The cells go to the core (`ledger.opening_books`) as the file holds them."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

from ledger.opening_books import Sheet, SheetRows, rows_of

FILE_SIZE_MAX_BYTES: Final = 512 * 1024 * 1024
CSV_FIELD_SIZE_MAX: Final = 64 * 1024


class UnreadableBooks(Exception):
    """A file that is not the template (wrong kind, a sheet twice, too large)."""


def read_books(paths: Sequence[Path]) -> dict[Sheet, SheetRows]:
    """The template's sheets found in `paths` (XLSX workbooks and CSV files)."""
    sheets: dict[Sheet, SheetRows] = {}
    for path in paths:
        if not path.is_file():
            raise UnreadableBooks(f"{path}: no such file / không có tệp này")
        if path.stat().st_size > FILE_SIZE_MAX_BYTES:
            raise UnreadableBooks(f"{path}: larger than {FILE_SIZE_MAX_BYTES} bytes"
                                  f" / tệp lớn quá {FILE_SIZE_MAX_BYTES} byte")
        suffix = path.suffix.lower()
        if suffix == ".xlsx":
            found = list(read_workbook(path))
        elif suffix == ".csv":
            found = [read_csv(path)]
        else:
            raise UnreadableBooks(f"{path}: not .xlsx or .csv / không phải tệp .xlsx hoặc .csv")
        for rows in found:
            if rows.sheet in sheets:
                raise UnreadableBooks(f"{path}: sheet {rows.sheet.value} is given twice"
                                      f" / trang {rows.sheet.value} có hai lần")
            sheets[rows.sheet] = rows
    return sheets


def sheet_named(name: str, path: Path) -> Sheet:
    try:
        return Sheet(name)
    except ValueError:
        names = ", ".join(s.value for s in Sheet)
        raise UnreadableBooks(f"{path}: {name!r} is not a sheet of the template ({names})"
                              f" / {name!r} không phải trang của mẫu ({names})") from None


def read_workbook(path: Path) -> Iterable[SheetRows]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, OSError, KeyError, ValueError) as error:
        raise UnreadableBooks(f"{path}: not a readable XLSX workbook ({error})"
                              f" / không đọc được tệp XLSX") from None
    try:
        for worksheet in workbook.worksheets:
            if worksheet.title.startswith("_"):  # the template's notes
                continue
            rows = worksheet.iter_rows(values_only=True)
            headers = next(rows, ())
            yield rows_of(sheet_named(worksheet.title, path), headers, rows)
    finally:
        workbook.close()


def read_csv(path: Path) -> SheetRows:
    sheet = sheet_named(path.stem, path)
    csv.field_size_limit(CSV_FIELD_SIZE_MAX)
    try:
        with path.open(newline="", encoding="utf-8-sig") as file:
            rows = csv.reader(file)
            headers = next(rows, [])
            return rows_of(sheet, headers, rows)
    except (UnicodeDecodeError, csv.Error) as error:
        raise UnreadableBooks(f"{path}: not a UTF-8 CSV file ({error})"
                              f" / không phải tệp CSV UTF-8") from None
