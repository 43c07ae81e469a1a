"""Every file the service produces, written in one place: the same table as CSV
(UTF-8 with a byte-order mark, so that spreadsheet programs read Vietnamese
correctly) or as an XLSX workbook (`xlsx_workbook`) an auditor can hand in.

The XLSX sheet opens with a title block (the report or account, the club and its
commune, the period, when the file was generated, and the size and root hash of
the fund's audit log the figures were read at), then the table under a frozen
header row. Amounts are integers of minor units formatted `#,##0`, ratios are
percentages, dates are real date cells shown dd/mm/yyyy, and every column is as
wide as its longest value. The CSV is the table alone, for machines: ISO dates,
plain integers, ratios as decimal strings.

Text never becomes a formula: in CSV a cell that begins with `= + - @` or a tab is
prefixed with an apostrophe (what spreadsheet programs show as text), and in XLSX
every text cell is written as a string, with the few characters XML cannot carry
replaced, so that no stored text can make an export fail.

Which format: `?format=json|csv|xlsx` (one decoder for every exportable route; any
other value is 400 `unknown_format`), else the first of CSV or XLSX the `Accept`
header names, else JSON. Which language: see `club_file_language`.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from itertools import zip_longest
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import Depends, Header, Query, Response

from service.context import BUSINESS_TIMEZONE
from service.errors import UnknownExportFormat
from service.language import Language, language_of
from service.reports.xlsx_workbook import (
    SHEET_TITLE_LENGTH_MAX,
    CellStyle,
    ColumnFormat,
    RowFormat,
    Workbook,
)

CSV_MEDIA_TYPE: Final = "text/csv"
XLSX_MEDIA_TYPE: Final = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
EXPORT_RESPONSES: Final[dict[int | str, dict[str, Any]]] = {
    200: {"content": {CSV_MEDIA_TYPE: {}, XLSX_MEDIA_TYPE: {}},
          "description": "JSON, or CSV / XLSX as `format` (or the Accept header) asks"},
}

Cell = str | int | date | Decimal | None
# What a spreadsheet program would read as the start of a formula.
FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t")
# Column widths in characters: as wide as the longest value, within these bounds.
COLUMN_WIDTH_MIN: Final = 6
COLUMN_WIDTH_MAX: Final = 60
FILE_NAME_PART_LENGTH_MAX: Final = 40
REQUESTED_FORMAT_SHOWN_LENGTH_MAX: Final = 20  # of an unknown `format`, in the problem


class ExportFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


def export_format(accept: str | None, requested: str | None) -> ExportFormat:
    """`format=` wins (an unknown one is refused); otherwise the first of CSV or XLSX
    the Accept header names; otherwise JSON."""
    if requested is not None:
        try:
            return ExportFormat(requested)
        except ValueError:
            raise UnknownExportFormat(requested[:REQUESTED_FORMAT_SHOWN_LENGTH_MAX],
                                      [f.value for f in ExportFormat]) from None
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == CSV_MEDIA_TYPE:
            return ExportFormat.CSV
        if media == XLSX_MEDIA_TYPE:
            return ExportFormat.XLSX
    return ExportFormat.JSON


def requested_format(
    requested: Annotated[str | None, Query(
        alias="format", description="json, csv or xlsx; overrides the Accept header"
        " (handy for links); anything else is 400 `unknown_format`")] = None,
    accept: Annotated[str | None, Header()] = None,
) -> ExportFormat:
    return export_format(accept, requested)


Format = Annotated[ExportFormat, Depends(requested_format)]


def request_language(accept_language: Annotated[str | None, Header()] = None) -> Language:
    """`Accept-Language`; English without one (what API clients expect)."""
    return language_of(accept_language)


def club_file_language(
    export: Format, accept_language: Annotated[str | None, Header()] = None,
) -> Language:
    """A club's books as a file (CSV or XLSX) are Vietnamese unless the caller sends
    `Accept-Language`; as JSON they follow `Accept-Language` (English without one)."""
    if accept_language is None and export is not ExportFormat.JSON:
        return "vi"
    return language_of(accept_language)


def committee_language(accept_language: Annotated[str | None, Header()] = None) -> Language:
    """A report to a Vietnamese committee: Vietnamese unless the caller asks otherwise."""
    return "vi" if accept_language is None else language_of(accept_language)


RequestLanguage = Annotated[Language, Depends(request_language)]
ClubFileLanguage = Annotated[Language, Depends(club_file_language)]
CommitteeLanguage = Annotated[Language, Depends(committee_language)]


# --- the title block -------------------------------------------------------------------

TITLE_LABELS: Final[dict[str, tuple[str, str]]] = {
    "club": ("Club", "Câu lạc bộ"),
    "commune": ("Commune", "Xã"),
    "fund": ("Fund", "Quỹ"),
    "area": ("Area", "Địa bàn"),
    "period": ("Period", "Kỳ"),
    "as_of": ("As of", "Đến ngày"),
    "generated_at": ("Generated at", "Lập lúc"),
    "audit_size": ("Audit log: records", "Nhật ký kiểm toán: số bản ghi"),
    "audit_root": ("Audit log: root hash", "Nhật ký kiểm toán: mã băm gốc"),
    "audit_per_fund": ("Audit log: one per club's fund (sheet \"{sheet}\")",
                       "Nhật ký kiểm toán: mỗi quỹ của câu lạc bộ một nhật ký"
                       " (trang \"{sheet}\")"),
    "checkpoints": ("Audit logs", "Nhật ký kiểm toán"),
    "fund_id": ("Fund id", "Mã quỹ"),
}


def title_label(key: str, language: Language) -> str:
    english, vietnamese = TITLE_LABELS[key]
    return vietnamese if language == "vi" else english


@dataclass(frozen=True)
class Checkpoint:
    """A fund's audit log as the figures were read: its size and Merkle root."""

    tree_size: int
    root_hash: str


