"""Closing months. Rules in `ledger/periods.py`: a month closes once it has ended,
months close in order, and nothing may be dated in a closed month afterwards
(`post_entry` refuses it, and so does a trigger on entries and postings)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from ledger import periods
from service.audit import repository as audit
from service.audit.schemas import AuditStamp
from service.audit.service import record_write
from service.context import RequestContext
from service.errors import NotFound
from service.funds import repository as funds
from service.funds.service import open_fund_write
from service.pagination import Page, decode_cursor, make_page, period_key
from service.periods import repository
from service.periods.schemas import ClosedPeriodRead


def period_subject(fund_id: uuid.UUID, period: str) -> uuid.UUID:
    """The id a month's close is recorded under in the fund's audit log (the record's
    `id`): the same for every close of that month, so its latest close is found."""
    return uuid.uuid5(fund_id, f"period:{period}")


def closed_period_read(
    record: asyncpg.Record, stamps: dict[uuid.UUID, dict[str, Any]]
) -> ClosedPeriodRead:
    period: date = record["period"]
    text = periods.format_period(period)
    stamp = stamps.get(period_subject(record["fund_id"], text))
    return ClosedPeriodRead(
        fund_id=record["fund_id"], period=text, first_day=period,
        last_day=periods.period_end(period), closed_at=record["closed_at"],
        actor=record["actor"], audit=AuditStamp(**stamp) if stamp else None,
    )


async def close_period(ctx: RequestContext, fund_id: uuid.UUID, text: str) -> ClosedPeriodRead:
    period = periods.parse_period(text)
    fund = await open_fund_write(ctx, fund_id)
    periods.check_close(period, fund.closed_period, ctx.business_date)
    fund.closed_period = period
    await repository.insert_closed_period(ctx.connection, fund_id, period, ctx.now, ctx.actor)
    closed = ClosedPeriodRead(
        fund_id=fund_id, period=periods.format_period(period), first_day=period,
        last_day=periods.period_end(period), closed_at=ctx.now, actor=ctx.actor,
    )
    stamp = await record_write(ctx, fund_id, "period.closed", {
        "id": str(period_subject(fund_id, closed.period)),
        **closed.model_dump(mode="json", exclude={"audit"}),
    })
    closed.audit = AuditStamp(**stamp)
    return closed


async def list_closed_periods(
    ctx: RequestContext, fund_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[ClosedPeriodRead]:
    ctx.require_fund(fund_id)
    if await funds.get_fund(ctx.connection, fund_id) is None:
        raise NotFound("fund", fund_id)
    after = decode_cursor(cursor, period_key)
    rows = await repository.list_closed_periods(
        ctx.connection, fund_id, date.fromisoformat(after[0] + "-01") if after else None,
        limit + 1,
    )
    stamps = await audit.latest_audit_stamps(
        ctx.connection, fund_id,
        [period_subject(fund_id, periods.format_period(r["period"])) for r in rows],
        "period.closed",
    )
    return make_page([closed_period_read(r, stamps) for r in rows], limit,
                     lambda p: [p.period])
