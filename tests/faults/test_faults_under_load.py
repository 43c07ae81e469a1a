"""Faults in the middle of a seeded concurrent posting load (tests/faults/harness.py).

- `service_kill`: kill -9 of `clubfund serve` (its process group) with requests in flight,
  some committed but not yet answered, some half-done in their transaction; a new process
  is started on the same port. Clients see connections refused or cut.
- `database_crash_restart`: `pg_ctl restart -m immediate` of PostgreSQL (a crash: no
  checkpoint, the WAL replayed on start) under the running service. Every client request
  must still get an HTTP answer (503 problem+json while the database is away): no
  connection reset.

Afterwards, for both: every acknowledged entry present exactly once, nothing partial or
unbalanced, the audit log verifies, retries with the same Idempotency-Key answer the
original result (the unanswered postings are stored exactly once, by their first attempt or
by the retry), and the API answers a POST again within 5 s of the fault's end (the
database accepting connections again; the new service process listening).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.conftest import run_in_thread
from tests.faults.conftest import tally
from tests.faults.harness import DurablePostgres, ServiceProcess, fault_under_load

pytestmark = pytest.mark.slow


def injection(
    fault: str, postgres: DurablePostgres, service: ServiceProcess
) -> Callable[[], Awaitable[None]]:
    async def kill_service_and_start_again() -> None:
        await asyncio.to_thread(service.kill_hard)
        await asyncio.to_thread(service.spawn)
        await asyncio.to_thread(service.wait_until_listening)

    async def crash_and_restart_database() -> None:
        await asyncio.to_thread(postgres.restart_immediately)

    return {"service_kill": kill_service_and_start_again,
            "database_crash_restart": crash_and_restart_database}[fault]


@pytest.mark.parametrize("fault", ["service_kill", "database_crash_restart"])
def test_a_fault_under_load_loses_no_acknowledged_write(
    fault: str, fault_seed: int, run_nonce: str, durable_postgres: DurablePostgres,
    fault_service: ServiceProcess, fault_admin_token: str,
    record_property: Callable[[str, object], None],
) -> None:
    recovery_seconds, figures = run_in_thread(lambda: fault_under_load(
        fault, fault_seed, run_nonce, durable_postgres, fault_service,
        fault_admin_token, injection(fault, durable_postgres, fault_service),
        connections_may_break=fault == "service_kill"))
    tally(record_property, fault, fault_seed, recovery_seconds, **figures)