@dataclass(frozen=True)
class FundCheckpoint:
    """One club's fund and its log, for reports that span several clubs."""

    club: str
    fund_id: str
    checkpoint: Checkpoint


@dataclass(frozen=True)
class TitleBlock:
    """What an auditor needs to know above the figures. `start` is None for a report
    at one date (`end`); `checkpoint` is the single fund's log, `fund_checkpoints`
    every club's log of a report that spans an area (a second sheet)."""

    subject: str
    language: Language
    generated_at: datetime
    end: date
    start: date | None = None
    club: str | None = None
    commune: str | None = None
    fund: str | None = None
    area: str | None = None
    checkpoint: Checkpoint | None = None
    fund_checkpoints: list[FundCheckpoint] | None = None


@dataclass(frozen=True)
class Table:
    """A report as a table. `heading` (lines above the table), the title block and
    `footer` (rows below it: the signature block) go into the XLSX only; the CSV is
    the table alone, for machines. `percent_columns` hold ratios, `identifier_columns`
    numbers that are not amounts (sequence, instalment number): no thousands
    separator."""

    title: str
    headers: list[str]
    rows: list[list[Cell]]
    heading: list[str] = field(default_factory=list)
    footer: list[list[Cell]] = field(default_factory=list)
    title_block: TitleBlock | None = None
    percent_columns: frozenset[int] = frozenset()
    identifier_columns: frozenset[int] = frozenset()


def column_indices(keys: list[str], wanted: set[str]) -> frozenset[int]:
    return frozenset(n for n, key in enumerate(keys) if key in wanted)


# --- CSV -------------------------------------------------------------------------------


def _csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return str(value)


def to_csv(table: Table) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_text(value) for value in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


# --- XLSX ------------------------------------------------------------------------------

_TEXT_ROW: Final = RowFormat()
_TITLE_LINE: Final = RowFormat(rest=ColumnFormat(text=CellStyle.TITLE))
_HEADING_LINE: Final = RowFormat(rest=ColumnFormat(text=CellStyle.BOLD_NORMAL_SIZE))
_HEADER_ROW: Final = RowFormat(rest=ColumnFormat(text=CellStyle.BOLD))
# `label | value…`: the label bold, numbers (a log's size) as amounts.
_LABEL_ROW: Final = RowFormat(columns=(ColumnFormat(text=CellStyle.BOLD),),
                              rest=ColumnFormat(decimal=CellStyle.AMOUNT))


