"""PostgreSQL stopped under a running `clubfund serve`: on one keep-alive connection every
route needing the database answers 503 `database_unavailable` with Retry-After, /readyz
included, /healthz stays 200, /metrics counts the 503s; PostgreSQL started again: the API
is ready within 5 s, on the same connection. (Crashes under load:
test_faults_under_load.py.)
"""

from __future__ import annotations

import http.client
import json
import re
import time

import pytest

from tests.faults.harness import (
    RECOVERY_SECONDS_MAX,
    DurablePostgres,
    ServiceProcess,
)

pytestmark = pytest.mark.slow


def requests_total(metrics_text: str, status_class: str) -> int:
    match = re.search(rf'clubfund_requests_total{{status="{status_class}"}} (\d+)', metrics_text)
    return int(match.group(1)) if match else 0


def test_while_the_database_is_down_every_route_answers_503_on_a_kept_alive_connection(
    durable_postgres: DurablePostgres, fault_service: ServiceProcess, fault_admin_token: str,
) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", fault_service.port, timeout=30)
    authorised = {"Authorization": f"Bearer {fault_admin_token}"}

    def ask(method: str, path: str, body: dict[str, object] | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        payload = None if body is None else json.dumps(body)
        connection.request(method, path, body=payload,
                           headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        content = response.read()
        assert not response.will_close, f"{method} {path}: the server closes the connection"
        return response.status, dict(response.getheaders()), content

    status, _, _ = ask("GET", "/readyz")
    assert status == 200
    held_socket = connection.sock
    metrics_before = ask("GET", "/metrics")[2].decode()
    calls = [
        ("GET", "/readyz", None, {}),
        ("GET", "/v1/funds", None, {}),
        ("GET", "/v1/funds", None, authorised),
        ("POST", "/v1/funds", {"name": "Quỹ", "currency": "VND"},
         {**authorised, "Idempotency-Key": f"outage-{time.time_ns()}"}),
        ("GET", "/v1/reports/portfolio?area=VN", None, authorised),
        ("GET", "/no-such-route", None, {}),
    ]
    durable_postgres.stop_immediately()
    try:
        for method, path, body, headers in calls * 2:
            status, response_headers, content = ask(method, path, body, headers)
            assert status == 503, (method, path, content)
            assert response_headers["content-type"] == "application/problem+json"
            assert json.loads(content)["code"] == "database_unavailable"
            assert int(response_headers["retry-after"]) >= 1
            assert connection.sock is held_socket, "the keep-alive connection was replaced"
        assert ask("GET", "/healthz")[0] == 200
        metrics_during = ask("GET", "/metrics")[2].decode()
        assert (requests_total(metrics_during, "5xx") - requests_total(metrics_before, "5xx")
                == len(calls) * 2)
    finally:
        if not durable_postgres.is_running():
            durable_postgres.start()
    back = time.monotonic()
    while True:
        status, _, content = ask("GET", "/readyz")
        if status == 200 or time.monotonic() - back > RECOVERY_SECONDS_MAX * 4:
            break
        time.sleep(0.05)
    recovery_seconds = time.monotonic() - back
    assert status == 200, content
    assert recovery_seconds <= RECOVERY_SECONDS_MAX, f"ready again after {recovery_seconds:.1f} s"
    assert connection.sock is held_socket
    connection.close()
