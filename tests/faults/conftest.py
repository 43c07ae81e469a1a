"""Fault tests: seeds, a durable PostgreSQL of their own, and a tally of what they did.

Each fault test runs once per seed. By default CI runs seeds 1 to 3 of each; to run
other seeds:

    CLUBFUND_FAULT_SEED=17 .venv/bin/python -m pytest tests/faults        # seed 17 only
    CLUBFUND_FAULT_SEEDS=200 .venv/bin/python -m pytest tests/faults      # seeds 1..200
    CLUBFUND_FAULT_SEEDS=200 CLUBFUND_FAULT_FIRST_SEED=1000 ...           # seeds 1000..1199
    CLUBFUND_FAULT_LOG=faults.jsonl ...    # each run's figures or failure, a JSON line each

A failing seed is in the test's id (`[seed=17]`) and in every assertion message.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from service import migrate
from service.cli import create_token_on
from tests.conftest import RUN_FIGURES_PROPERTY, run_in_thread
from tests.faults.harness import DurablePostgres, ServiceProcess, readable_temporary_directory

CI_SEEDS_COUNT = 3


def fault_seeds() -> list[int]:
    if os.environ.get("CLUBFUND_FAULT_SEED"):
        return [int(os.environ["CLUBFUND_FAULT_SEED"])]
    count = int(os.environ.get("CLUBFUND_FAULT_SEEDS", CI_SEEDS_COUNT))
    first = int(os.environ.get("CLUBFUND_FAULT_FIRST_SEED", 1))
    return list(range(first, first + count))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "fault_seed" in metafunc.fixturenames:
        seeds = fault_seeds()
        metafunc.parametrize("fault_seed", seeds, ids=[f"seed={seed}" for seed in seeds])


def log_line(record: dict[str, Any]) -> None:
    """With CLUBFUND_FAULT_LOG set, append `record` as one JSON line to that file (a long
    run can be read while it goes on)."""
    if os.environ.get("CLUBFUND_FAULT_LOG"):
        with open(os.environ["CLUBFUND_FAULT_LOG"], "a") as log:
            log.write(json.dumps(record) + "\n")


def tally(record_property: Callable[[str, object], None], test: str, seed: int,
          recovery_seconds: float, **counts: int) -> None:
    """Keep a passed run's figures with its report, for the summary at the end of the run
    (tests/conftest.py), and in the log."""
    log_line({"test": test, "seed": seed, "recovery_seconds": round(recovery_seconds, 3),
              **counts})
    record_property(RUN_FIGURES_PROPERTY, {
        "section": "fault tests", "line": test, "counts": counts,
        "slowest": {"recovery": round(recovery_seconds, 3)}})


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed and "faults" in report.nodeid:
        log_line({"failed": report.nodeid, "when": report.when,
                  "message": report.longreprtext[-3000:]})


@pytest.fixture(scope="session")
def durable_postgres() -> Iterator[DurablePostgres]:
    """A PostgreSQL of the fault tests' own (durable settings), migrated; stopped after."""
    server = DurablePostgres()
    try:
        run_in_thread(lambda: migrate.upgrade(server.embedded.owner_url))
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def fault_admin_token(durable_postgres: DurablePostgres) -> str:
    _, token = run_in_thread(lambda: create_token_on(
        durable_postgres.embedded.owner_url, person_id=None,
        new_person={"name": "fault tests", "role": "admin", "scope": None}, write=False,
        expires_days=None, label="fault tests"))
    return token


@pytest.fixture(scope="session")
def fault_audit_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


@pytest.fixture
def run_nonce() -> str:
    """Keeps Idempotency-Keys and descriptions apart between runs of one seed."""
    return f"{time.time_ns():x}"


@pytest.fixture(scope="session")
def fault_service(
    durable_postgres: DurablePostgres, fault_audit_key: str
) -> Iterator[ServiceProcess]:
    """`clubfund serve` on the fault tests' PostgreSQL; stopped after (whatever happened)."""
    directory = readable_temporary_directory("clubfund-faults-serve-")
    process = ServiceProcess(durable_postgres.embedded.app_url, fault_audit_key, directory)
    try:
        process.start()
        yield process
    finally:
        process.stop()
        shutil.rmtree(directory, ignore_errors=True)
