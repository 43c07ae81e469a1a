from __future__ import annotations

import uuid

from ledger.money import check_currency
from service.audit.schemas import AuditStamp
from service.audit.service import record_write
from service.context import FundWrite, RequestContext
from service.errors import NotFound
from service.funds import repository
from service.funds.schemas import FundCreate, FundRead
from service.ids import new_id
from service.pagination import Page, decode_cursor, make_page, uuid_key


async def create_fund(ctx: RequestContext, body: FundCreate) -> FundRead:
    check_currency(body.currency)
    fund_id = new_id()
    ctx.writes_to_fund(fund_id)
    record = await repository.insert_fund(
        ctx.connection, fund_id, body.name, body.currency, ctx.now
    )
    fund = FundRead(**dict(record))
    stamp = await record_write(
        ctx, fund_id, "fund.created", fund.model_dump(mode="json", exclude={"audit"})
    )
    fund.audit = AuditStamp(**stamp)
    return fund


async def get_fund(ctx: RequestContext, fund_id: uuid.UUID) -> FundRead:
    ctx.require_fund(fund_id)
    record = await repository.get_fund(ctx.connection, fund_id)
    if record is None:
        raise NotFound("fund", fund_id)
    return FundRead(**dict(record))


async def list_funds(ctx: RequestContext, limit: int, cursor: str | None) -> Page[FundRead]:
    after = decode_cursor(cursor, uuid_key)
    rows = await repository.list_funds(
        ctx.connection, after[0] if after else None, limit + 1, ctx.fund_scope
    )
    return make_page([FundRead(**dict(r)) for r in rows], limit, lambda f: [str(f.id)])


async def open_fund_write(ctx: RequestContext, fund_id: uuid.UUID) -> FundWrite:
    """The one entry point of a write to a fund: names the fund as the request's (404
    outside the caller's scope), takes its lock once per request and hands back its
    currency, club, latest closed month and entry sequence. Every domain write starts
    here; a second call in the same request reuses the lock."""
    ctx.writes_to_fund(fund_id)
    held = ctx.transaction.fund_write
    if held is not None and held.fund_id == fund_id:
        return held
    record = await repository.lock_fund(ctx.connection, fund_id)
    if record is None:
        raise NotFound("fund", fund_id)
    held = FundWrite(
        fund_id=fund_id, currency=record["currency"], club_id=record["club_id"],
        closed_period=record["closed_period"], last_sequence=record["entry_count"],
    )
    ctx.transaction.fund_write = held
    return held
