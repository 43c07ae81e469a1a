"""XLSX export: the time to write a programme-sized workbook, by the service's own
SpreadsheetML writer (`service/reports/xlsx_workbook.py`, what `to_xlsx` uses) and by
openpyxl in write-only mode with a styled cell per value (how `to_xlsx` wrote it before,
kept here only as the baseline).

No database: the table is built in memory like the programme report of a province of
10,000 clubs — `--rows` rows (default 11,000: clubs, communes, districts, the province)
of the programme's own 50 columns (labels, area codes, Vietnamese names, dates,
amounts, counts, ratios, empty cells), the committee's heading, title block and
signature rows, and the second sheet of every club's audit log (`--clubs` rows). Each
writer writes the same table `--samples` times (after one warm-up); the best and the
median seconds are printed, and the ratio. With `--compare` both files are read back
with openpyxl and every cell's value and number format compared.

    .venv/bin/python bench/xlsx_export.py [--rows 11000] [--clubs 10000] [--samples 3]
        [--compare]
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from openpyxl import Workbook, load_workbook  # noqa: E402
from openpyxl.cell import WriteOnlyCell  # noqa: E402
from openpyxl.styles import Font  # noqa: E402
from openpyxl.utils import get_column_letter  # noqa: E402

from service.programme.service import PROGRAMME_COLUMNS  # noqa: E402
from service.reports.exports import (  # noqa: E402
    Cell,
    Checkpoint,
    FundCheckpoint,
    Table,
    TitleBlock,
    checkpoint_sheet_title,
    column_indices,
    column_widths,
    title_label,
    title_rows,
    to_xlsx,
)
from service.reports.service import RATIO_COLUMNS  # noqa: E402
from service.reports.xlsx_workbook import (  # noqa: E402
    AMOUNT_FORMAT,
    DATE_FORMAT,
    DATE_TIME_FORMAT,
    DECIMAL_FORMAT,
    IDENTIFIER_FORMAT,
    PERCENT_FORMAT,
    XML_ILLEGAL,
)

TEXT_COLUMNS = {"level", "area_code", "area_name", "decision_numbers"}
DATE_COLUMNS = {"established_on"}
COUNT_HINTS = ("clubs", "members", "days", "target_new", "active_month", "wait")
WORDS = ["Câu lạc bộ", "Liên thế hệ", "Tự giúp nhau", "xã", "Tịnh Hà", "Nghĩa Hành",
         "Đức Phổ", "thôn", "Phước Lộc", "Bình Sơn", "Ba Tơ", "Sơn Tịnh", "&", "Hội NCT"]


def programme_like_table(rows_count: int, clubs_count: int, seed: int = 20261201) -> Table:
    """A province's programme report as `programme_table` builds it, with made-up
    figures in the programme's own columns."""
    rng = random.Random(seed)
    rows: list[list[Cell]] = []
    for number in range(rows_count):
        club = number % 11 != 0  # one row in eleven an area's total
        row: list[Cell] = []
        for key in PROGRAMME_COLUMNS:
            if key == "level":
                row.append("Câu lạc bộ" if club else rng.choice(["Xã", "Huyện", "Tỉnh"]))
            elif key == "area_code":
                row.append(f"51{rng.randrange(100, 999)}{number:05d}")
            elif key == "area_name":
                row.append(" ".join(rng.choices(WORDS, k=rng.randrange(3, 7))))
            elif key == "decision_numbers":
                row.append("; ".join(f"{rng.randrange(1, 999)}/QĐ-UBND"
                                     for _ in range(rng.randrange(0, 3))) or None)
            elif key in DATE_COLUMNS:
                row.append(date(2024, 1, 1) + timedelta(days=rng.randrange(366))
                           if club else None)
            elif key in RATIO_COLUMNS:
                row.append(Decimal(rng.randrange(0, 10_000)) / 10_000
                           if rng.random() > 0.05 else None)
            elif any(hint in key for hint in COUNT_HINTS):
                row.append(rng.randrange(0, 60) if rng.random() > 0.1 else None)
            else:  # an amount of đồng
                row.append(rng.randrange(-5_000_000, 900_000_000_000))
        rows.append(row)
    block = TitleBlock(
        subject="Báo cáo chương trình", language="vi",
        generated_at=datetime(2026, 11, 30, 9, 30, tzinfo=UTC), end=date(2025, 12, 31),
        start=date(2025, 1, 1), area="Tỉnh Quảng Ngãi",
        fund_checkpoints=[FundCheckpoint(f"CLB LTH số {n}", f"{n:032x}",
                                         Checkpoint(rng.randrange(1, 5_000), f"{n:064x}"))
                          for n in range(clubs_count)])
    footer: list[list[Cell]] = [
        [None, None, None, None, None, None, "Quảng Ngãi, ngày ... tháng ... năm ..."],
        [None, "Người lập biểu", None, None, None, None, "Trưởng phòng"],
        [None, "(Ký, ghi rõ họ tên)", None, None, None, None, "(Ký tên, đóng dấu)"],
    ]
    return Table(title="Báo cáo chương trình", headers=list(PROGRAMME_COLUMNS), rows=rows,
                 heading=["BÁO CÁO KẾT QUẢ THỰC HIỆN ĐỀ ÁN", "Năm 2025", "Địa bàn: tỉnh"],
                 footer=footer, title_block=block,
                 percent_columns=column_indices(PROGRAMME_COLUMNS, RATIO_COLUMNS))


