"""What a request hands to a service function: its connection (inside the
request's one transaction), who is acting, and the time read once at its start."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from fastapi import Request

from ledger.dates import check_not_future
from service.auth.principal import Principal
from service.errors import NotFound

BUSINESS_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")


@dataclass
class TransactionState:
    """What the request's transaction holds: the fund it locked for writing (at most one:
    no request writes to two). Contexts that share one transaction share this."""

    fund_write: FundWrite | None = None


@dataclass
class FundWrite:
    """The fund a request writes to, locked for the rest of its transaction
    (`service.funds.service.open_fund_write`): its currency, club, latest closed month
    and the last entry sequence used. `take_sequence` hands out the next one."""

    fund_id: uuid.UUID
    currency: str
    club_id: uuid.UUID | None
    closed_period: date | None
    last_sequence: int

    def take_sequence(self) -> int:
        self.last_sequence += 1
        return self.last_sequence


@dataclass
class RequestContext:
    connection: asyncpg.Connection
    actor: str
    now: datetime
    request_id: str
    state: Any
    # The authenticated caller (None only on public routes); `actor` is its stable id.
    principal: Principal | None = None
    transaction: TransactionState = field(default_factory=TransactionState)

    @property
    def acting_member_id(self) -> uuid.UUID | None:
        """The club member the acting person is (None: not a member, or not a person)."""
        return self.principal.member_id if self.principal else None

    @property
    def business_date(self) -> date:
        """Today in Viet Nam: the default effective date."""
        return self.now.astimezone(BUSINESS_TIMEZONE).date()

    def past_date(self, day: date | None, what: str = "effective_date") -> date:
        """`day` (default: today) when it is not after today in Viet Nam; FutureDate
        otherwise. Every date of something that happened, and every date a report or
        a position is seen at, passes here."""
        return check_not_future(day or self.business_date, self.business_date, what)

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
    connection: asyncpg.Connection, actor: str, now: datetime, request_id: str,
    transaction: TransactionState | None = None,
) -> RequestContext:
    """The context of an operator's command (the command line, the demo loader): no
    principal, every fund (the caller has granted them on `connection`). Contexts
    sharing one database transaction pass its `TransactionState` (the fund lock held)."""
    return RequestContext(connection=connection, actor=actor, now=now, request_id=request_id,
                          state=SimpleNamespace(), transaction=transaction or TransactionState())


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
