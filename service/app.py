"""The FastAPI application."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from service.accounts.endpoints import router as accounts_router
from service.api_docs import document_example_nulls
from service.api_docs import router as api_docs_router
from service.areas.endpoints import router as areas_router
from service.audit.background import audit_background
from service.audit.endpoints import router as audit_router
from service.auth.openapi import document_access
from service.auth.service import allowed_methods
from service.batches.endpoints import router as batches_router
from service.cashbook.endpoints import router as cashbook_router
from service.clubs.endpoints import router as clubs_router
from service.corrections.endpoints import router as corrections_router
from service.database import NonDurableDatabase, create_pool, require_durable_database
from service.entries.endpoints import router as entries_router
from service.errors import (
    MethodNotAllowed,
    document_problems,
    install_error_handlers,
    problem_for,
    problem_language,
)
from service.funds.endpoints import router as funds_router
from service.language import Text
from service.loans.endpoints import router as loans_router
from service.locations import LocationMiddleware, document_locations
from service.log_redaction import install_log_redaction
from service.operations.endpoints import router as operations_router
from service.pages.auditor_pages import router as auditor_pages_router
from service.pages.chair_pages import router as chair_pages_router
from service.pages.endpoints import router as pages_router
from service.pages.meeting_pages import router as meeting_pages_router
from service.pages.member_pages import router as member_pages_router
from service.pages.voucher_pages import router as voucher_pages_router
from service.people.endpoints import router as people_router
from service.periods.endpoints import router as periods_router
from service.programme.endpoints import router as programme_router
from service.query_parameters import refuse_unknown_query_parameters
from service.reports.endpoints import router as reports_router
from service.request_limits import RequestLimitsMiddleware, document_body_problems
from service.response_guard import ResponseGuardMiddleware
from service.settings import Settings, get_settings
from service.signin.endpoints import router as signin_router
from service.tokens.endpoints import router as tokens_router
from service.transactions import TransactionMiddleware, document_idempotency

DESCRIPTION = """
Double-entry ledger for the revolving income funds of Vietnam's Intergenerational
Self-Help Clubs. Amounts are JSON integers in the currency's minor unit (VND: đồng);
errors are `application/problem+json` with a stable `code`; every POST honours
`Idempotency-Key`; lists page with `?limit=&cursor=`; a query parameter a route does
not take is `400 unknown_query_parameter`; every 201 carries `Location`; problem titles
and details follow `Accept-Language` (Vietnamese or English, English by default).
"""


async def method_not_allowed(request: Request, _: Exception) -> JSONResponse:
    allowed = ", ".join(allowed_methods(request.scope))
    return problem_for(MethodNotAllowed(
        Text("{method} is not served on this path; it serves {allowed}",
             "đường dẫn này không phục vụ {method}; chỉ phục vụ {allowed}"),
        headers={"Allow": allowed}, method=request.method, allowed=allowed,
    ), problem_language(request))


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
                settings.database_url, settings.pool_min_size, settings.pool_max_size,
                settings.database_connect_timeout_seconds,
            )
            if not settings.allow_non_durable_database:
                try:
                    async with app.state.pool.acquire() as connection:
                        await require_durable_database(connection)
                except NonDurableDatabase:
                    await app.state.pool.close()
                    raise
        try:
            async with audit_background(app):
                yield
        finally:
            if owns_pool:
                await app.state.pool.close()

    install_log_redaction()
    app = FastAPI(title="clubfund", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  dependencies=[Depends(refuse_unknown_query_parameters)])
    app.state.settings = settings
    app.state.pool = pool
    app.state.request_stats = Counter()
    app.state.started_monotonic = time.monotonic()
    install_error_handlers(app)
    app.add_exception_handler(405, method_not_allowed)
    # Outermost last: stats see every answer the guard lets out; limits come before
    # authentication and the transaction.
    app.add_middleware(TransactionMiddleware)
    app.add_middleware(LocationMiddleware)
    app.add_middleware(RequestLimitsMiddleware)
    app.add_middleware(ResponseGuardMiddleware, stats=app.state.request_stats)
    for router in (operations_router, funds_router, accounts_router, entries_router):
        app.include_router(router)
    for router in (areas_router, clubs_router, cashbook_router, loans_router, periods_router):
        app.include_router(router)
    app.include_router(corrections_router)
    app.include_router(batches_router)
    app.include_router(reports_router)
    app.include_router(people_router)
    app.include_router(signin_router)
    app.include_router(programme_router)
    app.include_router(tokens_router)
    app.include_router(audit_router)
    app.include_router(api_docs_router)
    app.include_router(pages_router)
    app.include_router(auditor_pages_router)
    app.include_router(meeting_pages_router)
    app.include_router(chair_pages_router)
    app.include_router(voucher_pages_router)
    app.include_router(member_pages_router)
    document_locations(app)
    document_access(app)
    document_body_problems(app)
    document_idempotency(app)
    document_problems(app)
    document_example_nulls(app)
    return app
