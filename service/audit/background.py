"""Heads signed when a log grows, and checkpoints offered to witnesses, off the read path.

- Before a request that wrote commits, `sign_heads_before_commit` signs and keeps
  the head of every log it grew, in its own transaction: a later GET of the head,
  the checkpoint or a receipt only reads.
- `run_audit_background` (started with the app) wakes after each such commit and
  every `CLUBFUND_AUDIT_SWEEP_SECONDS`: it keeps heads for logs grown outside the
  API (the command line, the demo loader), then offers each new checkpoint to the
  configured witnesses (`service.audit.witnessing`). A write never waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from service.audit import repository
from service.audit.service import GLOBAL_LOG_ID, sign_new_heads
from service.audit.signing import AuditSigner, load_signer
from service.audit.witnessing import WitnessOutcome, parse_witnesses, submit_new_checkpoints
from service.auth.repository import grant_all_funds
from service.errors import AuditKeyMissing

log = logging.getLogger("clubfund.audit")


def app_signer(app: Any) -> AuditSigner:
    """The app's signing key, loaded from its settings once (`AuditKeyMissing` if none)."""
    signer: AuditSigner | None = getattr(app.state, "audit_signer", None)
    if signer is None:
        signer = load_signer(app.state.settings)
        app.state.audit_signer = signer
    return signer


async def sign_heads_before_commit(
    app: Any, connection: asyncpg.Connection, log_ids: set[uuid.UUID]
) -> None:
    """Keep a signed head for each log this request grew (inside its transaction)."""
    try:
        signer = app_signer(app)
    except AuditKeyMissing:
        return
    now = datetime.now(UTC)
    fund_logs = set(log_ids) - {GLOBAL_LOG_ID}
    await sign_new_heads(connection, signer, fund_logs, now)
    if GLOBAL_LOG_ID in log_ids:
        try:
            async with connection.transaction():  # a savepoint
                await sign_new_heads(connection, signer, [GLOBAL_LOG_ID], now)
        except asyncpg.InsufficientPrivilegeError:
            # The service-wide log is outside a scoped caller's row-level security;
            # the background task keeps its head.
            pass


def wake_background(app: Any) -> None:
    event: asyncio.Event | None = getattr(app.state, "audit_event", None)
    if event is not None:
        event.set()


async def audit_round(app: Any, client: httpx.AsyncClient) -> None:
    """One pass: keep heads for grown logs, then offer new checkpoints to witnesses."""
    signer = app_signer(app)
    witnesses = parse_witnesses(app.state.settings.witnesses)
    outcomes: dict[str, WitnessOutcome] = app.state.witness_outcomes
    async with app.state.pool.acquire() as connection:
        async with connection.transaction():
            await grant_all_funds(connection)
            grown = await repository.logs_without_current_head(connection, signer.key_id)
            await sign_new_heads(connection, signer, grown, datetime.now(UTC))
        if witnesses:
            async with connection.transaction():
                await grant_all_funds(connection)
                await submit_new_checkpoints(connection, signer, witnesses, client, outcomes)


async def run_audit_background(app: Any) -> None:
    """Loop until cancelled; a failing round is logged and retried at the next wake-up."""
    event: asyncio.Event = app.state.audit_event
    seconds = float(app.state.settings.audit_sweep_seconds)
    async with httpx.AsyncClient() as client:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), seconds)
            event.clear()
            try:
                await audit_round(app, client)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("audit background round failed")


@contextlib.asynccontextmanager
async def audit_background(app: Any) -> Any:
    """Run the background task for the app's lifetime (when a signing key is configured)."""
    app.state.audit_event = asyncio.Event()
    app.state.witness_outcomes = {}
    try:
        app_signer(app)
    except AuditKeyMissing:
        yield
        return
    parse_witnesses(app.state.settings.witnesses)  # a bad configuration stops start-up
    task = asyncio.create_task(run_audit_background(app), name="clubfund-audit-background")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
