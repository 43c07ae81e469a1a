"""The XLSX writer: a workbook it writes, read back with openpyxl, holds every cell's value,
type, number format and font; the package is a valid zip of well-formed XML; random
tables read back equal."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, timedelta
from decimal import Decimal
from xml.etree import ElementTree

import openpyxl
from hypothesis import given, settings
from hypothesis import strategies as st

from service.reports.exports import (
    Cell,
    Table,
    TitleBlock,
    _shown_width,
    column_widths,
    to_xlsx,
)
from service.reports.xlsx_workbook import (
    SHEET_TITLE_LENGTH_MAX,
    XML_ILLEGAL,
    CellStyle,
    ColumnFormat,
    RowFormat,
    Workbook,
    column_letter,
    sheet_title,
)

HEADERS = ["Tên", "Số tiền", "Mã số", "Tỷ lệ", "Ngày", "Ghi chú"]
TEXTS = ["Câu lạc bộ Liên thế hệ Tự giúp nhau xã Tịnh Hà", "A & B < C > D \" ' E",
         "=SUM(A1)", "  lề hai bên  ", "dòng một\r\ndòng hai\nba\tbốn", "điều khiển\x01\x1f",
         "nửa \ud800 cặp", "x005F_ và _x0041_"]
ROWS: list[list[Cell]] = [
    [TEXTS[0], 123_456_789_012_345_678, 1, Decimal("0.1234"), date(2026, 11, 30), TEXTS[1]],
    [TEXTS[2], -1_500_000, 999_999_999_999_999, Decimal(0), date(1900, 3, 1), None],
    [TEXTS[3], -(10**20), None, Decimal("1"), datetime(2026, 1, 2, 3, 4, 5), TEXTS[4]],
    [TEXTS[5], 0, 42, None, None, TEXTS[6]],
    [None, Decimal("-1234.5"), 7, Decimal("-0.0005"), date(2024, 2, 29), ""],
    [TEXTS[7], None, None, None, None, None],
]
GENERATED_AT = datetime.fromisoformat("2026-11-30T03:04:05.678+00:00")


def every_kind_table() -> Table:
    block = TitleBlock(subject="Báo cáo <thử> & kiểm", language="vi",
                       generated_at=GENERATED_AT, end=date(2026, 10, 31),
                       start=date(2026, 1, 1), club="CLB LTH xã Tịnh Hà", commune="Tịnh Hà")
    return Table(title="Bảng thử: đủ loại ô", headers=HEADERS,
                 rows=[list(row) for row in ROWS],
                 heading=["Tiêu đề", "Dòng phụ"], footer=[[None, "Người lập", None, "Ký tên"]],
                 title_block=block, percent_columns=frozenset({3}),
                 identifier_columns=frozenset({2}))


def read(content: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(content))


def shown(value: object) -> object:
    """What openpyxl reads back for a value written into a cell."""
    if isinstance(value, str):
        return XML_ILLEGAL.sub("\ufffd", value) or None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, Decimal):
        return float(value)
    return value


def test_a_table_with_every_kind_of_cell_reads_back_with_its_types_and_formats():
    content = to_xlsx(every_kind_table())
    workbook = read(content)
    assert workbook.sheetnames == ["Bảng thử  đủ loại ô"]  # no ":" in a sheet's title
    assert workbook.properties.title == "Bảng thử: đủ loại ô"
    assert workbook.properties.creator == "clubfund"
    sheet = workbook.worksheets[0]
    header_row = int(sheet.freeze_panes[1:]) - 1
    assert header_row == 9  # 2 heading lines, the subject, 4 facts, an empty row
    top = [[c for c in row if c.value is not None] for row in sheet.iter_rows(max_row=8)]
    assert [(c.value, c.font.b, c.font.sz) for c in top[0] + top[1] + top[2]] == [
        ("Tiêu đề", True, 14), ("Dòng phụ", True, 11), ("Báo cáo <thử> & kiểm", True, 14)]
    facts = {row[0].value: row[1:] for row in top[3:] if row}
    assert list(facts) == ["Câu lạc bộ", "Xã", "Kỳ", "Lập lúc"]
    assert all(sheet.cell(r, 1).font.b for r in range(4, 8))
    assert [c.value for c in facts["Câu lạc bộ"]] == ["CLB LTH xã Tịnh Hà"]
    assert [(c.value, c.number_format) for c in facts["Kỳ"]] == [
        (datetime(2026, 1, 1), "dd/mm/yyyy"), (datetime(2026, 10, 31), "dd/mm/yyyy")]
    assert [(c.value, c.number_format) for c in facts["Lập lúc"]] == [
        (datetime(2026, 11, 30, 10, 4, 5), "dd/mm/yyyy hh:mm:ss")]
    assert top[7] == []
    header = list(sheet[header_row])
    assert [(c.value, c.data_type, c.font.b) for c in header] == [
        (h, "s", True) for h in HEADERS]
    formats = {0: "General", 1: "#,##0", 2: "0", 3: "0.00%", 5: "General"}
    for offset, expected in enumerate(ROWS, start=1):
        cells = list(sheet[header_row + offset])
        for column, value in enumerate(expected):
            cell = cells[column]
            assert cell.value == shown(value), (offset, column)
            assert not cell.font.b
            if shown(value) is None:
                continue
            if isinstance(value, str):
                assert cell.data_type == "s"
            elif isinstance(value, date):
                assert cell.is_date and cell.number_format == (
                    "dd/mm/yyyy hh:mm:ss" if isinstance(value, datetime) else "dd/mm/yyyy")
            else:
                assert cell.data_type == "n"
                number_format = formats[column]
                if column == 1 and isinstance(value, Decimal):
                    number_format = "#,##0.##"
                assert cell.number_format == number_format, (offset, column)
    assert sheet.cell(header_row + 1, 2).value == 123_456_789_012_345_678  # every digit
    assert sheet.cell(header_row + 3, 6).value == "dòng một\r\ndòng hai\nba\tbốn"
    assert sheet.cell(header_row + 4, 1).value == "điều khiển\ufffd\ufffd"
    footer = list(sheet.iter_rows(min_row=header_row + len(ROWS) + 1, values_only=True))
    assert footer == [(None,) * 6, (None, "Người lập", None, "Ký tên", None, None)]
    widths = [sheet.column_dimensions[column_letter(n)].width for n in range(6)]
    assert widths == column_widths(every_kind_table())


def test_the_package_is_a_valid_zip_of_well_formed_xml_and_the_same_every_time():
    content = to_xlsx(every_kind_table())
    package = zipfile.ZipFile(io.BytesIO(content))
    assert package.testzip() is None
    names = package.namelist()
    assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml",
            "xl/_rels/workbook.xml.rels", "xl/worksheets/sheet1.xml",
            "docProps/core.xml"} <= set(names)
    for name in names:
        ElementTree.fromstring(package.read(name))
    assert {info.date_time for info in package.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert to_xlsx(every_kind_table()) == content


def test_every_style_reads_back_as_its_font_and_number_format():
    workbook = Workbook()
    sheet = workbook.add_sheet("styles")
    styles = list(CellStyle)
    for style in styles:
        sheet.append(["text", 12, Decimal("1.5")],
                     RowFormat(rest=ColumnFormat(text=style, integer=style, decimal=style)))
    read_back = read(workbook.to_bytes()).worksheets[0]
    expected = {CellStyle.PLAIN: (False, 11, "General"), CellStyle.TITLE: (True, 14, "General"),
                CellStyle.BOLD_NORMAL_SIZE: (True, 11, "General"),
                CellStyle.BOLD: (True, None, "General"),
                CellStyle.DATE: (False, 11, "dd/mm/yyyy"),
                CellStyle.DATE_TIME: (False, 11, "dd/mm/yyyy hh:mm:ss"),
                CellStyle.AMOUNT: (False, 11, "#,##0"),
                CellStyle.PERCENT: (False, 11, "0.00%"),
                CellStyle.IDENTIFIER: (False, 11, "0"),
                CellStyle.DECIMAL: (False, 11, "#,##0.##")}
    assert set(expected) == set(styles)
    for row, style in enumerate(styles, start=1):
        cell = read_back.cell(row, 2)
        assert (bool(cell.font.b), cell.font.sz, cell.number_format) == expected[style], style


def test_sheet_titles_are_ones_excel_accepts():
    assert sheet_title("Sổ: [quỹ] */?\\", []) == "Sổ   quỹ"
    assert sheet_title("'", []) == "Sheet"
    assert sheet_title("x" * 40, []) == "x" * SHEET_TITLE_LENGTH_MAX
    assert sheet_title("Nhật ký", ["nhật ký"]) == "Nhật ký1"
    workbook = Workbook()
    for title in ("a\x01b", "a\x01b", "q\"<&>"):
        workbook.add_sheet(title)
    assert read(workbook.to_bytes()).sheetnames == ["a\ufffdb", "a\ufffdb1", "q\"<&>"]


def test_what_a_spreadsheet_cannot_hold_is_an_empty_cell():
    workbook = Workbook()
    sheet = workbook.add_sheet("t")
    sheet.append([Decimal("NaN"), Decimal("1e400"), float("inf"), float("nan"), 1.5, "end"])
    read_back = read(workbook.to_bytes()).worksheets[0]
    assert [c.value for c in read_back[1]] == [None, None, None, None, 1.5, "end"]


def test_column_letters():
    assert [column_letter(n) for n in (0, 25, 26, 51, 52, 701, 702, 16_383)] == [
        "A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]


CELLS = st.one_of(
    st.none(),
    st.text(max_size=30),
    st.text(alphabet=st.characters(codec="utf-8", max_codepoint=0x3000), max_size=10),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.decimals(allow_nan=False, allow_infinity=False, places=4,
                min_value=Decimal("-1e12"), max_value=Decimal("1e12")),
    st.dates(min_value=date(1900, 3, 1)),
    st.datetimes(min_value=datetime(1900, 3, 1)).map(lambda t: t.replace(microsecond=0)),
    st.booleans(),
)


@settings(max_examples=60, deadline=timedelta(seconds=5))
@given(rows=st.lists(st.lists(CELLS, max_size=8), max_size=12),
       widths=st.lists(st.integers(min_value=1, max_value=255), max_size=8),
       frozen=st.integers(min_value=0, max_value=20))
def test_random_tables_read_back_equal(rows, widths, frozen):
    workbook = Workbook()
    sheet = workbook.add_sheet("t", widths, frozen_rows=frozen)
    sheet.append_rows(rows, RowFormat())
    content = workbook.to_bytes()
    assert zipfile.ZipFile(io.BytesIO(content)).testzip() is None
    read_back = read(content).worksheets[0]
    for number, row in enumerate(rows, start=1):
        assert [read_back.cell(number, column).value for column in range(1, len(row) + 1)] == [
            shown(value) for value in row]
    assert read_back.freeze_panes == (f"A{frozen + 1}" if frozen else None)
    assert [read_back.column_dimensions[column_letter(n)].width
            for n in range(len(widths))] == widths


TABLE_CELLS = st.one_of(
    st.none(), st.text(max_size=12), st.integers(min_value=-(10**18), max_value=10**18),
    st.decimals(allow_nan=False, allow_infinity=False, places=3,
                min_value=Decimal("-1e9"), max_value=Decimal("1e9")),
    st.dates(),
)


@settings(max_examples=100)
@given(rows=st.lists(st.lists(TABLE_CELLS, max_size=6), max_size=15),
       percent=st.frozensets(st.integers(min_value=0, max_value=5)),
       identifier=st.frozensets(st.integers(min_value=0, max_value=5)))
def test_a_columns_width_is_that_of_its_widest_value(rows, percent, identifier):
    table = Table(title="t", headers=["a", "bb", "", "dddddddd", "e", "f"], rows=rows,
                  percent_columns=percent, identifier_columns=identifier - percent)
    widest = [len(header) for header in table.headers]
    for row in rows:
        for column, value in enumerate(row):
            widest[column] = max(widest[column], _shown_width(table, column, value))
    assert column_widths(table) == [min(60, max(6, width + 2)) for width in widest]
