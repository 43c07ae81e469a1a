"""Posting throughput: single HTTP postings against pgbench's TPC-B on the same server.

Starts a private embedded PostgreSQL (durable defaults: fsync and synchronous_commit
on), measures pgbench's built-in TPC-B transaction, then the service's
`POST /v1/funds/{fund_id}/entries` under uvicorn, and prints a table with the ratio.

    .venv/bin/python bench/posting.py [--seconds 15] [--clients 16] [--workers 1 2]
        [--skip-pgbench] [--py-spy DIR]

It also prints the CPU milliseconds per posting (user and system time while the load
ran, over the postings answered) of the uvicorn process (with one worker) and of the
PostgreSQL server (the postmaster and its children; for pgbench, per transaction):
unlike postings a second, these hold on a machine shared with other work.
`--py-spy DIR` samples that process with py-spy during the load (`DIR/postings-<n>.txt`
in py-spy's raw format, one line a distinct stack with its samples) and prints where
the samples fall (`summarise_profile`).

The load generator is Python (httpx) on the same 2 cores, so the HTTP figures
include its cost; pgbench's client is C. Both are reported as they were measured.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from service import migrate  # noqa: E402
from service.embedded import start_embedded  # noqa: E402

FUNDS = 64


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pgbench_tps(db, clients: int, seconds: int) -> float:
    """TPC-B transactions a second (`pgbench_run`)."""
    return pgbench_run(db, clients, seconds)[0]


def pgbench_run(
    db, clients: int, seconds: int, postmaster_pid: int | None = None
) -> tuple[float, float | None]:
    """TPC-B transactions a second, and with the server's `postmaster_pid` the
    PostgreSQL CPU milliseconds of each."""
    db.psql("DROP DATABASE IF EXISTS pgbench", "CREATE DATABASE pgbench")
    url = db.url("postgres", "pgbench")
    db.run_tool("pgbench", "-i", "-q", "-s", "10", url)
    cpu_before = postgres_cpu_seconds(postmaster_pid) if postmaster_pid else 0.0
    output = db.run_tool("pgbench", "-n", "-c", str(clients), "-j", "2", "-T", str(seconds), url)
    match = re.search(r"tps = ([0-9.]+)", output)
    processed = re.search(r"transactions actually processed: (\d+)", output)
    assert match and processed, output
    cpu_ms = None
    if postmaster_pid:
        cpu = postgres_cpu_seconds(postmaster_pid) - cpu_before
        cpu_ms = cpu * 1000 / int(processed.group(1))
    return float(match.group(1)), cpu_ms


def process_stat(stat: Path) -> list[str]:
    """The fields of a /proc/<pid>/stat after the command's name (Linux): the parent's pid
    is [1], user and system time [11] and [12], and of waited-for children [13] and [14],
    in clock ticks."""
    return stat.read_text().rsplit(")", 1)[1].split()


def process_cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used."""
    fields = process_stat(Path(f"/proc/{pid}/stat"))
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds(postmaster_pid: int) -> float:
    """CPU time of the PostgreSQL server: the postmaster, its children that ended (which it
    waited for) and its children still running (backends, writers)."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = process_stat(Path(f"/proc/{postmaster_pid}/stat"))
    used = sum(int(f) for f in fields[11:15]) / ticks
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = process_stat(stat)
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == postmaster_pid:
            used += (int(fields[11]) + int(fields[12])) / ticks
    return used


async def http_load(base: str, token: str | None, clients: int, seconds: int,
                    server_pid: int | None = None, profile: Path | None = None,
                    postmaster_pid: int | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits,
                                 timeout=30) as http:
        ledgers = []
        for n in range(FUNDS):
            fund = (await http.post("/v1/funds", json={"name": f"Bench {n}"})).json()
            cash = (await http.post(f"/v1/funds/{fund['id']}/accounts",
                                    json={"code": "111", "name": "Cash", "type": "asset"})).json()
            capital = (await http.post(f"/v1/funds/{fund['id']}/accounts",
                                       json={"code": "4111", "name": "Capital",
                                             "type": "equity"})).json()
            ledgers.append((fund["id"], cash["id"], capital["id"]))
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    host, port = base.removeprefix("http://").split(":")
    deadline = time.monotonic() + seconds

    async def worker(number: int) -> None:
        """One keep-alive connection, one request at a time, raw HTTP/1.1: the
        load generator must cost far less CPU than the server it measures."""
        rng = random.Random(number)
        reader, writer = await asyncio.open_connection(host, int(port))
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        while time.monotonic() < deadline:
            fund, cash, capital = rng.choice(ledgers)
            amount = rng.randint(1, 1_000_000)
            body = json.dumps({
                "effective_date": "2026-03-05", "description": "bench", "currency": "VND",
                "postings": [{"account_id": cash, "side": "debit", "amount": amount},
                             {"account_id": capital, "side": "credit", "amount": amount}],
            }).encode()
            request = (
                f"POST /v1/funds/{fund}/entries HTTP/1.1\r\nHost: {host}\r\n{auth}"
                f"Content-Type: application/json\r\nIdempotency-Key: {os.urandom(8).hex()}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    spy = None
    if profile is not None and server_pid is not None:
        spy = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(server_pid),
            "--rate", "500", "--nonblocking", "--format", "raw", "--duration", str(seconds),
            "-o", str(profile), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cpu_before = process_cpu_seconds(server_pid) if server_pid is not None else 0.0
    postgres_before = postgres_cpu_seconds(postmaster_pid) if postmaster_pid else 0.0
    started = time.monotonic()
    await asyncio.gather(*(worker(n) for n in range(clients)))
    elapsed = time.monotonic() - started
    cpu = process_cpu_seconds(server_pid) - cpu_before if server_pid is not None else None
    postgres_cpu = None
    if postmaster_pid:
        postgres_cpu = postgres_cpu_seconds(postmaster_pid) - postgres_before
    if spy is not None:
        await spy.wait()
    latencies.sort()
    answered = sum(statuses.values())
    return {
        "cpu_ms": cpu * 1000 / answered if cpu is not None and answered else None,
        "postgres_cpu_ms": (postgres_cpu * 1000 / answered
                            if postgres_cpu is not None and answered else None),
        "tps": statuses.get(201, 0) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "statuses": statuses,
    }


PROFILE_PARTS = (
    # (part, marks of its frames' "function (file:line)"), for the innermost frame that is
    # not the standard library's: json.dumps called by the audit record is the record's.
    ("canonical JSON (ledger/canonical_json.py)", ("ledger/canonical_json.py",)),
    ("audit record (service/audit, ledger/audit_records.py)",
     ("service/audit/", "ledger/audit_records.py")),
    ("entry service and core (service/entries, service/funds, ledger)",
     ("service/entries/", "service/funds/", "ledger/")),
    ("authentication (service/auth)", ("service/auth/",)),
    ("transaction and idempotency middleware (service/transactions.py)",
     ("service/transactions.py",)),
    ("other middleware and dependencies of ours (service/*.py)", ("service/",)),
    ("asyncpg (Python side)", ("asyncpg/",)),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("fastapi and starlette (routing, dependencies, middleware stack)",
     ("fastapi/", "starlette/")),
    ("uvicorn and httptools", ("uvicorn/", "httptools/")),
    ("asyncio", ("asyncio/",)),
)
# A sample whose innermost frame is one of these is in a C call: a socket read or write
# (asyncpg's protocol, uvicorn's transport), or the event loop, polling or running its
# callbacks. On a busy machine such samples also hold the time the process waited for
# a core after waking the process at the other end (py-spy counts a runnable process as
# active), so they are reported apart and not shared out.
IN_C_CALL = ("Connection._do_execute (", "Connection.execute (", "Runner.run (",
             "RequestResponseCycle.send (uvicorn/protocols/http/httptools_impl.py:5")


def summarise_profile(path: Path) -> list[tuple[str, int, float]]:
    """py-spy raw stacks (outermost frame first) grouped by part: (part, samples, share
    of the samples outside C calls); the samples in C calls last, as a share of all."""
    counts: dict[str, int] = {}
    in_c_call = total = 0
    for line in path.read_text().splitlines():
        stack, _, number = line.rpartition(" ")
        if not number.isdigit():
            continue
        samples = int(number)
        total += samples
        frames = stack.split(";")
        if frames[-1].startswith(IN_C_CALL):
            in_c_call += samples
            continue
        part = "other (standard library, start-up)"
        for frame in reversed(frames):
            found = next((name for name, marks in PROFILE_PARTS
                          if any(mark in frame for mark in marks)), None)
            if found is not None:
                part = found
                break
        counts[part] = counts.get(part, 0) + samples
    outside = total - in_c_call
    rows = sorted(((part, n, n / outside) for part, n in counts.items()),
                  key=lambda row: -row[1])
    return [*rows, ("in a C call: socket I/O, the event loop, or waiting for a core",
                    in_c_call, in_c_call / total)]


def serve(app_url: str, workers: int, port: int) -> subprocess.Popen:
    env = dict(os.environ, CLUBFUND_DATABASE_URL=app_url, CLUBFUND_POOL_MAX_SIZE="16")
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "service.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning", "--no-access-log", "--loop", "uvloop", "--http", "httptools"],
        cwd=ROOT, env=env,
    )
    for _ in range(100):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError("uvicorn did not start")


def admin_token(owner_url: str) -> str | None:
    """An admin token for the benchmark (None where the service has no tokens)."""
    try:
        from service.cli import main as cli  # noqa: F401
    except ImportError:
        return None
    env = dict(os.environ, DATABASE_URL=owner_url)
    result = subprocess.run([sys.executable, "-m", "service.cli", "token", "create",
                             "--role", "admin"], cwd=ROOT, env=env, capture_output=True,
                            text=True)
    if result.returncode != 0:
        return None
    return result.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--skip-pgbench", action="store_true",
                        help="no TPC-B baseline (ratios are then not printed)")
    parser.add_argument("--py-spy", type=Path, metavar="DIR",
                        help="sample the server with py-spy (one worker) into DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clubfund-bench-") as data_dir:
        os.chmod(data_dir, 0o755)
        db = start_embedded(Path(data_dir))
        migrate.upgrade(db.owner_url)
        token = admin_token(db.owner_url)
        postmaster_pid = int(
            (Path(data_dir) / "pgdata" / "postmaster.pid").read_text().split()[0])
        baseline = None
        # (workload, clients, tx/s, p50, p99, service CPU ms, PostgreSQL CPU ms, ratio)
        rows: list[tuple[str, int, float, float | None, float | None, float | None,
                         float | None, float | None]] = []
        if not args.skip_pgbench:
            baseline, postgres_cpu = pgbench_run(db, args.clients, args.seconds,
                                                 postmaster_pid)
            rows.append(("pgbench TPC-B (baseline)", args.clients, baseline, None, None, None,
                         postgres_cpu, 1.0))
        profiles: list[tuple[Path, int]] = []
        for workers in args.workers:
            port = free_port()
            process = serve(db.app_url, workers, port)
            profile = None
            if args.py_spy is not None and workers == 1:
                args.py_spy.mkdir(parents=True, exist_ok=True)
                profile = args.py_spy / f"postings-{len(profiles) + 1}.txt"
            try:
                result = asyncio.run(http_load(
                    f"http://127.0.0.1:{port}", token, args.clients, args.seconds,
                    server_pid=process.pid if workers == 1 else None, profile=profile,
                    postmaster_pid=postmaster_pid))
            finally:
                process.terminate()
                process.wait()
            assert set(result["statuses"]) == {201}, result["statuses"]
            if profile is not None:
                profiles.append((profile, sum(result["statuses"].values())))
            rows.append((f"POST entries, uvicorn x{workers}", args.clients, result["tps"],
                         result["p50_ms"], result["p99_ms"], result["cpu_ms"],
                         result["postgres_cpu_ms"],
                         result["tps"] / baseline if baseline else None))
        db.server.cleanup()  # type: ignore[attr-defined]
    load = os.getloadavg()
    print(f"\nPosting throughput, {args.seconds} s per run, {os.cpu_count()} cores, load average"
          f" at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    print("| workload | clients | tx/s | p50 ms | p99 ms | server CPU ms a posting"
          " | PostgreSQL CPU ms a posting (pgbench: a transaction) | ratio to pgbench |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, clients, tps, p50, p99, cpu, database_cpu, ratio in rows:
        figures = [f"{v:.1f}" if v is not None else "–" for v in (p50, p99)]
        figures += [f"{v:.2f}" if v is not None else "–" for v in (cpu, database_cpu)]
        ratio_text = f"{ratio:.2f}" if ratio is not None else "–"
        print(f"| {name} | {clients} | {tps:,.0f} | {' | '.join(figures)} | {ratio_text} |")
    for profile, postings in profiles:
        print(f"\nWhere the server's samples fall ({profile}, {postings} postings; the"
              " share of the samples outside C calls, the last row's of all)\n")
        print("| part | samples | share | samples a posting |")
        print("|---|---:|---:|---:|")
        for part, samples, share in summarise_profile(profile):
            print(f"| {part} | {samples} | {share:.0%} | {samples / postings:.2f} |")


if __name__ == "__main__":
    main()