def _table_row_format(table: Table) -> RowFormat:
    """Ratios as percentages, identifiers without a thousands separator, other integers
    as amounts and decimals with up to two places."""
    def column(index: int) -> ColumnFormat:
        if index in table.percent_columns:
            return ColumnFormat(integer=CellStyle.PERCENT, decimal=CellStyle.PERCENT)
        if index in table.identifier_columns:
            return ColumnFormat(integer=CellStyle.IDENTIFIER, decimal=CellStyle.IDENTIFIER)
        return ColumnFormat()

    last = max((*table.percent_columns, *table.identifier_columns), default=-1)
    return RowFormat(columns=tuple(column(n) for n in range(last + 1)))


def _shown_width(table: Table, column: int, value: Cell) -> int:
    """About how many characters the value takes on screen."""
    if value is None:
        return 0
    if isinstance(value, date):
        return len("dd/mm/yyyy")
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return max((len(line) for line in str(value).splitlines()), default=0)
    if column in table.percent_columns:
        return len(f"{value * 100:.2f}%")
    if column in table.identifier_columns:
        return len(str(value))
    return len(f"{value:,}")


def column_widths(table: Table) -> list[int]:
    """Each column as wide as its header or its widest value. Of a column's integers only
    the largest and the smallest are measured (shown with separators, as identifiers or as
    percentages, an integer is never shorter than one nearer to zero), and each
    distinct text once."""
    widths = [len(header) for header in table.headers]
    for column, values in zip(range(len(widths)), zip_longest(*table.rows), strict=False):
        integers = [v for v in values if type(v) is int]
        texts = {v for v in values if type(v) is str}
        others = [v for v in values
                  if v is not None and type(v) is not int and type(v) is not str]
        measured = [*texts, *others, *((max(integers), min(integers)) if integers else ())]
        widths[column] = max([widths[column],
                              *(_shown_width(table, column, v) for v in measured)])
    return [min(COLUMN_WIDTH_MAX, max(COLUMN_WIDTH_MIN, w + 2)) for w in widths]


def checkpoint_sheet_title(language: Language) -> str:
    return title_label("checkpoints", language)[:SHEET_TITLE_LENGTH_MAX]


TitleRow = tuple[list[Cell], RowFormat]


def title_rows(block: TitleBlock) -> list[TitleRow]:
    """The title block: one `label | value…` row per fact (values in their own cells:
    dates as date cells, the log's size as a number)."""
    language = block.language
    rows: list[TitleRow] = [([block.subject], _TITLE_LINE)]

    def fact(key: str, *values: Cell) -> None:
        rows.append(([title_label(key, language), *values], _LABEL_ROW))

    for key, value in (("club", block.club), ("commune", block.commune),
                       ("fund", None if block.club else block.fund), ("area", block.area)):
        if value:
            fact(key, value)
    if block.start is None:
        fact("as_of", block.end)
    else:
        fact("period", block.start, block.end)
    local = block.generated_at.astimezone(BUSINESS_TIMEZONE).replace(tzinfo=None, microsecond=0)
    fact("generated_at", local)
    if block.checkpoint is not None:
        fact("audit_size", block.checkpoint.tree_size)
        fact("audit_root", block.checkpoint.root_hash)
    elif block.fund_checkpoints is not None:
        rows.append(([title_label("audit_per_fund", language).format(
            sheet=checkpoint_sheet_title(language))], _LABEL_ROW))
    return rows


def _checkpoints_table(block: TitleBlock) -> Table:
    language = block.language
    return Table(
        title=checkpoint_sheet_title(language),
        headers=[title_label(k, language) for k in ("club", "fund_id", "audit_size",
                                                      "audit_root")],
        rows=[[c.club, c.fund_id, c.checkpoint.tree_size, c.checkpoint.root_hash]
              for c in block.fund_checkpoints or []],
    )


