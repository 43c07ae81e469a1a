"""The FastAPI application."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.accounts.endpoints import router as accounts_router
from service.areas.endpoints import router as areas_router
from service.audit.endpoints import router as audit_router
from service.auth.openapi import document_access
from service.cashbook.endpoints import router as cashbook_router
from service.clubs.endpoints import router as clubs_router
from service.corrections.endpoints import router as corrections_router
from service.database import create_pool
from service.entries.endpoints import router as entries_router
from service.errors import install_error_handlers
from service.funds.endpoints import router as funds_router
from service.loans.endpoints import router as loans_router
from service.operations.endpoints import router as operations_router
from service.periods.endpoints import router as periods_router
from service.reports.endpoints import router as reports_router
from service.settings import Settings, get_settings
from service.tokens.endpoints import router as tokens_router
from service.transactions import TransactionMiddleware

DESCRIPTION = """
Double-entry ledger for the revolving income funds of Vietnam's Intergenerational
Self-Help Clubs. Amounts are JSON integers in the currency's minor unit (VND: đồng);
errors are `application/problem+json` with a stable `code`; every POST honours
`Idempotency-Key`; lists page with `?limit=&cursor=`.
"""


class RequestStatsMiddleware:
    """Counts responses by status class for /metrics."""

    def __init__(self, app: ASGIApp, stats: Counter[str]) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.stats[f"{message['status'] // 100}xx"] += 1
            await send(message)

        await self.app(scope, receive, counting_send)


def create_app(settings: Settings | None = None, pool: asyncpg.Pool | None = None) -> FastAPI:
    """The app. With `pool` given (tests), it uses it; otherwise it opens one on startup."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owns_pool = pool is None
        if owns_pool:
            if settings.database_url is None:
                raise RuntimeError("DATABASE_URL is not set")
            app.state.pool = await create_pool(
                settings.database_url, settings.pool_min_size, settings.pool_max_size
            )
        try:
            yield
        finally:
            if owns_pool:
                await app.state.pool.close()

    app = FastAPI(title="clubfund", version="1.0.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = pool
    app.state.request_stats = Counter()
    app.state.started_monotonic = time.monotonic()
    install_error_handlers(app)
    app.add_middleware(TransactionMiddleware)
    app.add_middleware(RequestStatsMiddleware, stats=app.state.request_stats)
    for router in (operations_router, funds_router, accounts_router, entries_router):
        app.include_router(router)
    for router in (areas_router, clubs_router, cashbook_router, loans_router, periods_router):
        app.include_router(router)
    app.include_router(corrections_router)
    app.include_router(reports_router)
    app.include_router(tokens_router)
    app.include_router(audit_router)
    document_access(app)
    return app
