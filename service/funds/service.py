from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date

import asyncpg

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


@dataclass(frozen=True)
class DaysWanted:
    """What a write needs the core to judge, read under the fund's lock: the daily
    totals of those of `account_ids` that may not go negative from `days_from` on and,
    with `with_loans`, which of them are a loan's receivable."""

    account_ids: list[uuid.UUID]
    days_from: date
    with_loans: bool = False


async def open_fund_write(ctx: RequestContext, fund_id: uuid.UUID) -> FundWrite:
    """The one entry point of a write to a fund (`open_fund_write_reading`, no days)."""
    fund, _ = await open_fund_write_reading(ctx, fund_id, None)
    return fund


async def open_fund_write_reading(
    ctx: RequestContext, fund_id: uuid.UUID, wanted: DaysWanted | None
) -> tuple[FundWrite, list[asyncpg.Record]]:
    """The one entry point of a write to a fund: names the fund as the request's (404
    outside the caller's scope), takes its lock once per request and hands back its
    currency, club, latest closed month and entry sequence, with the rows of the
    accounts' days `wanted` (`repository.never_negative_days`), read after the lock in
    the same round trip. Every domain write starts here; a second call in the same
    request reuses the lock (and reads the days alone)."""
    ctx.writes_to_fund(fund_id)
    held = ctx.transaction.fund_write
    if held is not None and held.fund_id == fund_id:
        if wanted is None:
            return held, []
        return held, await repository.never_negative_days(
            ctx.connection, fund_id, wanted.account_ids, wanted.days_from, wanted.with_loans)
    rows = await repository.lock_fund(
        ctx.connection, fund_id, [] if wanted is None else wanted.account_ids,
        None if wanted is None else wanted.days_from,
        False if wanted is None else wanted.with_loans,
    )
    if not rows:
        raise NotFound("fund", fund_id)
    record = rows[0]
    held = FundWrite(
        fund_id=fund_id, currency=record["currency"], club_id=record["club_id"],
        closed_period=record["closed_period"], last_sequence=record["entry_count"],
    )
    ctx.transaction.fund_write = held
    return held, [row for row in rows if row["account_id"] is not None]
