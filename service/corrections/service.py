"""Corrections: reversing an entry, reopening the latest closed month, and forgiving a
loan's penalty or interest (a waiver).

In a club's fund both take two people: one requests with a reason (202, a correction
`pending`), another decides (`approval` or `rejection`). A reversal is approved by the
club's chair or an admin (so is a waiver, never by the borrower herself); a reopening by
an auditor of the club's area or an admin.
In a bare ledger (a fund without a club) a reversal is posted at once (201). The
request, the decision and what it posted each go to the fund's audit log.

"Another person" is decided in one place, `ledger.loan_lifecycle.check_second_actor`.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

import asyncpg

from ledger import periods
from ledger.entries import reverse_entry
from ledger.loan_lifecycle import check_approver, check_second_actor
from service.audit.schemas import AuditStamp
from service.audit.service import record_write
from service.auth.rules import ADMIN, AUDITOR, CHAIR
from service.context import FundWrite, RequestContext
from service.corrections import repository
from service.corrections.schemas import (
    CorrectionDecision,
    CorrectionKind,
    CorrectionRead,
    CorrectionStatus,
    ReopenRequest,
)
from service.entries import repository as entries
from service.entries.schemas import EntryRead, ReversalCreate
from service.entries.service import get_entry, ledger_entry, post_entry
from service.errors import (
    AlreadyReversed,
    CorrectionDecided,
    CorrectionPending,
    CorrectionReasonRequired,
    Forbidden,
    NotFound,
    PeriodNotLatestClosed,
)
from service.funds import repository as funds
from service.funds.service import open_fund_write
from service.ids import new_id
from service.language import Text
from service.loans import repository as loans
from service.loans.schemas import WaiverCreate
from service.loans.service import (
    LoanOperation,
    check_reversible,
    check_waiver,
    loan_operation_of,
    reverse_loan_entry,
    waive,
)
from service.pagination import Page, decode_cursor, make_page, timestamp_key, uuid_key

# Who may approve what: the second pair of eyes of each kind.
APPROVERS = {
    CorrectionKind.REVERSAL: frozenset({CHAIR, ADMIN}),
    CorrectionKind.REOPEN: frozenset({AUDITOR, ADMIN}),
    CorrectionKind.WAIVER: frozenset({CHAIR, ADMIN}),
}


def correction_read(record: asyncpg.Record) -> CorrectionRead:
    values = dict(record)
    period: date | None = values.pop("period")
    return CorrectionRead(**values, period=periods.format_period(period) if period else None)


# --------------------------------------------------------------------------- reversal


async def reverse(
    ctx: RequestContext, entry_id: uuid.UUID, body: ReversalCreate
) -> EntryRead | CorrectionRead:
    """Reverse at once in a bare ledger (EntryRead); request it in a club's fund
    (CorrectionRead, pending)."""
    original = await get_entry(ctx, entry_id)
    fund = await open_fund_write(ctx, original.fund_id)
    existing = await entries.find_reversal(ctx.connection, original.fund_id, entry_id)
    if existing is not None:
        raise AlreadyReversed(Text("entry {entry} was already reversed by entry {by}",
                                   "bút toán {entry} đã được đảo bởi bút toán {by}"),
                              entry=entry_id, by=existing)
    operation = await loan_operation_of(ctx, original)
    await check_reversible(ctx, original, operation)
    effective_date = reversal_date(ctx, original, operation, body.effective_date)
    periods.check_open(effective_date, fund.closed_period)
    if fund.club_id is None:
        return await post_reversal(ctx, original, operation, body.effective_date,
                                   effective_date, body.description)
    if body.reason is None:
        raise CorrectionReasonRequired(Text(
            "in a club's fund a reversal is requested with its reason; another person"
            " approves it",
            "trong quỹ của câu lạc bộ, đề nghị đảo bút toán phải ghi lý do; một người khác"
            " sẽ duyệt"))
    pending = await repository.pending_for(
        ctx.connection, fund.fund_id, CorrectionKind.REVERSAL.value, entry_id)
    if pending is not None:
        raise CorrectionPending(Text("the reversal of entry {entry} is already requested"
                                     " (correction {pending})",
                                     "đã có đề nghị đảo bút toán {entry} (yêu cầu {pending})"),
                                entry=entry_id, pending=pending)
    record = await repository.insert_correction(
        ctx.connection, fund_id=fund.fund_id, correction_id=new_id(),
        kind=CorrectionKind.REVERSAL.value, entry_id=entry_id, period=None,
        reason=body.reason, effective_date=body.effective_date, description=body.description,
        actor=ctx.actor, now=ctx.now,
    )
    return await with_audit(ctx, record, "correction.requested")


def reversal_date(
    ctx: RequestContext, original: EntryRead, operation: LoanOperation | None,
    asked: date | None,
) -> date:
    """A loan operation's reversal is dated on the operation's date; any other entry's
    on the date asked, by default today (never before the entry)."""
    if operation is not None:
        return original.effective_date
    return ctx.past_date(asked or max(ctx.business_date, original.effective_date))


async def post_reversal(
    ctx: RequestContext, original: EntryRead, operation: LoanOperation | None,
    asked: date | None, effective_date: date, description: str | None,
) -> EntryRead:
    if operation is not None:
        return await reverse_loan_entry(ctx, original, operation, asked, description)
    reversal = reverse_entry(
        ledger_entry(original), str(original.id), effective_date, description)
    return await post_entry(ctx, original.fund_id, reversal)


# --------------------------------------------------------------------------- waiver


async def request_waiver(
    ctx: RequestContext, loan_id: uuid.UUID, body: WaiverCreate
) -> CorrectionRead:
    """Ask to forgive a loan's penalty or interest (202, pending): checked now against
    what is due and unpaid on its date, and again when another person approves it."""
    loan, day = await check_waiver(ctx, loan_id, body)
    record = await repository.insert_correction(
        ctx.connection, fund_id=loan.fund_id, correction_id=new_id(),
        kind=CorrectionKind.WAIVER.value, entry_id=None, period=None, reason=body.reason,
        effective_date=day, description=None, actor=ctx.actor, now=ctx.now,
        loan_id=loan.id, waived_part=body.part.value, waived_amount=body.amount,
    )
    return await with_audit(ctx, record, "correction.requested")


# --------------------------------------------------------------------------- reopen


async def request_reopening(
    ctx: RequestContext, fund_id: uuid.UUID, text: str, body: ReopenRequest
) -> CorrectionRead:
    """A chair (or an admin) asks to reopen the fund's latest closed month."""
    period = periods.parse_period(text)
    fund = await open_fund_write(ctx, fund_id)
    check_latest_closed(period, fund)
    pending = await repository.pending_for(
        ctx.connection, fund_id, CorrectionKind.REOPEN.value, None)
    if pending is not None:
        raise CorrectionPending(Text("a reopening is already requested (correction {pending})",
                                     "đã có đề nghị mở lại sổ (yêu cầu {pending})"),
                                pending=pending)
    record = await repository.insert_correction(
        ctx.connection, fund_id=fund_id, correction_id=new_id(),
        kind=CorrectionKind.REOPEN.value, entry_id=None, period=period, reason=body.reason,
        effective_date=None, description=None, actor=ctx.actor, now=ctx.now,
    )
    return await with_audit(ctx, record, "correction.requested")


