"""What a request hands to a service function: its connection (inside the
request's one transaction), who is acting, and the time read once at its start."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Request

from service.auth.principal import Principal
from service.errors import NotFound

BUSINESS_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class RequestContext:
    connection: asyncpg.Connection
    actor: str
    now: datetime
    request_id: str
    state: Any
    # The authenticated caller (None only on public routes); `actor` is its stable id.
    principal: Principal | None = None

    @property
    def acting_member_id(self) -> uuid.UUID | None:
        """The club member the acting person is (None: not a member, or not a person)."""
        return self.principal.member_id if self.principal else None

    @property
    def business_date(self) -> date:
        """Today in Viet Nam: the default effective date."""
        return self.now.astimezone(BUSINESS_TIMEZONE).date()

    def writes_to_fund(self, fund_id: uuid.UUID) -> None:
        """Name the fund this request writes to (its idempotency record lives there).

        A fund outside the caller's scope is not found (404), as if it did not exist.
        """
        self.require_fund(fund_id)
        self.state.fund_id = fund_id

    def sees_fund(self, fund_id: uuid.UUID) -> bool:
        """Is the fund inside the caller's scope? (Row-level security enforces the same
        in the database; this is the service's own check.)"""
        return self.principal is None or self.principal.sees_fund(fund_id)

    def require_fund(self, fund_id: uuid.UUID) -> None:
        """Raise NotFound for a fund outside the caller's scope."""
        if not self.sees_fund(fund_id):
            raise NotFound("fund", fund_id)

    @property
    def fund_scope(self) -> list[uuid.UUID] | None:
        """The funds in scope for list queries; None: every fund."""
        if self.principal is None or self.principal.fund_ids is None:
            return None
        return sorted(self.principal.fund_ids)

    def keeps_out_of_replay(self, *fields: str) -> None:
        """Top-level response fields (secrets) stored as null for Idempotency-Key replays."""
        self.state.replay_redacted_fields = fields


def operator_context(
    connection: asyncpg.Connection, actor: str, now: datetime, request_id: str
) -> RequestContext:
    """The context of an operator's command (the command line, the demo loader): no
    principal, every fund (the caller has granted them on `connection`)."""
    return RequestContext(connection=connection, actor=actor, now=now, request_id=request_id,
                          state=SimpleNamespace())


async def get_context(request: Request) -> RequestContext:
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    return RequestContext(
        connection=request.state.connection,
        actor=getattr(request.state, "actor", "anonymous"),
        now=datetime.now(UTC),
        request_id=request_id[:100],
        state=request.state,
        principal=getattr(request.state, "principal", None),
    )
