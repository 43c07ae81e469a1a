"""Batches: entries per second through atomic batches, against pgbench's TPC-B on the
same server in the same run; and the latency of a meeting's batch.

Starts a private embedded PostgreSQL (durable defaults: fsync and synchronous_commit
on), measures pgbench's built-in TPC-B transaction, then under uvicorn:

- `POST /v1/funds/{fund_id}/batches` in `atomic` mode with 1,000 two-posting entries
  each (Dr 111 / Cr 4111), `--clients` concurrent senders each on its own fund, for
  `--seconds`: entries written per second;
- a meeting: one club, 20 members each with a disbursed loan; `--meetings` batches of
  40 items (20 repayments and 20 contributions, `independent`), sent one after the
  other by the treasurer: p50 and p99 of the answer time.

    .venv/bin/python bench/batches.py [--seconds 20] [--clients 2] [--meetings 100]

The HTTP client (httpx) runs on the same cores as the server and PostgreSQL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.posting import admin_token, free_port, pgbench_tps, serve  # noqa: E402
from service import migrate  # noqa: E402
from service.embedded import start_embedded  # noqa: E402

BATCH_SIZE = 1_000
MEETING_MEMBERS = 20
TIMEOUT_SECONDS = 300


def key() -> str:
    return uuid.uuid4().hex


async def created(http: httpx.AsyncClient, path: str, body: dict[str, Any] | None = None,
                  status: int = 201) -> dict[str, Any]:
    response = await http.post(path, json=body, headers={"Idempotency-Key": key()})
    assert response.status_code == status, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def entry_ledger(http: httpx.AsyncClient, number: int) -> tuple[str, str, str]:
    fund = await created(http, "/v1/funds", {"name": f"Bench {number}"})
    cash = await created(http, f"/v1/funds/{fund['id']}/accounts",
                         {"code": "111", "name": "Cash", "type": "asset"})
    capital = await created(http, f"/v1/funds/{fund['id']}/accounts",
                            {"code": "4111", "name": "Capital", "type": "equity"})
    return fund["id"], cash["id"], capital["id"]


def entries_batch(cash: str, capital: str, size: int = BATCH_SIZE) -> dict[str, Any]:
    items = []
    for n in range(size):
        amount = 1_000 + n
        items.append({"key": key(), "op": "entry", "body": {
            "effective_date": "2026-03-05", "description": "bench", "currency": "VND",
            "postings": [{"account_id": cash, "side": "debit", "amount": amount},
                         {"account_id": capital, "side": "credit", "amount": amount}]}})
    return {"mode": "atomic", "items": items}


async def atomic_entries(base: str, token: str, clients: int, seconds: int,
                         batch_size: int = BATCH_SIZE) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers,
                                 timeout=TIMEOUT_SECONDS) as http:
        ledgers = [await entry_ledger(http, n) for n in range(clients)]
        entries = 0
        durations: list[float] = []
        deadline = time.monotonic() + seconds

        async def sender(fund: str, cash: str, capital: str) -> None:
            nonlocal entries
            while time.monotonic() < deadline:
                body = entries_batch(cash, capital, batch_size)  # built before the clock starts
                started = time.perf_counter()
                response = await http.post(f"/v1/funds/{fund}/batches", json=body,
                                           headers={"Idempotency-Key": key()})
                durations.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text[:500]
                entries += len(response.json()["items"])

        started = time.monotonic()
        await asyncio.gather(*(sender(*ledger) for ledger in ledgers))
        elapsed = time.monotonic() - started
    return {"entries_per_second": entries / elapsed, "batches": len(durations),
            "batch_p50_s": statistics.median(durations)}


async def meeting_club(http: httpx.AsyncClient) -> tuple[str, str, list[str], str]:
    """A club with seed capital and 20 members with a disbursed loan each: (fund, club,
    loan ids, a chair's token)."""
    prefix = str(70 + int.from_bytes(os.urandom(1)) % 20)
    await created(http, "/v1/areas", {"code": prefix, "name": "Tỉnh", "level": "province",
                                      "parent_code": None, "valid_from": "2020-01-01"})
    await created(http, "/v1/areas", {"code": f"{prefix}1", "name": "Huyện",
                                      "level": "district", "parent_code": prefix,
                                      "valid_from": "2020-01-01"})
    await created(http, "/v1/areas", {"code": f"{prefix}101", "name": "Xã", "level": "commune",
                                      "parent_code": f"{prefix}1", "valid_from": "2020-01-01"})
    club = await created(http, "/v1/clubs", {"name": "CLB họp tháng", "area_code": f"{prefix}101",
                                             "established_on": "2025-01-01"})
    fund = club["fund_id"]
    chair = await created(http, "/v1/people", {"name": "Trần Văn Chủ Nhiệm", "role": "chair",
                                               "scope": f"club:{club['id']}"})
    chair_token = (await created(http, "/v1/tokens", {"person_id": chair["id"]}))["token"]
    await created(http, f"/v1/funds/{fund}/seed-grants", {
        "amount": 200_000_000, "source": "district_budget", "decision_number": "1/QĐ-UBND",
        "effective_date": "2026-01-05"})
    loans = []
    for n in range(MEETING_MEMBERS):
        member = await created(http, f"/v1/clubs/{club['id']}/members", {
            "name": f"Thành viên {n}", "gender": "female", "birth_year": 1950 + n})
        loan = await created(http, f"/v1/funds/{fund}/loans", {
            "member_id": member["id"], "principal": 5_000_000, "installments": 12,
            "rate_per_period": "0.01", "first_due_date": "2026-03-05",
            "applied_on": "2026-02-01"})
        loans.append(loan["id"])
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=TIMEOUT_SECONDS,
                                 headers={"Authorization": f"Bearer {chair_token}"}) as as_chair:
        for loan_id in loans:
            await created(as_chair, f"/v1/loans/{loan_id}/approval",
                          {"effective_date": "2026-02-01"}, status=200)
    for loan_id in loans:
        await created(http, f"/v1/loans/{loan_id}/disbursement",
                      {"effective_date": "2026-02-05"}, status=200)
    return fund, club["id"], loans, chair_token