# --- the baseline: openpyxl write-only, a styled cell per value (to_xlsx before) ------


def _text_cell(sheet: Any, value: str, font: Font | None = None) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=XML_ILLEGAL.sub("\ufffd", value))
    cell.data_type = "s"
    if font is not None:
        cell.font = font
    return cell


def _typed_cell(sheet: Any, value: Any, number_format: str) -> Any:
    if isinstance(value, str):
        return _text_cell(sheet, value)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, datetime):
        cell.number_format = DATE_TIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    else:
        cell.number_format = number_format
    return cell


def _value_cell(sheet: Any, table: Table, column: int, value: Cell) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, date, int, Decimal)):
        return value
    if column in table.percent_columns:
        number_format = PERCENT_FORMAT
    elif column in table.identifier_columns:
        number_format = IDENTIFIER_FORMAT
    else:
        number_format = DECIMAL_FORMAT if isinstance(value, Decimal) else AMOUNT_FORMAT
    return _typed_cell(sheet, value, number_format)


def _openpyxl_sheet(workbook: Any, table: Table, above: list[list[Any]]) -> None:
    sheet = workbook.create_sheet(title=table.title[:31])
    for column, width in enumerate(column_widths(table), start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.freeze_panes = f"A{len(above) + 2}"
    for row in above:
        sheet.append([_text_cell(sheet, v, Font(bold=True)) if i == 0 and isinstance(v, str)
                      else _typed_cell(sheet, v, AMOUNT_FORMAT) for i, v in enumerate(row)])
    sheet.append([_text_cell(sheet, h, Font(bold=True)) for h in table.headers])
    for values in table.rows:
        sheet.append([_value_cell(sheet, table, n, v) for n, v in enumerate(values)])
    if table.footer:
        sheet.append([])
    for values in table.footer:
        sheet.append([_value_cell(sheet, table, n, v) for n, v in enumerate(values)])


def openpyxl_xlsx(table: Table) -> bytes:
    """The table as openpyxl's write-only workbook wrote it (heading, title facts, the
    table, the footer, the audit logs' sheet)."""
    workbook = Workbook(write_only=True)
    block = table.title_block
    assert block is not None
    above: list[list[Any]] = [[line] for line in table.heading]
    above += [values for values, _ in title_rows(block)] + [[]]
    _openpyxl_sheet(workbook, table, above)
    language = block.language
    logs = Table(title=checkpoint_sheet_title(language),
                 headers=[title_label(k, language) for k in ("club", "fund_id", "audit_size",
                                                               "audit_root")],
                 rows=[[c.club, c.fund_id, c.checkpoint.tree_size, c.checkpoint.root_hash]
                       for c in block.fund_checkpoints or []])
    _openpyxl_sheet(workbook, logs, [])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- measuring ----------------------------------------------------------------------


def timed(write: Callable[[Table], bytes], table: Table, samples: int) -> tuple[list[float],
                                                                                bytes]:
    content = write(table)  # warm-up
    seconds = []
    for _ in range(samples):
        started = time.perf_counter()
        content = write(table)
        seconds.append(time.perf_counter() - started)
    return seconds, content


def cells(content: bytes) -> list[list[tuple[Any, str]]]:
    sheets = load_workbook(io.BytesIO(content), read_only=True).worksheets
    return [[(c.value, c.number_format if c.value is not None else "")
             for row in sheet.iter_rows() for c in row if c.value is not None]
            for sheet in sheets]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=11_000)
    parser.add_argument("--clubs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=3)
    parser.add_argument("--compare", action="store_true")
    arguments = parser.parse_args()
    table = programme_like_table(arguments.rows, arguments.clubs)
    print(f"table: {len(table.rows):,} rows x {len(table.headers)} columns, audit logs sheet "
          f"{arguments.clubs:,} rows; load average {os.getloadavg()[0]:.2f}", flush=True)
    results = {}
    for name, write in (("openpyxl write-only, a styled cell per value (before)",
                         openpyxl_xlsx),
                        ("xlsx_workbook, rows joined from column templates (to_xlsx)",
                         to_xlsx)):
        results[name] = timed(write, table, arguments.samples)
    print("\n| writer | runs | best s | median s | file bytes |")
    print("|---|---:|---:|---:|---:|")
    for name, (seconds, content) in results.items():
        print(f"| {name} | {len(seconds)} | {min(seconds):.2f} | "
              f"{statistics.median(seconds):.2f} | {len(content):,} |")
    (before, old), (now, new) = results.values()
    ratio = statistics.median(before) / statistics.median(now)
    print(f"\nopenpyxl / xlsx_workbook, median: {ratio:.1f}x; load average"
          f" {os.getloadavg()[0]:.2f}")
    if arguments.compare:
        same = cells(old) == cells(new)
        print(f"every cell's value and number format the same: {same}")
        if not same:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
