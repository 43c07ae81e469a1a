"""Time the full demo province load (what `clubfund serve --demo` loads) on a fresh
embedded PostgreSQL, for a few worker counts, and print a table.

    python bench/demo_load.py [--clubs 30] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from service import migrate
from service.database import create_pool
from service.demo.loader import DemoSummary, load_demo
from service.embedded import start_embedded

END = date(2026, 10, 31)


async def one_run(app_url: str, clubs: int, workers: int) -> tuple[float, DemoSummary]:
    pool = await create_pool(app_url, min_size=1, max_size=workers + 1)
    try:
        started = time.perf_counter()
        summary = await load_demo(pool, clubs_count=clubs, seed=1336, end_date=END,
                                  workers=workers)
        return time.perf_counter() - started, summary
    finally:
        await pool.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clubs", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="clubfund-bench-") as data_dir:
        embedded = start_embedded(Path(data_dir))  # durable defaults (fsync on)
        try:
            for workers in args.workers:
                database = f"demo_{workers}"
                embedded.psql(f'CREATE DATABASE "{database}" OWNER clubfund_owner')
                migrate.upgrade(embedded.url("clubfund_owner", database))
                seconds, summary = asyncio.run(
                    one_run(embedded.url("clubfund_app", database), args.clubs, workers))
                rows.append((workers, seconds, summary))
        finally:
            embedded.server.cleanup()  # type: ignore[attr-defined]
    print(f"{'workers':>7} {'seconds':>8} {'clubs':>6} {'members':>8} {'loans':>6}"
          f" {'entries':>8} {'entries/s':>10}")
    for workers, seconds, s in rows:
        print(f"{workers:>7} {seconds:>8.1f} {s.clubs:>6} {s.members:>8} {s.loans:>6}"
              f" {s.entries:>8} {s.entries / seconds:>10.0f}")


if __name__ == "__main__":
    main()