async def meetings(base: str, token: str, count: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, headers=headers,
                                 timeout=TIMEOUT_SECONDS) as http:
        fund, _, loans, _ = await meeting_club(http)
        durations: list[float] = []
        for _ in range(count):
            items: list[dict[str, Any]] = []
            for loan_id in loans:
                items.append({"key": key(), "op": "repayment", "loan_id": loan_id,
                              "body": {"amount": 10_000, "effective_date": "2026-06-05"}})
                items.append({"key": key(), "op": "contribution",
                              "body": {"amount": 20_000, "effective_date": "2026-06-05"}})
            started = time.perf_counter()
            response = await http.post(f"/v1/funds/{fund}/batches",
                                       json={"mode": "independent", "items": items},
                                       headers={"Idempotency-Key": key()})
            durations.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:500]
            statuses = {item["status"] for item in response.json()["items"]}
            assert statuses == {201}, response.text[:2000]
    durations.sort()
    return {"p50_ms": statistics.median(durations) * 1000,
            "p99_ms": durations[max(0, int(len(durations) * 0.99) - 1)] * 1000,
            "meetings": count}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--clients", type=int, default=2, help="concurrent atomic batches")
    parser.add_argument("--pgbench-clients", type=int, default=8)
    parser.add_argument("--meetings", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clubfund-bench-") as data_dir:
        os.chmod(data_dir, 0o755)
        db = start_embedded(Path(data_dir))
        try:
            migrate.upgrade(db.owner_url)
            token = admin_token(db.owner_url)
            assert token is not None, "no admin token"
            baseline = pgbench_tps(db, args.pgbench_clients, args.seconds)
            port = free_port()
            process = serve(db.app_url, 1, port)
            try:
                base = f"http://127.0.0.1:{port}"
                atomic = asyncio.run(atomic_entries(base, token, args.clients, args.seconds,
                                                    args.batch_size))
                meeting = asyncio.run(meetings(base, token, args.meetings))
            finally:
                process.terminate()
                process.wait()
        finally:
            db.server.cleanup()  # type: ignore[attr-defined]
    ratio = atomic["entries_per_second"] / baseline
    load = os.getloadavg()
    print(f"\nBatches, {args.seconds} s runs, {os.cpu_count()} cores,"
          f" load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    print("| workload | clients | per second | ratio to pgbench |")
    print("|---|---:|---:|---:|")
    print(f"| pgbench TPC-B (baseline), transactions | {args.pgbench_clients} |"
          f" {baseline:,.0f} | 1.00 |")
    print(f"| atomic batches of {args.batch_size:,} two-posting entries, entries"
          f" ({atomic['batches']} batches, p50 {atomic['batch_p50_s']:.2f} s each) |"
          f" {args.clients} | {atomic['entries_per_second']:,.0f} | {ratio:.2f} |")
    print(f"\nMeeting batch (20 repayments + 20 contributions, independent),"
          f" {meeting['meetings']} in a row: p50 {meeting['p50_ms']:.0f} ms,"
          f" p99 {meeting['p99_ms']:.0f} ms")


if __name__ == "__main__":
    main()
