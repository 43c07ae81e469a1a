"""Round trips to PostgreSQL per write, and where a write's time goes.

Starts a private embedded PostgreSQL, serves the app in-process (ASGI, no sockets) on
a pool whose every connection counts the statements it sends (asyncpg's query logger:
BEGIN, COMMIT and savepoints included), and posts:

- `--postings` single entries (`POST /v1/funds/{fund_id}/entries`, Idempotency-Key each);
- `--batches` atomic batches of `--batch-size` two-posting entries;

then prints the round trips per posting and per batch. With `--profile DIR` it also
writes a pyinstrument profile (HTML and text) of each workload to DIR.

    .venv/bin/python bench/round_trips.py [--postings 200] [--batches 3] [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.batches import entries_batch  # noqa: E402
from bench.posting import admin_token  # noqa: E402
from service import migrate  # noqa: E402
from service.app import create_app  # noqa: E402
from service.database import init_connection, keep_session  # noqa: E402
from service.embedded import start_embedded  # noqa: E402
from service.settings import Settings  # noqa: E402


class StatementCount:
    """Statements sent by the pool's connections, by their first words."""

    def __init__(self) -> None:
        self.total = 0
        self.kinds: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()

    def log(self, record: Any) -> None:
        self.total += 1
        words = " ".join(record.query.split()[:4])[:60]
        self.kinds[words] += 1
        self.seconds[words] += record.elapsed


async def counted_pool(url: str, count: StatementCount) -> asyncpg.Pool:
    async def init(connection: asyncpg.Connection) -> None:
        await init_connection(connection)
        connection.add_query_logger(count.log)

    pool: asyncpg.Pool = await asyncpg.create_pool(
        url, min_size=1, max_size=2, init=init, reset=keep_session,
        server_settings={"application_name": "clubfund", "timezone": "UTC"})
    return pool


def posting_body(cash: str, capital: str, amount: int) -> dict[str, Any]:
    return {"effective_date": "2026-03-05", "description": "bench", "currency": "VND",
            "postings": [{"account_id": cash, "side": "debit", "amount": amount},
                         {"account_id": capital, "side": "credit", "amount": amount}]}


async def created(http: httpx.AsyncClient, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = await http.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})
    assert response.status_code in (200, 201), response.text[:500]
    answer: dict[str, Any] = response.json()
    return answer


async def measured(
    name: str, count: StatementCount, repeats: int, profile_dir: Path | None,
    work: Callable[[], Awaitable[None]],
) -> dict[str, Any]:
    profiler = None
    if profile_dir is not None:
        from pyinstrument import Profiler
        profiler = Profiler(async_mode="enabled")
        profiler.start()
    before = count.total
    kinds_before = Counter(count.kinds)
    seconds_before = Counter(count.seconds)
    started = time.perf_counter()
    for _ in range(repeats):
        await work()
    elapsed = time.perf_counter() - started
    profiles = {}
    if profiler is not None:
        profiler.stop()
        profiles = {f"{name}.html": profiler.output_html(),
                    f"{name}.txt": profiler.output_text(unicode=True)}
    kinds = count.kinds - kinds_before
    seconds = count.seconds - seconds_before
    return {"name": name, "profiles": profiles, "round_trips": (count.total - before) / repeats,
            "ms_each": elapsed * 1000 / repeats,
            "kinds": {k: (v / repeats, seconds[k] * 1000 / repeats)
                      for k, v in kinds.most_common()}}


async def run(owner_url: str, app_url: str, args: argparse.Namespace) -> list[dict[str, Any]]:
    token = admin_token(owner_url)
    assert token is not None, "no admin token"
    count = StatementCount()
    pool = await counted_pool(app_url, count)
    app = create_app(Settings(database_url="postgresql://unused",
                              allow_non_durable_database=True), pool=pool)
    results = []
    try:
        async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench",
            headers={"Authorization": f"Bearer {token}"}, timeout=600,
        ) as http:
            fund = await created(http, "/v1/funds", {"name": "Round trips"})
            cash = await created(http, f"/v1/funds/{fund['id']}/accounts",
                                 {"code": "111", "name": "Cash", "type": "asset"})
            capital = await created(http, f"/v1/funds/{fund['id']}/accounts",
                                    {"code": "4111", "name": "Capital", "type": "equity"})
            entries_path = f"/v1/funds/{fund['id']}/entries"
            batches_path = f"/v1/funds/{fund['id']}/batches"

            async def posting() -> None:
                response = await http.post(
                    entries_path, json=posting_body(cash["id"], capital["id"], 1_000),
                    headers={"Idempotency-Key": uuid.uuid4().hex})
                assert response.status_code == 201, response.text[:500]

            async def batch() -> None:
                body = entries_batch(cash["id"], capital["id"], args.batch_size)
                response = await http.post(batches_path, json=body,
                                           headers={"Idempotency-Key": uuid.uuid4().hex})
                assert response.status_code == 200, response.text[:500]

            await posting()  # warm up
            results.append(await measured("posting", count, args.postings, args.profile,
                                          posting))
            results.append(await measured(f"atomic_batch_{args.batch_size}", count,
                                          args.batches, args.profile, batch))
    finally:
        await pool.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postings", type=int, default=200)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=1_000)
    parser.add_argument("--profile", type=Path, default=None,
                        help="write pyinstrument profiles to this directory")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clubfund-bench-") as data_dir:
        os.chmod(data_dir, 0o755)
        db = start_embedded(Path(data_dir))
        try:
            migrate.upgrade(db.owner_url)
            results = asyncio.run(run(db.owner_url, db.app_url, args))
        finally:
            db.server.cleanup()  # type: ignore[attr-defined]
    if args.profile is not None:
        args.profile.mkdir(parents=True, exist_ok=True)
        for result in results:
            for file_name, text in result["profiles"].items():
                (args.profile / file_name).write_text(text)
    load = os.getloadavg()
    print(f"\nRound trips, in-process ASGI, {os.cpu_count()} cores, load average"
          f" {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    print("| write | round trips each | ms each (in-process, one client) |")
    print("|---|---:|---:|")
    for result in results:
        print(f"| {result['name']} | {result['round_trips']:.1f} | {result['ms_each']:.1f} |")
    for result in results:
        print(f"\n{result['name']}: statements by kind (each: count, ms waited)")
        for kind, (number, milliseconds) in result["kinds"].items():
            print(f"  {number:8.2f} {milliseconds:8.2f}  {kind}")


if __name__ == "__main__":
    main()
