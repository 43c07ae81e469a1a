"""What a request hands to a service function: its connection (inside the
request's one transaction), who is acting, and the time read once at its start."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Request

BUSINESS_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class RequestContext:
    connection: asyncpg.Connection
    actor: str
    now: datetime
    request_id: str
    state: Any

    @property
    def business_date(self) -> date:
        """Today in Viet Nam: the default effective date."""
        return self.now.astimezone(BUSINESS_TIMEZONE).date()

    def writes_to_fund(self, fund_id: uuid.UUID) -> None:
        """Name the fund this request writes to (its idempotency record lives there)."""
        self.state.fund_id = fund_id


async def get_context(request: Request) -> RequestContext:
    request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
    return RequestContext(
        connection=request.state.connection,
        actor=getattr(request.state, "principal_id", "anonymous"),
        now=datetime.now(UTC),
        request_id=request_id[:100],
        state=request.state,
    )
