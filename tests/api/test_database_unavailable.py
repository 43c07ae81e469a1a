"""While the database is unreachable every route that needs it answers 503
`database_unavailable` as problem+json with Retry-After; /metrics counts every answer,
including the ones made from exceptions that got past the handlers; the service refuses a
database that may lose acknowledged writes.

(The same with a real uvicorn and a real PostgreSQL stopped and restarted, keep-alive
connection included: tests/faults/test_database_outage.py.)"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import secrets
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from service import transactions
from service.app import create_app
from service.database import NonDurableDatabase, init_connection
from service.settings import Settings
from tests.conftest import Database

# Routes that do not touch the database: they stay 200 while it is down.
NO_DATABASE_ROUTES = {"/healthz", "/metrics"}


def closed_port() -> int:
    """A loopback port nobody listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def unreachable_app(audit_signing_key: str) -> AsyncIterator[Any]:
    """The app with a pool whose server does not answer (refused connections)."""
    pool = await asyncpg.create_pool(
        f"postgresql://clubfund_app@127.0.0.1:{closed_port()}/clubfund",
        min_size=0, max_size=4, init=init_connection, timeout=2,
    )
    yield create_app(Settings(database_url="postgresql://unused",
                              audit_signing_key=audit_signing_key), pool=pool)
    await pool.close()


def concrete_path(template: str) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if "month" in name or "period" in name:
            return "2026-01"
        if name == "code":
            return "VN-01"
        return str(uuid.uuid4())

    return re.sub(r"\{([^}:]+)(?::[^}]*)?\}", value, template)


def database_routes(app: Any) -> list[tuple[str, str]]:
    return sorted(
        (method.upper(), concrete_path(path))
        for path, operations in app.openapi()["paths"].items() if path not in NO_DATABASE_ROUTES
        for method in operations
    )


def assert_database_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.request.url, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "database_unavailable"
    assert int(response.headers["retry-after"]) >= 1


async def test_every_route_answers_503_problem_while_the_database_is_unreachable(
    unreachable_app: Any,
) -> None:
    routes = database_routes(unreachable_app)
    assert len(routes) > 50
    transport = httpx.ASGITransport(app=unreachable_app)
    for token in (None, "not-checkable-now"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://clubfund.test",
                                     headers=headers) as http:
            for method, path in routes:
                body = {} if method in ("POST", "PUT", "PATCH") else None
                response = await http.request(
                    method, path, json=body, headers={"Idempotency-Key": "k-" + path[-12:]}
                )
                assert_database_unavailable(response)
            assert (await http.get("/healthz")).status_code == 200


async def test_readyz_answers_503_while_the_database_is_unreachable(
    unreachable_app: Any,
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unreachable_app),
                                 base_url="http://clubfund.test") as anonymous:
        assert_database_unavailable(await anonymous.get("/readyz"))


def counted(metrics_text: str) -> dict[str, int]:
    return {
        match.group(1): int(match.group(2))
        for match in re.finditer(r'clubfund_requests_total\{status="(\dxx)"\} (\d+)', metrics_text)
    }


async def test_metrics_count_every_answer_while_the_database_is_unreachable(
    unreachable_app: Any,
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=unreachable_app),
                                 base_url="http://clubfund.test") as anonymous:
        for path in ("/readyz", "/v1/funds", f"/v1/funds/{uuid.uuid4()}", "/no-such-route"):
            assert_database_unavailable(await anonymous.get(path))
        assert_database_unavailable(await anonymous.post("/v1/funds", json={}))
        assert (await anonymous.get("/healthz")).status_code == 200
        metrics = await anonymous.get("/metrics")
    assert metrics.status_code == 200
    assert counted(metrics.text) == {"5xx": 5, "2xx": 1}


async def test_an_exception_past_every_handler_is_a_counted_problem_500(
    anonymous: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert (await anonymous.get("/readyz")).status_code == 200

    async def broken_authorisation(*_: Any) -> None:
        raise RuntimeError("a bug outside every handler")

    monkeypatch.setattr(transactions, "authorise_request", broken_authorisation)
    response = await anonymous.get("/readyz")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "internal_error"
    assert "a bug" not in response.text  # logged, not shown
    assert counted((await anonymous.get("/metrics")).text) == {"2xx": 1, "5xx": 1}


def service_settings(database: Database, **overrides: Any) -> Settings:
    signing_key = base64.b64encode(secrets.token_bytes(32)).decode()
    return Settings(database_url=database.app_url, audit_signing_key=signing_key, **overrides)


async def test_the_service_refuses_a_database_that_may_lose_acknowledged_writes(
    database: Database,
) -> None:
    # The test suite's server runs with fsync, synchronous_commit and full_page_writes off.
    app = create_app(service_settings(database))
    with pytest.raises(NonDurableDatabase) as refused:
        async with app.router.lifespan_context(app):
            pytest.fail("the service started on a non-durable database")
    message = str(refused.value)
    for setting in ("fsync = off", "synchronous_commit = off", "full_page_writes = off"):
        assert setting in message
    assert "CLUBFUND_ALLOW_NON_DURABLE_DATABASE" in message


async def test_a_test_suite_may_allow_a_non_durable_database_explicitly(
    database: Database,
) -> None:
    app = create_app(service_settings(database, allow_non_durable_database=True))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://clubfund.test") as anonymous:
            assert (await anonymous.get("/readyz")).status_code == 200


def test_the_durability_check_is_on_unless_the_environment_turns_it_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CLUBFUND_ALLOW_NON_DURABLE_DATABASE", raising=False)
    assert Settings().allow_non_durable_database is False
    monkeypatch.setenv("CLUBFUND_ALLOW_NON_DURABLE_DATABASE", "true")
    assert Settings().allow_non_durable_database is True


async def test_serve_refuses_a_non_durable_database_with_a_clear_message(
    database: Database,
) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CLUBFUND_")}
    environment.update({"DATABASE_URL": database.app_url,
                        "CLUBFUND_AUDIT_SIGNING_KEY": "unused-when-refused"})
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "service.cli", "serve", "--port", str(closed_port())],
        env=environment, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "clubfund will not serve" in result.stderr
    assert "fsync = off" in result.stderr
    assert "listening" not in result.stdout
