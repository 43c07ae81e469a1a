"""SIGTERM to `clubfund serve` (embedded PostgreSQL): it stops taking new connections, lets
the request in flight finish and answer, exits 0, and only then is its embedded PostgreSQL
stopped."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.api.factories import entry_body
from tests.conftest import run_in_thread
from tests.faults.harness import (
    ServiceProcess,
    authorised_client,
    create_ledger,
    readable_temporary_directory,
    stop_if_running,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def embedded_service() -> Iterator[ServiceProcess]:
    directory = readable_temporary_directory("clubfund-shutdown-")
    service = ServiceProcess(None, None, directory)
    try:
        service.start()
        yield service
    finally:
        service.stop()
        stop_if_running(service.data_dir / "pgdata")
        shutil.rmtree(directory, ignore_errors=True)


def postmaster(pgdata: Path) -> tuple[int, str]:
    """(pid, socket directory) of the running server, from its postmaster.pid."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    return int(lines[0]), lines[4]


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def process_gone_within(pid: int, seconds: float) -> bool:
    """The postmaster removes its pid file a moment before it exits."""
    deadline = time.monotonic() + seconds
    while process_exists(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


async def sigterm_during_a_request(service: ServiceProcess) -> None:
    assert service.process is not None
    token = (service.data_dir / "admin-token").read_text().strip()
    fund_id, accounts = await create_ledger(service.base_url, token, "shutdown")
    pgdata = service.data_dir / "pgdata"
    postgres_pid, socket_dir = postmaster(pgdata)
    blocker = await asyncpg.connect(f"postgresql://postgres@/clubfund?host={socket_dir}")
    try:
        blocking = blocker.transaction()
        await blocking.start()
        # Inserting an entry now waits for this lock: the request stays in flight.
        await blocker.execute("LOCK TABLE entries IN SHARE MODE")
        async with authorised_client(service.base_url, token) as http:
            posting = asyncio.create_task(http.post(
                f"/v1/funds/{fund_id}/entries",
                json=entry_body(accounts[0], accounts[2], 125_000, description="in flight"),
                headers={"Idempotency-Key": f"shutdown-{uuid.uuid4()}"},
            ))
            while not await blocker.fetchval(
                "SELECT count(*) FROM pg_locks WHERE relation = 'entries'::regclass"
                " AND NOT granted"
            ):
                assert not posting.done(), posting.result().text
                await asyncio.sleep(0.02)
            os.kill(service.process.pid, signal.SIGTERM)
            while True:  # the listening socket closes: no new request is taken
                try:
                    await asyncio.to_thread(httpx.get, f"{service.base_url}/healthz", timeout=2)
                except httpx.TransportError:
                    break
                await asyncio.sleep(0.05)
            assert service.process.poll() is None, "exited with a request in flight"
            assert not posting.done()
            await blocking.commit()
            response = await posting
        assert response.status_code == 201, response.text
    finally:
        await blocker.close()
    exit_code = await asyncio.to_thread(service.process.wait, 60)
    assert exit_code == 0, service.log_tail()
    assert not (pgdata / "postmaster.pid").exists(), "the embedded PostgreSQL still runs"
    assert process_gone_within(postgres_pid, 10), "the embedded PostgreSQL still runs"


def test_sigterm_lets_the_request_in_flight_finish_then_stops_the_embedded_database(
    embedded_service: ServiceProcess,
) -> None:
    try:
        run_in_thread(lambda: sigterm_during_a_request(embedded_service))
    except subprocess.TimeoutExpired:
        pytest.fail("serve did not exit after SIGTERM:\n" + embedded_service.log_tail())
