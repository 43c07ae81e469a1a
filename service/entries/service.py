"""Posting and reading journal entries."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
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
    days_after_entry,
)
from ledger.money import check_currency
from service.audit.schemas import AuditStamp
from service.audit.service import audit_records, audit_stamps
from service.context import RequestContext
from service.entries import repository
from service.entries.repository import EntryRows
from service.entries.schemas import EntryCreate, EntryRead, PostingRead
from service.errors import LoanAccountPosting, NotFound
from service.funds import repository as funds
from service.funds.service import DaysWanted, open_fund_write_reading
from service.ids import new_id
from service.language import Text
from service.pagination import Page, decode_cursor, make_page, sequence_key
from service.vouchers import repository as vouchers


@dataclass(frozen=True)
class EntryToPost:
    """A validated entry and how it is numbered: a given voucher number, or the next of
    `voucher_kind` (receipt PT or payment PC) in the entry's year."""

    entry: Entry
    voucher_number: str | None = None
    voucher_kind: VoucherKind | None = None


async def post_entry(
    ctx: RequestContext, fund_id: uuid.UUID, entry: Entry, voucher_number: str | None = None,
    voucher_kind: VoucherKind | None = None,
) -> EntryRead:
    """Write one validated entry (`post_entries`)."""
    posted = await post_entries(ctx, fund_id, [EntryToPost(entry, voucher_number, voucher_kind)])
    return posted[0]


async def post_entries(
    ctx: RequestContext, fund_id: uuid.UUID, to_post: Sequence[EntryToPost],
    refuse_loan_accounts: bool = False,
) -> list[EntryRead]:
    """Write validated entries, in order. The one path every posting takes.

    One round trip takes the fund's lock and then reads the entries' accounts' days
    (`open_fund_write_reading`, the lock taken once per request). From these the core
    decides before anything is written: each entry's date must not be after today
    (`future_date`) nor in a closed month (`period_closed`); no account that may not go
    negative may end any day from that date on below zero (`insufficient_funds`, entry
    after entry, the database constraint being the second guard); with
    `refuse_loan_accounts` (journal entries from the API), none may touch a loan's
    receivable account (`loan_account_posting`). Then the voucher counter of each entry
    with a `voucher_kind`, and one statement for the entries, their postings, the fund's
    entry counter (balances move by trigger) and their audit records. Many entries cost
    the round trips of one.
    """
    accounts = sorted({uuid.UUID(p.account_id) for item in to_post for p in item.entry.postings})
    fund, rows = await open_fund_write_reading(ctx, fund_id, DaysWanted(
        accounts, min(item.entry.effective_date for item in to_post), refuse_loan_accounts))
    for item in to_post:
        check_not_future(item.entry.effective_date, ctx.business_date, "effective_date")
        periods.check_open(item.entry.effective_date, fund.closed_period)
    check_no_loan_account(to_post, {r["account_id"]: r["loan_number"] for r in rows
                                     if r["loan_number"] is not None})
    days = tuple(account_days([r for r in rows if r["never_negative"]]))
    for item in to_post:
        check_never_negative(item.entry.postings, item.entry.effective_date, days)
        days = days_after_entry(days, item.entry.postings, item.entry.effective_date)
    rows_to_write = EntryRows()
    posted = []
    for item in to_post:
        entry = item.entry
        voucher_number = item.voucher_number
        if item.voucher_kind is not None:
            year = entry.effective_date.year
            number = await vouchers.next_voucher_number(
                ctx.connection, fund_id, item.voucher_kind.value, year
            )
            voucher_number = format_voucher_number(item.voucher_kind, year, number)
        sequence = fund.take_sequence()
        entry_id = new_id()
        currency = entry.postings[0].currency
        document = entry_document(
            fund_id, entry_id, sequence, voucher_number, entry, currency,
            ctx.now.isoformat(), ctx.actor,
        )
        entry_hash = content_hash(document)
        rows_to_write.add(entry_id, sequence, voucher_number, entry, currency, entry_hash)
        action = "entry.reversal_posted" if entry.reverses_entry_id else "entry.posted"
        posted.append((entry_id, sequence, voucher_number, entry, currency, entry_hash,
                       action, document))
    records = audit_records(
        ctx, fund_id, [(action, document) for *_, action, document in posted])
    appended = await repository.insert_entries(
        ctx.connection, fund_id=fund_id, recorded_at=ctx.now, actor=ctx.actor,
        entries=rows_to_write, audit=records,
    )
    stamps = audit_stamps(ctx, records, appended)
    return [
        EntryRead(
            id=entry_id, fund_id=fund_id, sequence=sequence, voucher_number=voucher_number,
            effective_date=entry.effective_date, recorded_at=ctx.now,
            description=entry.description, currency=currency,
            postings=[
                PostingRead(line=n, account_id=uuid.UUID(p.account_id), side=p.side,
                            amount=p.amount, currency=p.currency)
                for n, p in enumerate(entry.postings, start=1)
            ],
            metadata=dict(entry.metadata),
            reverses_entry_id=(uuid.UUID(entry.reverses_entry_id)
                               if entry.reverses_entry_id else None),
            actor=ctx.actor, hash=entry_hash, audit=AuditStamp(**stamp),
        )
        for (entry_id, sequence, voucher_number, entry, currency, entry_hash, _, _), stamp
        in zip(posted, stamps, strict=True)
    ]


def check_no_loan_account(
    to_post: Sequence[EntryToPost], loan_numbers: dict[uuid.UUID, int]
) -> None:
    """Refuse the first entry that posts to a loan's receivable account: that moves only
    through the loan's disbursement, repayments and write-off, which keep the loan
    register and the ledger equal."""
    for item in to_post:
        touched = sorted({loan_numbers[uuid.UUID(p.account_id)] for p in item.entry.postings
                          if uuid.UUID(p.account_id) in loan_numbers})
        if touched:
            raise LoanAccountPosting(
                Text("the entry posts to the account of loan number {numbers}; use the"
                     " loan's repayment or write-off instead",
                     "bút toán ghi vào tài khoản của khoản vay số {numbers}; hãy dùng"
                     " nghiệp vụ trả nợ hoặc xóa nợ của khoản vay"),
                numbers=", ".join(str(n) for n in touched))


def account_days(rows: list[asyncpg.Record]) -> list[AccountDays]:
    """The rows of `funds.never_negative_days` as the core's AccountDays."""
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
    """A journal entry from the API (`create_entries`)."""
    created = await create_entries(ctx, fund_id, [body])
    return created[0]


async def create_entries(
    ctx: RequestContext, fund_id: uuid.UUID, bodies: Sequence[EntryCreate]
) -> list[EntryRead]:
    """Journal entries from the API, written in order (a batch's consecutive entries
    together). None may touch a loan's receivable account (`check_no_loan_account`)."""
    entries = []
    for body in bodies:
        currency = check_currency(body.currency)
        entries.append(build_entry(
            body.effective_date, body.description,
            [Posting(str(p.account_id), p.side, p.amount, currency) for p in body.postings],
            body.metadata,
        ))
    return await post_entries(ctx, fund_id, [EntryToPost(entry) for entry in entries],
                              refuse_loan_accounts=True)


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
