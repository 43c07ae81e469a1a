"""An XLSX workbook (Office Open XML SpreadsheetML) written directly with the standard
library: a zip of a handful of fixed XML parts and one worksheet part per sheet.

Built for tables of tens of thousands of rows: a row is one string joined from
per-column templates made once per row format, with no object per cell. What it
writes is what the exports need and nothing else:

- text as inline strings (`t="inlineStr"`), with `& < >` escaped, a carriage return
  kept as `&#13;`, and the characters XML 1.0 cannot carry (control characters, lone
  surrogates, U+FFFE/U+FFFF) replaced by U+FFFD, so that no text makes a file invalid;
  a formula is never written, so text beginning with `=` stays text;
- integers exactly as written (`str(int)`), decimals as the nearest double, booleans;
- dates and date-times as Excel serial numbers (the 1900 date system) in a date format;
- a fixed set of cell styles (`CellStyle`): plain, the bold title and label fonts, and
  the number formats of amounts, identifiers, percentages, decimals and dates;
- column widths, rows frozen above the table, the document's title and creator.

The output is deterministic: the same sheets give the same bytes (fixed zip times).
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import IntEnum
from typing import Final
from xml.sax.saxutils import escape

Value = str | int | float | Decimal | date | None

AMOUNT_FORMAT: Final = "#,##0"
IDENTIFIER_FORMAT: Final = "0"
PERCENT_FORMAT: Final = "0.00%"
DECIMAL_FORMAT: Final = "#,##0.##"
DATE_FORMAT: Final = "dd/mm/yyyy"
DATE_TIME_FORMAT: Final = "dd/mm/yyyy hh:mm:ss"
# Characters XML 1.0 cannot carry: replaced by U+FFFD.
XML_ILLEGAL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# What Excel accepts.
ROWS_COUNT_MAX: Final = 1_048_576
COLUMNS_COUNT_MAX: Final = 16_384
SHEET_TITLE_LENGTH_MAX: Final = 31
SHEETS_COUNT_MAX: Final = 255
SHEET_TITLE_FORBIDDEN: Final = re.compile(r"[\[\]:*?/\\]")
COLUMN_WIDTH_MAX: Final = 255
ZIP_TIMESTAMP: Final = (1980, 1, 1, 0, 0, 0)
# zlib's fast strategy (levels 1-3): a third of level 6's time for a file a fifth larger
# (bench/xlsx_export.py); level 2 was as fast as 1 and a little smaller.
COMPRESS_LEVEL: Final = 2

# Day 0 of the 1900 date system as Excel counts (1899-12-30: Excel believes 1900-02-29
# existed, so serials before 1900-03-01 are one less).
EXCEL_EPOCH_ORDINAL: Final = date(1899, 12, 30).toordinal()
EXCEL_LEAP_BUG_SERIAL: Final = 60
SECONDS_PER_DAY: Final = 86_400


class CellStyle(IntEnum):
    """The cell formats of `xl/styles.xml`, by their index in `cellXfs`."""

    PLAIN = 0
    TITLE = 1  # bold, 14 pt
    BOLD_NORMAL_SIZE = 2  # bold, 11 pt (the lines under a title)
    BOLD = 3  # labels and column headers
    DATE = 4
    DATE_TIME = 5
    AMOUNT = 6
    PERCENT = 7
    IDENTIFIER = 8
    DECIMAL = 9


# (font id, number format id) of each CellStyle, in order. Built-in number formats keep
# their ids (3 `#,##0`, 10 `0.00%`, 1 `0`); ours are numbered from 164.
_NUMBER_FORMATS: Final = ((164, DECIMAL_FORMAT), (165, DATE_FORMAT), (166, DATE_TIME_FORMAT))
_CELL_FORMATS: Final = ((0, 0), (1, 0), (2, 0), (3, 0), (0, 165), (0, 166), (0, 3), (0, 10),
                        (0, 1), (0, 164))
_FONTS: Final = ('<font><sz val="11"/><name val="Calibri"/><family val="2"/>'
                 '<scheme val="minor"/></font>',
                 '<font><b val="1"/><sz val="14"/></font>',
                 '<font><b val="1"/><sz val="11"/></font>',
                 '<font><b val="1"/></font>')

MAIN_NAMESPACE: Final = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS_NAMESPACE: Final = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships")
PACKAGE_RELATIONSHIPS_NAMESPACE: Final = (
    "http://schemas.openxmlformats.org/package/2006/relationships")
XML_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def _styles_xml() -> str:
    number_formats = "".join(f'<numFmt numFmtId="{number}" formatCode="{escape(code)}"/>'
                             for number, code in _NUMBER_FORMATS)
    cell_formats = "".join(
        f'<xf numFmtId="{number}" fontId="{font}" fillId="0" borderId="0" xfId="0"'
        + (' applyFont="1"' if font else "") + (' applyNumberFormat="1"' if number else "")
        + "/>" for font, number in _CELL_FORMATS)
    return (
        f'{XML_DECLARATION}<styleSheet xmlns="{MAIN_NAMESPACE}">'
        f'<numFmts count="{len(_NUMBER_FORMATS)}">{number_formats}</numFmts>'
        f'<fonts count="{len(_FONTS)}">{"".join(_FONTS)}</fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        f'</cellStyleXfs><cellXfs count="{len(_CELL_FORMATS)}">{cell_formats}</cellXfs>'
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>")


STYLES_XML: Final = _styles_xml()


@dataclass(frozen=True)
class ColumnFormat:
    """How a column shows each kind of value (dates always in the date formats)."""

    text: CellStyle = CellStyle.PLAIN
    integer: CellStyle = CellStyle.AMOUNT
    decimal: CellStyle = CellStyle.DECIMAL


@dataclass(frozen=True)
class RowFormat:
    """`columns` from the first; every column after them as `rest`."""

    columns: tuple[ColumnFormat, ...] = ()
    rest: ColumnFormat = ColumnFormat()

    def column(self, index: int) -> ColumnFormat:
        return self.columns[index] if index < len(self.columns) else self.rest


def column_letter(index: int) -> str:
    """`A` for 0, `Z` for 25, `AA` for 26…"""
    letters = ""
    number = index + 1
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _style_attribute(style: CellStyle) -> str:
    return f' s="{int(style)}"' if style else ""


class _RowTemplates:
    """The fixed text around each kind of value, per column, for one row format:
    `<c r="B` + row number + `" s="6"><v>` + value + `</v></c>`."""

    def __init__(self, row_format: RowFormat) -> None:
        self.row_format = row_format
        self.letters: list[str] = []
        self.text: list[str] = []
        self.integer: list[str] = []
        self.decimal: list[str] = []

    def extend_to(self, count: int) -> None:
        if count > COLUMNS_COUNT_MAX:
            raise ValueError(f"a row of {count} cells: at most {COLUMNS_COUNT_MAX}")
        for index in range(len(self.letters), count):
            column = self.row_format.column(index)
            self.letters.append(f'<c r="{column_letter(index)}')
            self.text.append(f'"{_style_attribute(column.text)} t="inlineStr"><is>')
            self.integer.append(f'"{_style_attribute(column.integer)}><v>')
            self.decimal.append(f'"{_style_attribute(column.decimal)}><v>')


def inline_text(value: str) -> str:
    """`<t>` with the text escaped (and its spaces kept when it begins or ends with one)."""
    cleaned = XML_ILLEGAL.sub("\ufffd", value)
    escaped = escape(cleaned).replace("\r", "&#13;")
    if cleaned != cleaned.strip():
        return f'<t xml:space="preserve">{escaped}</t>'
    return f"<t>{escaped}</t>"


def excel_serial(value: date) -> int | float:
    """Days since 1899-12-30 (a date-time's time of day as the fraction), as Excel counts
    them; the wall-clock time of an aware date-time."""
    days = value.toordinal() - EXCEL_EPOCH_ORDINAL
    if 0 < days <= EXCEL_LEAP_BUG_SERIAL:
        days -= 1
    if not isinstance(value, datetime):
        return days
    seconds = (value.hour * 3600 + value.minute * 60 + value.second
               + value.microsecond / 1_000_000)
    return days + seconds / SECONDS_PER_DAY


_DATE_TAIL: Final = f'"{_style_attribute(CellStyle.DATE)}><v>'
_DATE_TIME_TAIL: Final = f'"{_style_attribute(CellStyle.DATE_TIME)}><v>'
_NUMBER_TAIL: Final = '"><v>'
_BOOLEAN_TAIL: Final = '" t="b"><v>'


class Worksheet:
    """One sheet: its rows are rendered as they are appended."""

    def __init__(self, title: str, column_widths: Sequence[float], frozen_rows: int) -> None:
        self.title = title
        self.column_widths = list(column_widths)
        self.frozen_rows = frozen_rows
        self._rows: list[str] = []
        self._next_row = 1
        self._templates: dict[RowFormat, _RowTemplates] = {}
        self._texts: dict[str, str] = {}

    def skip_rows(self, count: int = 1) -> None:
        """Leave `count` empty rows."""
        self._next_row += count

    def append(self, values: Sequence[Value], row_format: RowFormat = RowFormat()) -> None:
        self.append_rows((values,), row_format)

    def append_rows(self, rows: Iterable[Sequence[Value]], row_format: RowFormat) -> None:
        """Every row in the same format (a None or empty text is an empty cell)."""
        templates = self._templates.get(row_format)
        if templates is None:
            templates = self._templates[row_format] = _RowTemplates(row_format)
        letters, text_tails = templates.letters, templates.text
        integer_tails, decimal_tails = templates.integer, templates.decimal
        texts = self._texts
        output = self._rows.append
        number = self._next_row
        for values in rows:
            if number > ROWS_COUNT_MAX:
                raise ValueError(f"more than {ROWS_COUNT_MAX} rows in a sheet")
            if len(values) > len(letters):
                templates.extend_to(len(values))
            r = str(number)
            parts = [f'<row r="{r}">']
            cell = parts.append
            for column, value in enumerate(values):
                if type(value) is str:
                    if not value:
                        continue
                    text = texts.get(value)
                    if text is None:
                        text = texts[value] = inline_text(value)
                    cell(f"{letters[column]}{r}{text_tails[column]}{text}</is></c>")
                elif type(value) is int:
                    cell(f"{letters[column]}{r}{integer_tails[column]}{value}</v></c>")
                elif value is None:
                    continue
                else:
                    cell(self._other_cell(value, letters[column] + r, text_tails[column],
                                          integer_tails[column], decimal_tails[column]))
            parts.append("</row>")
            output("".join(parts))
            number += 1
        self._next_row = number

    def _other_cell(self, value: Value, start: str, text_tail: str, integer_tail: str,
                    decimal_tail: str) -> str:
        """Anything but a plain `str`, `int` or None: dates, decimals, booleans, floats,
        subclasses of text and integers (enums)."""
        if isinstance(value, datetime):
            return f"{start}{_DATE_TIME_TAIL}{excel_serial(value)!r}</v></c>"
        if isinstance(value, date):
            return f"{start}{_DATE_TAIL}{excel_serial(value)}</v></c>"
        if isinstance(value, bool):
            return f"{start}{_BOOLEAN_TAIL}{int(value)}</v></c>"
        if isinstance(value, int):
            return f"{start}{integer_tail}{int(value)}</v></c>"
        if isinstance(value, str):
            return f"{start}{text_tail}{inline_text(value)}</is></c>" if value else ""
        if isinstance(value, (Decimal, float)):
            number = float(value)  # beyond a double's range: infinite
            if not math.isfinite(number):
                return ""  # what a spreadsheet cannot hold is an empty cell
            tail = decimal_tail if isinstance(value, Decimal) else _NUMBER_TAIL
            return f"{start}{tail}{number!r}</v></c>"
        raise TypeError(f"a cell cannot hold {type(value).__name__}")

    def _head(self) -> str:
        view = ""
        if self.frozen_rows:
            top_left = f"A{self.frozen_rows + 1}"
            view = (f'<pane ySplit="{self.frozen_rows}" topLeftCell="{top_left}"'
                    ' activePane="bottomLeft" state="frozen"/>'
                    f'<selection pane="bottomLeft" activeCell="{top_left}"'
                    f' sqref="{top_left}"/>')
        columns = "".join(
            f'<col min="{n}" max="{n}" width="{min(width, COLUMN_WIDTH_MAX):g}"'
            ' customWidth="1"/>' for n, width in enumerate(self.column_widths, start=1))
        return (f'{XML_DECLARATION}<worksheet xmlns="{MAIN_NAMESPACE}"'
                f' xmlns:r="{RELATIONSHIPS_NAMESPACE}">'
                f'<sheetViews><sheetView workbookViewId="0">{view}</sheetView></sheetViews>'
                '<sheetFormatPr defaultRowHeight="15"/>'
                + (f"<cols>{columns}</cols>" if columns else "") + "<sheetData>")

    def to_xml(self) -> str:
        return "".join((self._head(), *self._rows, '</sheetData><pageMargins left="0.75"'
                        ' right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>'
                        "</worksheet>"))


def sheet_title(title: str, taken: Iterable[str]) -> str:
    """A title Excel accepts: at most 31 characters, none of `[ ] : * ? / \\` (each
    becomes a space), not beginning or ending with an apostrophe (or a space), not
    empty, unique in the workbook (case-insensitively)."""
    cleaned = SHEET_TITLE_FORBIDDEN.sub(" ", XML_ILLEGAL.sub("\ufffd", title)).strip(" '")
    cleaned = cleaned[:SHEET_TITLE_LENGTH_MAX].rstrip(" '") or "Sheet"
    used = {t.casefold() for t in taken}
    candidate, number = cleaned, 1
    while candidate.casefold() in used:
        suffix = str(number)
        candidate = cleaned[:SHEET_TITLE_LENGTH_MAX - len(suffix)] + suffix
        number += 1
    return candidate


def _w3c_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Workbook:
    """Sheets in order; `to_bytes` makes the file."""

    def __init__(self) -> None:
        self.sheets: list[Worksheet] = []

    def add_sheet(self, title: str, column_widths: Sequence[float] = (),
                  frozen_rows: int = 0) -> Worksheet:
        if len(self.sheets) >= SHEETS_COUNT_MAX:
            raise ValueError(f"more than {SHEETS_COUNT_MAX} sheets")
        sheet = Worksheet(sheet_title(title, (s.title for s in self.sheets)), column_widths,
                          frozen_rows)
        self.sheets.append(sheet)
        return sheet

    def to_bytes(self, title: str = "", creator: str = "",
                 created: datetime | None = None) -> bytes:
        """The package; `created` (an aware date-time) goes into the document's
        properties when given, so that the bytes depend on the sheets alone."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as package:
            def part(name: str, text: str) -> None:
                package.writestr(zipfile.ZipInfo(name, ZIP_TIMESTAMP), text.encode("utf-8"),
                                 compress_type=zipfile.ZIP_DEFLATED,
                                 compresslevel=COMPRESS_LEVEL)

            part("[Content_Types].xml", self._content_types())
            part("_rels/.rels", _package_relationships())
            part("docProps/core.xml", _core_properties(title, creator, created))
            part("xl/workbook.xml", self._workbook_xml())
            part("xl/_rels/workbook.xml.rels", self._workbook_relationships())
            part("xl/styles.xml", STYLES_XML)
            for number, sheet in enumerate(self.sheets, start=1):
                part(f"xl/worksheets/sheet{number}.xml", sheet.to_xml())
        return buffer.getvalue()

    def _content_types(self) -> str:
        sheets = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for n in range(1, len(self.sheets) + 1))
        return (
            f'{XML_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
            'content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/core.xml" ContentType="application/'
            f'vnd.openxmlformats-package.core-properties+xml"/>{sheets}</Types>')

    def _workbook_xml(self) -> str:
        sheets = "".join(
            f'<sheet name={_attribute(sheet.title)} sheetId="{n}" r:id="rId{n}"/>'
            for n, sheet in enumerate(self.sheets, start=1))
        return (f'{XML_DECLARATION}<workbook xmlns="{MAIN_NAMESPACE}"'
                f' xmlns:r="{RELATIONSHIPS_NAMESPACE}"><bookViews><workbookView/></bookViews>'
                f"<sheets>{sheets}</sheets></workbook>")

    def _workbook_relationships(self) -> str:
        kind = RELATIONSHIPS_NAMESPACE + "/"
        sheets = "".join(
            f'<Relationship Id="rId{n}" Type="{kind}worksheet"'
            f' Target="worksheets/sheet{n}.xml"/>' for n in range(1, len(self.sheets) + 1))
        styles = (f'<Relationship Id="rId{len(self.sheets) + 1}" Type="{kind}styles"'
                  ' Target="styles.xml"/>')
        return (f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS_NAMESPACE}">'
                f"{sheets}{styles}</Relationships>")


