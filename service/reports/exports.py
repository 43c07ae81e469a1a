"""Reports as files: the same table as CSV (UTF-8 with a byte-order mark, so that
spreadsheet programs read Vietnamese correctly) or as an XLSX workbook (openpyxl).

Amounts stay integers of minor units, dates are ISO dates in CSV and date cells in
XLSX, ratios are decimal strings in CSV and numbers in XLSX.

Text never becomes a formula: in CSV a cell that begins with `= + - @` or a tab is
prefixed with an apostrophe (what spreadsheet programs show as text), and in XLSX
every text cell is written as a string, with the few characters XML cannot carry
replaced, so that no stored text can make an export fail.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from fastapi import Response
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

CSV_MEDIA_TYPE: Final = "text/csv"
XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {CSV_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}},
          "description": "JSON, or CSV / XLSX as the Accept header (or `format`) asks"},
}

Cell = str | int | date | Decimal | None
# What a spreadsheet program would read as the start of a formula.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t")
# Characters XML 1.0 cannot carry (an XLSX is XML): replaced by U+FFFD.
XML_ILLEGAL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


def export_format(accept: str | None, requested: ExportFormat | None) -> ExportFormat:
    """`format=` wins; otherwise the first of CSV or XLSX the Accept header names."""
    if requested is not None:
        return requested
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == CSV_MEDIA_TYPE:
            return ExportFormat.CSV
        if media == XLSX_MEDIA_TYPE:
            return ExportFormat.XLSX
    return ExportFormat.JSON


@dataclass(frozen=True)
class Table:
    """A report as a table. `heading` (lines above the table: title, period, area) and
    `footer` (rows below it: the signature block) go into the XLSX only; the CSV is the
    table alone, for machines."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]
    heading: list[str] = field(default_factory=list)
    footer: list[list[Cell]] = field(default_factory=list)


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return str(value)


def _xlsx_text(sheet: Any, value: str) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=XML_ILLEGAL.sub("\ufffd", value))
    cell.data_type = "s"  # text, even when it begins with "="
    return cell


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(table: Table) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.title[:31])
    for number, line in enumerate(table.heading):
        cell = WriteOnlyCell(sheet, value=line)
        cell.font = Font(bold=True, size=14 if number == 0 else 11)
        sheet.append([cell])
    if table.heading:
        sheet.append([])
    header_cells = []
    for header in table.headers:
        cell = _xlsx_text(sheet, header)
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in table.rows:
        cells: list[object] = []
        for value in row:
            if isinstance(value, date):
                cell = WriteOnlyCell(sheet, value=value)
                cell.number_format = "yyyy-mm-dd"
                cells.append(cell)
            elif isinstance(value, Decimal):
                cells.append(float(value))
            elif isinstance(value, str):
                cells.append(_xlsx_text(sheet, value))
            else:
                cells.append(value)
        sheet.append(cells)
    if table.footer:
        sheet.append([])
    for footer_row in table.footer:
        sheet.append(list(footer_row))
    workbook.properties.title = table.title
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def file_response(table: Table, export: ExportFormat, filename: str) -> Response:
    if export is ExportFormat.CSV:
        content, media_type, suffix = to_csv(table), CSV_MEDIA_TYPE + "; charset=utf-8", "csv"
    else:
        content, media_type, suffix = to_xlsx(table), XLSX_MEDIA_TYPE, "xlsx"
    return Response(
        content=content, media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}.{suffix}"'},
    )

