"""Posting and reading journal entries."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from ledger import periods
from ledger.accounts import Side
from ledger.chart import VoucherKind
from ledger.chart import voucher_number as format_voucher_number
from ledger.dates import check_not_future
from ledger.entries import (
    AccountDays,
    DayTotals,
    Entry,
    Posting,
    build_entry,
    check_never_negative,
    content_hash,
)
from ledger.money import check_currency
from service.audit.schemas import AuditStamp
from service.audit.service import record_write
from service.context import RequestContext
from service.entries import repository
from service.entries.schemas import EntryCreate, EntryRead, PostingRead
from service.errors import LoanAccountPosting, NotFound
from service.funds import repository as funds
from service.funds.service import open_fund_write
from service.ids import new_id
from service.language import Text
from service.pagination import Page, decode_cursor, make_page, sequence_key
from service.vouchers import repository as vouchers


async def post_entry(
    ctx: RequestContext, fund_id: uuid.UUID, entry: Entry, voucher_number: str | None = None,
    voucher_kind: VoucherKind | None = None,
) -> EntryRead:
    """Write a validated entry. The one path every posting takes.

    Under the fund's lock (`open_fund_write`, taken once per request): the entry's date
    must not be after today (`future_date`) nor in a closed month (`period_closed`);
    no account that may not go negative may end any day from that date on below zero
    (`insufficient_funds`, decided by the core from the daily balances read here, the
    database constraint being the second guard). Then the voucher counter when
    `voucher_kind` is given (receipt PT or payment PC: the next number of the fund in
    the entry's year) and one statement for the entry, its postings and the fund's
    entry counter; balances move by trigger.
    """
    fund = await open_fund_write(ctx, fund_id)
    check_not_future(entry.effective_date, ctx.business_date, "effective_date")
    periods.check_open(entry.effective_date, fund.closed_period)
    rows = await repository.never_negative_days(
        ctx.connection, fund_id, sorted({uuid.UUID(p.account_id) for p in entry.postings}),
        entry.effective_date,
    )
    check_never_negative(entry.postings, entry.effective_date, account_days(rows))
    if voucher_kind is not None:
        year = entry.effective_date.year
        number = await vouchers.next_voucher_number(
            ctx.connection, fund_id, voucher_kind.value, year
        )
        voucher_number = format_voucher_number(voucher_kind, year, number)
    sequence = fund.take_sequence()
    entry_id = new_id()
    currency = entry.postings[0].currency
    document = entry_document(
        fund_id, entry_id, sequence, voucher_number, entry, currency,
        ctx.now.isoformat(), ctx.actor,
    )
    entry_hash = content_hash(document)
    await repository.insert_entry(
        ctx.connection, fund_id=fund_id, entry_id=entry_id, sequence=sequence,
        voucher_number=voucher_number, effective_date=entry.effective_date,
        recorded_at=ctx.now, description=entry.description, currency=currency,
        metadata=dict(entry.metadata),
        reverses_entry_id=uuid.UUID(entry.reverses_entry_id) if entry.reverses_entry_id else None,
        actor=ctx.actor, hash=entry_hash,
        account_ids=[uuid.UUID(p.account_id) for p in entry.postings],
        sides=[p.side.value for p in entry.postings],
        amounts=[p.amount for p in entry.postings],
        currencies=[p.currency for p in entry.postings],
    )
    action = "entry.reversal_posted" if entry.reverses_entry_id else "entry.posted"
    stamp = await record_write(ctx, fund_id, action, document)
    return EntryRead(
        id=entry_id, fund_id=fund_id, sequence=sequence, voucher_number=voucher_number,
        effective_date=entry.effective_date, recorded_at=ctx.now,
        description=entry.description, currency=currency,
        postings=[
            PostingRead(line=n, account_id=uuid.UUID(p.account_id), side=p.side,
                        amount=p.amount, currency=p.currency)
            for n, p in enumerate(entry.postings, start=1)
        ],
        metadata=dict(entry.metadata),
        reverses_entry_id=uuid.UUID(entry.reverses_entry_id) if entry.reverses_entry_id else None,
        actor=ctx.actor, hash=entry_hash, audit=AuditStamp(**stamp),
    )


def account_days(rows: list[asyncpg.Record]) -> list[AccountDays]:
    """The rows of `repository.never_negative_days` as the core's AccountDays."""
    by_account: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for row in rows:
        by_account.setdefault(row["account_id"], []).append(row)
    return [
        AccountDays(
            account_id=str(account_id), code=group[0]["code"],
            normal_side=Side(group[0]["normal_side"]),
            days=tuple(DayTotals(r["effective_date"], r["debits"], r["credits"])
                       for r in group if r["effective_date"] is not None),
        )
        for account_id, group in by_account.items()
    ]


def entry_document(
    fund_id: uuid.UUID, entry_id: uuid.UUID, sequence: int, voucher_number: str | None,
    entry: Entry, currency: str, recorded_at: str, actor: str,
) -> dict[str, Any]:
    """The entry's content as hashed into `hash` (and, later, into its audit record)."""
    return {
        "id": str(entry_id), "fund_id": str(fund_id), "sequence": sequence,
        "voucher_number": voucher_number, "effective_date": entry.effective_date.isoformat(),
        "recorded_at": recorded_at, "description": entry.description, "currency": currency,
        "postings": [
            {"line": n, "account_id": p.account_id, "side": p.side.value,
             "amount": p.amount, "currency": p.currency}
            for n, p in enumerate(entry.postings, start=1)
        ],
        "metadata": dict(entry.metadata), "reverses_entry_id": entry.reverses_entry_id,
        "actor": actor,
    }


async def create_entry(ctx: RequestContext, fund_id: uuid.UUID, body: EntryCreate) -> EntryRead:
    """A journal entry from the API. It may not touch a loan's receivable account: that
    moves only through the loan's disbursement, repayments and write-off, which keep
    the loan register and the ledger equal."""
    currency = check_currency(body.currency)
    entry = build_entry(
        body.effective_date, body.description,
        [Posting(str(p.account_id), p.side, p.amount, currency) for p in body.postings],
        body.metadata,
    )
    if ctx.sees_fund(fund_id):
        loan_accounts = await repository.loan_accounts_among(
            ctx.connection, fund_id, [p.account_id for p in body.postings])
        if loan_accounts:
            numbers = ", ".join(str(r["number"]) for r in loan_accounts)
            raise LoanAccountPosting(
                Text("the entry posts to the account of loan number {numbers}; use the"
                     " loan's repayment or write-off instead",
                     "bút toán ghi vào tài khoản của khoản vay số {numbers}; hãy dùng nghiệp"
                     " vụ trả nợ hoặc xóa nợ của khoản vay"),
                numbers=numbers)
    return await post_entry(ctx, fund_id, entry)


def entry_from_record(record: asyncpg.Record) -> EntryRead:
    values = dict(record)
    values["postings"] = [PostingRead(**p) for p in (values["postings"] or [])]
    return EntryRead(**values)


def ledger_entry(read: EntryRead) -> Entry:
    return Entry(
        effective_date=read.effective_date, description=read.description,
        postings=tuple(
            Posting(str(p.account_id), Side(p.side), p.amount, p.currency) for p in read.postings
        ),
        metadata=read.metadata,
        reverses_entry_id=str(read.reverses_entry_id) if read.reverses_entry_id else None,
    )


async def get_entry(ctx: RequestContext, entry_id: uuid.UUID) -> EntryRead:
    record = await repository.get_entry(ctx.connection, entry_id)
    if record is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("entry", entry_id)
    return entry_from_record(record)


async def list_entries(
    ctx: RequestContext, fund_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[EntryRead]:
    ctx.require_fund(fund_id)
    if await funds.get_fund(ctx.connection, fund_id) is None:
        raise NotFound("fund", fund_id)
    after = decode_cursor(cursor, sequence_key)
    rows = await repository.list_entries(
        ctx.connection, fund_id, after[0] if after else None, limit + 1
    )
    return make_page([entry_from_record(r) for r in rows], limit, lambda e: [e.sequence])