def _add_sheet(workbook: Workbook, table: Table, above: list[TitleRow]) -> None:
    """`above` (heading and title block, then an empty row), the header row (frozen),
    the table, and the footer after an empty row."""
    header_row = len(above) + 1
    sheet = workbook.add_sheet(table.title, column_widths(table), frozen_rows=header_row)
    for values, row_format in above:
        if values:
            sheet.append(values, row_format)
        else:
            sheet.skip_rows()
    sheet.append(table.headers, _HEADER_ROW)
    row_format = _table_row_format(table)
    sheet.append_rows(table.rows, row_format)
    if table.footer:
        sheet.skip_rows()
        sheet.append_rows(table.footer, row_format)


def to_xlsx(table: Table) -> bytes:
    workbook = Workbook()
    above: list[TitleRow] = [
        ([line], _TITLE_LINE if number == 0 else _HEADING_LINE)
        for number, line in enumerate(table.heading)]
    block = table.title_block
    if block is not None:
        above.extend(title_rows(block))
    if above:
        above.append(([], _TEXT_ROW))
    _add_sheet(workbook, table, above)
    if block is not None and block.fund_checkpoints is not None:
        _add_sheet(workbook, _checkpoints_table(block), [])
    return workbook.to_bytes(title=table.title, creator="clubfund",
                             created=block.generated_at if block is not None else None)


# --- download names --------------------------------------------------------------------


def ascii_slug(text: str) -> str:
    """Lower-case ASCII words joined by `-` ("CLB LTH xã Tịnh Hà" → "clb-lth-xa-tinh-ha")."""
    plain = unicodedata.normalize("NFKD", text.replace("đ", "d").replace("Đ", "D"))
    plain = plain.encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:FILE_NAME_PART_LENGTH_MAX].strip("-")


def readable_part(text: str) -> str:
    """A name part as people write it, safe in a file name (no separators, no controls)."""
    cleaned = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", " ", text).strip()
    return re.sub(r"\s+", " ", cleaned)[:FILE_NAME_PART_LENGTH_MAX].strip() or "-"


@dataclass(frozen=True)
class DownloadName:
    """`<kind>_<owner>_<period>` (e.g. `so-quy_clb-lth-xa-tinh-ha_2026-10`): the kind
    and the period are ASCII already; the owner (club, area, member) is made ASCII in
    `filename` and kept as written in `filename*`."""

    kind: str
    owner: str
    period: str

    def ascii(self, suffix: str) -> str:
        parts = (self.kind, ascii_slug(self.owner) or "-", self.period)
        return "_".join(parts) + "." + suffix

    def readable(self, suffix: str) -> str:
        return "_".join((self.kind, readable_part(self.owner), self.period)) + "." + suffix

    def content_disposition(self, suffix: str) -> str:
        """RFC 6266: an ASCII `filename` for every client, `filename*` in UTF-8."""
        return (f'attachment; filename="{self.ascii(suffix)}";'
                f" filename*=UTF-8''{quote(self.readable(suffix), safe='')}")


def period_text(start: date | None, end: date) -> str:
    """`2026-10` for one calendar month, `2026` for one year, else `<start>_<end>`
    (`<end>` alone for a report at one date)."""
    if start is None:
        return end.isoformat()
    next_day = date.fromordinal(end.toordinal() + 1)
    if start.day == 1 and next_day.day == 1:
        if start.month == end.month and start.year == end.year:
            return f"{start:%Y-%m}"
        if (start.month, end.month, start.year) == (1, 12, end.year):
            return f"{start:%Y}"
    return f"{start.isoformat()}_{end.isoformat()}"


def file_response(table: Table, name: DownloadName, export: ExportFormat) -> Response:
    if export is ExportFormat.CSV:
        content, media_type, suffix = to_csv(table), CSV_MEDIA_TYPE + "; charset=utf-8", "csv"
    else:
        content, media_type, suffix = to_xlsx(table), XLSX_MEDIA_TYPE, "xlsx"
    return Response(
        content=content, media_type=media_type,
        headers={"Content-Disposition": name.content_disposition(suffix)},
    )