def check_latest_closed(period: date, fund: FundWrite) -> None:
    if fund.closed_period != period:
        latest = periods.format_period(fund.closed_period) if fund.closed_period else None
        raise PeriodNotLatestClosed(
            f"{periods.format_period(period)} is not the fund's latest closed month"
            + (f" ({latest} is)" if latest else " (no month is closed)"))


# --------------------------------------------------------------------------- decisions


async def load_pending(
    ctx: RequestContext, correction_id: uuid.UUID
) -> tuple[asyncpg.Record, FundWrite]:
    """The correction, under its fund's lock; 409 once decided."""
    fund_id = await repository.fund_of_correction(ctx.connection, correction_id)
    if fund_id is None or not ctx.sees_fund(fund_id):
        raise NotFound("correction", correction_id)
    fund = await open_fund_write(ctx, fund_id)
    record = await repository.get_correction(ctx.connection, correction_id)
    assert record is not None
    if record["status"] != CorrectionStatus.PENDING.value:
        raise CorrectionDecided(Text("correction {correction} was already {status}",
                                     "yêu cầu {correction} đã được xử lý ({status})"),
                                correction=correction_id, status=record["status"])
    return record, fund


async def approve(
    ctx: RequestContext, correction_id: uuid.UUID, body: CorrectionDecision
) -> CorrectionRead:
    """Another person approves: the reversal is posted, or the month reopened."""
    record, fund = await load_pending(ctx, correction_id)
    kind = CorrectionKind(record["kind"])
    role = ctx.principal.role if ctx.principal else None
    if role not in APPROVERS[kind]:
        raise Forbidden(Text("a {kind} is approved by: {roles}",
                             "yêu cầu {kind} do các vai trò sau duyệt: {roles}"),
                        kind=kind.value, roles=", ".join(sorted(APPROVERS[kind])))
    reversal_entry_id = None
    effective_date = None
    if kind is CorrectionKind.WAIVER:
        loan = await loans.get_loan(ctx.connection, record["loan_id"], fund.fund_id)
        assert loan is not None
        check_approver(record["requested_by"], ctx.actor, ctx.acting_member_id,
                       loan["member_id"], "waiver request")
        effective_date = record["effective_date"]
        await waive(ctx, record["loan_id"], WaiverCreate(
            part=record["waived_part"], amount=record["waived_amount"],
            reason=record["reason"], effective_date=effective_date),
            {"correction_id": str(correction_id), "requested_by": record["requested_by"]})
    else:
        check_second_actor(record["requested_by"], ctx.actor, f"{kind.value} request")
    if kind is CorrectionKind.REVERSAL:
        original = await get_entry(ctx, record["entry_id"])
        operation = await loan_operation_of(ctx, original)
        effective_date = reversal_date(ctx, original, operation, record["effective_date"])
        posted = await post_reversal(ctx, original, operation, record["effective_date"],
                                     effective_date, record["description"])
        reversal_entry_id, effective_date = posted.id, posted.effective_date
    elif kind is CorrectionKind.REOPEN:
        period: date = record["period"]
        check_latest_closed(period, fund)
        previous = periods.period_of(period - timedelta(days=1))
        await repository.reopen_period(ctx.connection, fund.fund_id, period, previous,
                                       ctx.now, ctx.actor)
        fund.closed_period = previous
        await record_write(ctx, fund.fund_id, "period.reopened", {
            "period": periods.format_period(period), "correction_id": str(correction_id),
            "reason": record["reason"], "requested_by": record["requested_by"]})
    decided = await repository.decide(
        ctx.connection, fund_id=fund.fund_id, correction_id=correction_id,
        status=CorrectionStatus.APPROVED.value, actor=ctx.actor, now=ctx.now, note=body.note,
        reversal_entry_id=reversal_entry_id, effective_date=effective_date,
    )
    return await with_audit(ctx, decided, "correction.approved")


