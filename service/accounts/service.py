from __future__ import annotations

import uuid

import asyncpg

from ledger.accounts import AccountType, Side, signed_balance
from ledger.money import check_currency
from service.accounts import repository
from service.accounts.schemas import AccountCreate, AccountRead
from service.audit.schemas import AuditStamp
from service.audit.service import record_write
from service.context import RequestContext
from service.errors import NotFound
from service.funds import repository as funds
from service.funds.service import open_fund_write
from service.ids import new_id
from service.pagination import Page, decode_cursor, make_page, text_key


def account_from_record(record: asyncpg.Record) -> AccountRead:
    side = Side(record["normal_side"])
    return AccountRead(
        **{k: record[k] for k in (
            "id", "fund_id", "code", "name", "type", "allow_negative", "currency",
            "debits", "credits", "postings_count", "created_at", "audit",
        )},
        normal_side=side,
        balance=signed_balance(side, record["debits"], record["credits"]),
    )


async def create_account(
    ctx: RequestContext, fund_id: uuid.UUID, body: AccountCreate
) -> AccountRead:
    fund = await open_fund_write(ctx, fund_id)
    currency = check_currency(body.currency or fund.currency)
    account_type = AccountType(body.type)
    account_id = new_id()
    await repository.insert_account(
        ctx.connection, fund_id=fund_id, account_id=account_id, code=body.code, name=body.name,
        type=account_type.value, normal_side=account_type.normal_side.value,
        allow_negative=body.allow_negative, currency=currency, now=ctx.now,
    )
    account = AccountRead(
        id=account_id, fund_id=fund_id, code=body.code, name=body.name, type=account_type,
        normal_side=account_type.normal_side, allow_negative=body.allow_negative,
        currency=currency, balance=0, debits=0, credits=0, postings_count=0, created_at=ctx.now,
    )
    stamp = await record_write(
        ctx, fund_id, "account.created", account.model_dump(mode="json", exclude={"audit"})
    )
    account.audit = AuditStamp(**stamp)
    return account


async def get_account(ctx: RequestContext, account_id: uuid.UUID) -> AccountRead:
    record = await repository.get_account(ctx.connection, account_id)
    if record is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("account", account_id)
    return account_from_record(record)


async def list_accounts(
    ctx: RequestContext, fund_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[AccountRead]:
    ctx.require_fund(fund_id)
    if await funds.get_fund(ctx.connection, fund_id) is None:
        raise NotFound("fund", fund_id)
    after = decode_cursor(cursor, text_key)
    rows = await repository.list_accounts(
        ctx.connection, fund_id, after[0] if after else None, limit + 1
    )
    return make_page([account_from_record(r) for r in rows], limit, lambda a: [a.code])
