"""Books import: journal entries per second that `clubfund import` writes, against
pgbench's TPC-B on the same server in the same run.

Starts a private embedded PostgreSQL (durable defaults: fsync and synchronous_commit
on), measures pgbench's built-in TPC-B transaction, then generates a club's books in the
template's CSV form — `--loans` loans (one member each) paid out in the last quarter of
2024, 24 monthly instalments at 0.8 % flat, each instalment paid on its due date up to
30/11/2026, cut-over 01/01/2025 — and imports them into an empty club fund: reading the
files, checking every row, building the records and writing them through COPY in one
transaction. Entries per second = journal entries written (the opening entry and every
repayment on or after the cut-over) / the import's wall time, files to COMMIT. The
default 5,000 loans make 113,264 entries (a club's many years of books); the machine's
load average is printed before and after.

    .venv/bin/python bench/import_books.py [--loans 5000] [--seconds 15] [--clients 16]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger import chart  # noqa: E402
from ledger.loans import Frequency, InterestMethod, LoanTerms, build_schedule  # noqa: E402
from ledger.opening_books import Sheet  # noqa: E402
from service.bookimport.service import ImportSummary, import_files  # noqa: E402
from service.bookimport.template import (  # noqa: E402
    SheetTable,
    balancing_surplus,
    write_csv_files,
)

CUT_OVER = date(2025, 1, 1)
LAST_DAY = date(2026, 11, 30)
INSTALLMENTS = 24


def books(loans_count: int) -> dict[Sheet, SheetTable]:
    """The generated club's sheets (see the module's docstring)."""
    members: SheetTable = []
    loans: SheetTable = []
    repayments: SheetTable = []
    for number in range(loans_count):
        member, loan = f"TV{number:06d}", f"KV{number:06d}"
        members.append([member, f"Thành viên {number}", "Nữ" if number % 3 else "Nam",
                        1945 + number % 30, None])
        disbursed = date(2024, 10, 1) + timedelta(days=number % 90)
        first_due = disbursed + timedelta(days=30)
        principal = 3_000_000 + 1_000_000 * (number % 8)
        loans.append([loan, member, principal, INSTALLMENTS, "Hàng tháng", "Cố định", "0,8",
                      None, disbursed, first_due, 1000, "Chăn nuôi"])
        schedule = build_schedule(LoanTerms(
            principal=principal, installments=INSTALLMENTS, frequency=Frequency.MONTHLY,
            interest_method=InterestMethod.FLAT, rate_per_period=Decimal("0.008"),
            first_due_date=first_due, disbursed_on=disbursed, rounding_unit=1000))
        for row in schedule.installments:
            if row.due_date > LAST_DAY:
                break
            method = "Tiền mặt" if number % 4 else "Chuyển khoản"
            repayments.append([loan, row.due_date, row.total, method])
    opening: SheetTable = [[CUT_OVER, chart.CASH, 50_000_000], [CUT_OVER, chart.BANK, 0],
                           [CUT_OVER, chart.CAPITAL_DISTRICT_BUDGET, 50_000_000]]
    sheets = {Sheet.MEMBERS: members, Sheet.OPENING: opening, Sheet.LOANS: loans,
              Sheet.REPAYMENTS: repayments}
    opening.append([CUT_OVER, chart.CAPITAL_DONORS, balancing_surplus(sheets)])
    return sheets


async def empty_club_fund(app_url: str, name: str) -> uuid.UUID:
    """A province, district, commune and a club in it (its fund empty), as the API makes
    them."""
    from datetime import UTC, datetime

    import asyncpg

    from service.areas.schemas import AreaCreate, AreaLevel
    from service.areas.service import create_area
    from service.auth.repository import grant_all_funds
    from service.clubs.schemas import ClubCreate
    from service.clubs.service import create_club
    from service.context import RequestContext, operator_context
    from service.database import init_connection

    prefix = str(50 + abs(hash(name)) % 40)

    async def make(ctx: RequestContext) -> uuid.UUID:
        for code, level, parent in ((prefix, AreaLevel.PROVINCE, None),
                                    (f"{prefix}1", AreaLevel.DISTRICT, prefix),
                                    (f"{prefix}101", AreaLevel.COMMUNE, f"{prefix}1")):
            await create_area(ctx, AreaCreate(code=code, name=f"Vùng {code}", level=level,
                                              parent_code=parent, valid_from="2020-01-01"))
        club = await create_club(ctx, ClubCreate(name=name, area_code=f"{prefix}101",
                                                 established_on="2023-01-01"))
        return club.fund_id

    connection = await asyncpg.connect(app_url)
    try:
        await init_connection(connection)
        async with connection.transaction():
            await grant_all_funds(connection)
            return await make(operator_context(connection, "bench", datetime.now(UTC), "bench"))
    finally:
        await connection.close()


async def timed_import(app_url: str, folder: Path, loans_count: int
                       ) -> tuple[ImportSummary, float, int]:
    """Generate the books in `folder`, import them into a new club's fund: (summary,
    seconds, repayment rows)."""
    sheets = books(loans_count)
    write_csv_files(folder, sheets)
    fund_id = await empty_club_fund(app_url, f"CLB thử nhập sổ {loans_count}")
    paths = [folder / f"{sheet.value}.csv" for sheet in Sheet]
    started = time.perf_counter()
    summary = await import_files(app_url, fund_id, paths, "bench")
    return summary, time.perf_counter() - started, len(sheets[Sheet.REPAYMENTS])


def main() -> None:
    from bench.posting import pgbench_tps
    from service import migrate
    from service.embedded import start_embedded

    parser = argparse.ArgumentParser()
    parser.add_argument("--loans", type=int, default=5_000)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="clubfund-bench-") as data_dir:
        os.chmod(data_dir, 0o755)
        db = start_embedded(Path(data_dir))
        migrate.upgrade(db.owner_url)
        baseline = pgbench_tps(db, args.clients, args.seconds)
        summary, seconds, repayments = asyncio.run(
            timed_import(db.app_url, Path(data_dir) / "books", args.loans))
        db.server.cleanup()  # type: ignore[attr-defined]
    rate = summary.entries_count / seconds
    load_after = os.getloadavg()
    print(f"\nBooks import, {os.cpu_count()} cores: {args.loans:,} loans,"
          f" {repayments:,} repayment rows\n")
    print("| workload | entries | audit records | seconds | entries/s | ratio to pgbench tx/s |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| pgbench TPC-B (baseline), {args.clients} clients | – | – | {args.seconds} |"
          f" {baseline:,.0f} tx/s | 1.00 |")
    print(f"| clubfund import (CSV) | {summary.entries_count:,} |"
          f" {summary.audit_records_count:,} | {seconds:.2f} | {rate:,.0f} |"
          f" {rate / baseline:.2f} |")
    print(f"\nload average (1, 5, 15 min): before {_load(load_before)}, after {_load(load_after)}")


def _load(averages: tuple[float, float, float]) -> str:
    return " ".join(f"{value:.2f}" for value in averages)


if __name__ == "__main__":
    main()
