"""Liveness, readiness and metrics."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from service.errors import problem_responses

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses=problem_responses())
async def readyz(request: Request) -> dict[str, Any]:
    """The database answers and the schema is migrated; 503 `database_unavailable` while the
    database is unreachable. (`/healthz` and `/metrics` need no database: they stay 200.)"""
    connection = request.state.connection
    revision = await connection.fetchval("SELECT version_num FROM alembic_version LIMIT 1")
    return {"status": "ready", "schema_revision": revision}


@router.get("/metrics", response_class=PlainTextResponse)
async def metrics(request: Request) -> str:
    """Prometheus text format: request counts by status class, pool use, uptime."""
    stats = request.app.state.request_stats
    pool = request.app.state.pool
    lines = [
        "# TYPE clubfund_requests_total counter",
        *(f'clubfund_requests_total{{status="{k}"}} {v}' for k, v in sorted(stats.items())),
        "# TYPE clubfund_db_pool_size gauge",
        f"clubfund_db_pool_size {pool.get_size()}",
        "# TYPE clubfund_db_pool_idle gauge",
        f"clubfund_db_pool_idle {pool.get_idle_size()}",
        "# TYPE clubfund_uptime_seconds gauge",
        f"clubfund_uptime_seconds {time.monotonic() - request.app.state.started_monotonic:.0f}",
    ]
    return "\n".join(lines) + "\n"