async def reject(
    ctx: RequestContext, correction_id: uuid.UUID, body: CorrectionDecision
) -> CorrectionRead:
    """Refuse (or, by the one who asked, withdraw) a pending correction: nothing posted."""
    record, fund = await load_pending(ctx, correction_id)
    kind = CorrectionKind(record["kind"])
    role = ctx.principal.role if ctx.principal else None
    if role not in APPROVERS[kind] and ctx.actor != record["requested_by"]:
        raise Forbidden(Text("a {kind} is decided by: {roles}",
                             "yêu cầu {kind} do các vai trò sau quyết định: {roles}"),
                        kind=kind.value, roles=", ".join(sorted(APPROVERS[kind])))
    decided = await repository.decide(
        ctx.connection, fund_id=fund.fund_id, correction_id=correction_id,
        status=CorrectionStatus.REJECTED.value, actor=ctx.actor, now=ctx.now, note=body.note,
        reversal_entry_id=None, effective_date=None,
    )
    return await with_audit(ctx, decided, "correction.rejected")


async def with_audit(ctx: RequestContext, record: asyncpg.Record, action: str) -> CorrectionRead:
    read = correction_read(record)
    stamp = await record_write(ctx, read.fund_id, action, read.model_dump(mode="json"))
    read.audit = AuditStamp(**stamp)
    return read


# --------------------------------------------------------------------------- reads


async def get_correction(ctx: RequestContext, correction_id: uuid.UUID) -> CorrectionRead:
    record = await repository.get_correction(ctx.connection, correction_id)
    if record is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("correction", correction_id)
    return correction_read(record)


async def list_corrections(
    ctx: RequestContext, fund_id: uuid.UUID, status: CorrectionStatus | None, limit: int,
    cursor: str | None,
) -> Page[CorrectionRead]:
    ctx.require_fund(fund_id)
    if await funds.get_fund(ctx.connection, fund_id) is None:
        raise NotFound("fund", fund_id)
    position = decode_cursor(cursor, timestamp_key, uuid_key)
    rows = await repository.list_corrections(
        ctx.connection, fund_id, status.value if status else None, position, limit + 1)
    return make_page([correction_read(r) for r in rows], limit,
                     lambda c: [c.requested_at.isoformat(), str(c.id)])