def _attribute(text: str) -> str:
    """A quoted XML attribute value."""
    cleaned = XML_ILLEGAL.sub("\ufffd", text)
    return '"' + escape(cleaned, {'"': "&quot;", "\n": "&#10;", "\r": "&#13;",
                                  "\t": "&#9;"}) + '"'


def _package_relationships() -> str:
    return (f'{XML_DECLARATION}<Relationships xmlns="{PACKAGE_RELATIONSHIPS_NAMESPACE}">'
            f'<Relationship Id="rId1" Type="{RELATIONSHIPS_NAMESPACE}/officeDocument"'
            ' Target="xl/workbook.xml"/>'
            f'<Relationship Id="rId2" Type="{PACKAGE_RELATIONSHIPS_NAMESPACE}/metadata/'
            'core-properties" Target="docProps/core.xml"/></Relationships>')


def _core_properties(title: str, creator: str, created: datetime | None) -> str:
    def text(value: str) -> str:
        return escape(XML_ILLEGAL.sub("\ufffd", value)).replace("\r", "&#13;")

    times = ""
    if created is not None:
        moment = _w3c_time(created)
        times = (f'<dcterms:created xsi:type="dcterms:W3CDTF">{moment}</dcterms:created>'
                 f'<dcterms:modified xsi:type="dcterms:W3CDTF">{moment}</dcterms:modified>')
    return (
        f"{XML_DECLARATION}<cp:coreProperties"
        ' xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{text(title)}</dc:title><dc:creator>{text(creator)}</dc:creator>"
        f"{times}</cp:coreProperties>")
