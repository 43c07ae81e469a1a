"""The chair's pages and correcting a mistake: the queue of what waits for a second
person (loan applications, write-off requests, corrections, month reopenings), closing a
month, asking for a reversal of a wrong entry and for a loan's write-off.

Every decision goes through the domain service the API calls; the four-eyes rule is
decided there (the page only puts its refusal in plain words)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Any, Protocol, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ledger import periods
from ledger.errors import LedgerError
from ledger.loan_lifecycle import LoanStatus
from service.auth.rules import APPROVE
from service.clubs.schemas import ClubRead
from service.clubs.service import get_club
from service.context import BUSINESS_TIMEZONE, RequestContext
from service.corrections import service as corrections
from service.corrections.schemas import (
    CorrectionDecision,
    CorrectionKind,
    CorrectionRead,
    CorrectionStatus,
    ReopenRequest,
)
from service.entries.schemas import EntryRead, ReversalCreate
from service.entries.service import get_entry, list_entries
from service.errors import Forbidden, NotFound
from service.language import Language, Text
from service.loans.schemas import LoanDecision, LoanRead, WriteOffRequest
from service.loans.service import (
    decide_application,
    decide_write_off,
    get_loan,
    loan_operation_of,
    request_write_off,
)
from service.pages import service
from service.pages.rendering import (
    Context,
    PageRoute,
    checked_form,
    officer,
    page_language,
    redirect,
    render,
    signed_in,
)
from service.pages.service import FormProblems, attempt, problems_of, typed, word
from service.people.repository import get_person
from service.periods.service import close_period, list_closed_periods

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RECENT_ENTRIES_SHOWN = 40
MONTHS_OFFERED_MAX = 12  # before a fund's first close: the last twelve ended months
REASON_LENGTH_MAX = 500
# A refused decision in the queue, in plain words (by the problem's stable code).
QUEUE_REFUSALS = {"same_actor_approval": "queue_own_request", "forbidden": "queue_not_yours",
                  "borrower_approval": "queue_borrower"}


# ------------------------------------------------------------------ who and what


async def person_name(ctx: RequestContext, actor: str | None) -> str:
    """The name of the person an actor id (`person:<uuid>`) stands for."""
    if not actor:
        return ""
    prefix, _, identifier = actor.partition(":")
    if prefix == "person":
        try:
            person = await get_person(ctx.connection, uuid.UUID(identifier))
        except ValueError:
            person = None
        if person is not None:
            return str(person["name"])
    return actor


def entry_amount(entry: EntryRead) -> int:
    return sum(p.amount for p in entry.postings if p.side.value == "debit")


def month_text(period: date) -> str:
    return f"{period.month:02d}/{period.year}"


async def club_officer(request: Request, ctx: RequestContext) -> ClubRead:
    """The one club of a signed-in officer (pages reached by an entry or a loan)."""
    await signed_in(request, ctx)
    clubs = ctx.principal.club_ids if ctx.principal else None
    if not clubs or len(clubs) != 1:
        raise NotFound()
    (club_id,) = clubs
    await officer(request, ctx, club_id)
    return await get_club(ctx, club_id)


def may_approve(request: Request) -> bool:
    principal = request.state.principal
    return principal is not None and APPROVE.allows(principal.access)


# ------------------------------------------------------------------ the queue


@dataclass(frozen=True)
class QueueItem:
    """One thing waiting for a second person, in the words of the page."""

    kind: str  # loan | write-off | correction
    item_id: uuid.UUID
    title: str
    asked_by: str
    asked_on: date
    amount: int | None
    reason: str | None
    details: str | None
    link: str | None
    may_decide: bool
    asked_by_me: bool


async def loan_items(ctx: RequestContext, request: Request, club: ClubRead,
                     language: Language) -> list[QueueItem]:
    names = {m.id: m.name for m in await service.club_members(ctx, club.id)}
    items = []
    for loan in await service.club_loans(ctx, club, LoanStatus.APPLIED):
        items.append(QueueItem(
            kind="loan", item_id=loan.id,
            title=word(language, "queue_loan", number=loan.number,
                       name=names.get(loan.member_id, "")),
            asked_by=await person_name(ctx, loan.applied_by), asked_on=loan.applied_on,
            amount=loan.principal, reason=loan.purpose,
            details=word(language, "queue_loan_terms", installments=loan.installments),
            link=f"/loans/{loan.id}", may_decide=may_approve(request),
            asked_by_me=loan.applied_by == ctx.actor))
    for listed in await service.club_loans(ctx, club, LoanStatus.WRITE_OFF_REQUESTED):
        loan = await get_loan(ctx, listed.id)
        asked = next((e for e in reversed(loan.events) if e.kind == "write_off_requested"),
                     None)
        items.append(QueueItem(
            kind="write-off", item_id=loan.id,
            title=word(language, "queue_write_off", number=loan.number,
                       name=names.get(loan.member_id, "")),
            asked_by=await person_name(ctx, loan.write_off_requested_by),
            asked_on=asked.effective_date if asked else loan.applied_on,
            amount=loan.outstanding_principal,
            reason=str(asked.data.get("reason") or "") if asked else None,
            details=word(language, "queue_write_off_means"), link=f"/loans/{loan.id}",
            may_decide=may_approve(request),
            asked_by_me=loan.write_off_requested_by == ctx.actor))
    return items


async def correction_items(ctx: RequestContext, club: ClubRead,
                           language: Language) -> list[QueueItem]:
    pending: list[CorrectionRead] = await service.every(
        lambda cursor: corrections.list_corrections(
            ctx, club.fund_id, CorrectionStatus.PENDING, service.LIST_PAGE_SIZE, cursor))
    role = ctx.principal.role if ctx.principal else None
    items = []
    for correction in pending:
        asked_by = await person_name(ctx, correction.requested_by)
        asked_on = correction.requested_at.astimezone(BUSINESS_TIMEZONE).date()
        may_decide = role in corrections.APPROVERS[correction.kind]
        mine = correction.requested_by == ctx.actor
        if correction.kind is CorrectionKind.REOPEN and correction.period:
            period = periods.parse_period(correction.period)
            items.append(QueueItem(
                kind="correction", item_id=correction.id,
                title=word(language, "queue_reopen", month=month_text(period)),
                asked_by=asked_by, asked_on=asked_on, amount=None, reason=correction.reason,
                details=word(language, "queue_reopen_means"), link=None,
                may_decide=may_decide, asked_by_me=mine))
            continue
        if correction.kind is CorrectionKind.WAIVER and correction.loan_id is not None:
            part = word(language, f"waived_{correction.waived_part or 'interest'}")
            items.append(QueueItem(
                kind="correction", item_id=correction.id,
                title=word(language, "queue_waiver", part=part,
                           day=service.day_text(correction.effective_date)
                           if correction.effective_date else ""),
                asked_by=asked_by, asked_on=asked_on, amount=correction.waived_amount,
                reason=correction.reason, details=correction.description,
                link=f"/loans/{correction.loan_id}", may_decide=may_decide,
                asked_by_me=mine))
            continue
        assert correction.entry_id is not None
        entry = await get_entry(ctx, correction.entry_id)
        items.append(QueueItem(
            kind="correction", item_id=correction.id,
            title=word(language, "queue_reversal", voucher=entry.voucher_number or "",
                       day=service.day_text(entry.effective_date)),
            asked_by=asked_by, asked_on=asked_on, amount=entry_amount(entry),
            reason=correction.reason, details=entry.description,
            link=f"/entries/{entry.id}/correction", may_decide=may_decide, asked_by_me=mine))
    return items


def queue_page(request: Request, club: ClubRead, items: list[QueueItem],
               problems: FormProblems | None = None, done: str | None = None,
               status_code: int = 200) -> HTMLResponse:
    return render(request, "approvals.html", status_code, club=club, items=items,
                  problems=problems or FormProblems(), done=done)


async def show_queue(request: Request, ctx: RequestContext, club: ClubRead,
                     problems: FormProblems | None = None, done: str | None = None,
                     status_code: int = 200) -> HTMLResponse:
    language = page_language(request)
    items = [*await loan_items(ctx, request, club, language),
             *await correction_items(ctx, club, language)]
    items.sort(key=lambda item: item.asked_on)
    return queue_page(request, club, items, problems, done, status_code)


@router.get("/clubs/{club_id}/approvals")
async def approvals_page(request: Request, ctx: Context, club_id: uuid.UUID,
                         done: Annotated[str | None, Query(max_length=20)] = None,
                         ) -> Response:
    await officer(request, ctx, club_id)
    return await show_queue(request, ctx, await get_club(ctx, club_id), done=done)


def queue_problems(error: Exception, language: Language) -> FormProblems:
    code = getattr(error, "code", None)
    if code in QUEUE_REFUSALS:
        return FormProblems(general=word(language, QUEUE_REFUSALS[str(code)]))
    return problems_of(error, language)


@router.post("/clubs/{club_id}/approvals/{kind}/{item_id}")
async def decide(request: Request, ctx: Context, club_id: uuid.UUID, kind: str,
                 item_id: uuid.UUID) -> Response:
    """Approve or reject one item of the queue through its domain service."""
    form = await checked_form(request, ctx)
    await officer(request, ctx, club_id)
    club = await get_club(ctx, club_id)
    approve = form.get("decision") != "reject"

    async def loan_of_club() -> LoanRead:
        loan = await get_loan(ctx, item_id)
        if loan.fund_id != club.fund_id:
            raise NotFound("loan", item_id)
        return loan

    async def write() -> Any:
        if kind in ("loan", "write-off"):
            await loan_of_club()
            if not may_approve(request):  # the API's rule of these routes: APPROVE
                raise Forbidden(Text("a loan or a write-off is approved by a chair or an admin",
                                     "khoản vay hoặc xóa nợ do chủ nhiệm hoặc quản trị duyệt"))
            decision = LoanDecision.model_validate(
                {"decision": "approve" if approve else "reject"})
            if kind == "loan":
                return await decide_application(ctx, item_id, decision)
            return await decide_write_off(ctx, item_id, decision)
        if kind == "correction":
            correction = await corrections.get_correction(ctx, item_id)
            if correction.fund_id != club.fund_id:
                raise NotFound("correction", item_id)
            body = CorrectionDecision()
            if approve:
                return await corrections.approve(ctx, item_id, body)
            return await corrections.reject(ctx, item_id, body)
        raise NotFound()

    outcome = await attempt(ctx, write)
    if isinstance(outcome, Exception):
        if isinstance(outcome, NotFound):
            raise outcome
        return await show_queue(request, ctx, club,
                                queue_problems(outcome, page_language(request)),
                                status_code=422)
    return redirect(f"/clubs/{club_id}/approvals?done={'approved' if approve else 'rejected'}")


# ------------------------------------------------------------------ closing a month


async def latest_closed(ctx: RequestContext, club: ClubRead) -> date | None:
    closed = await service.every(lambda cursor: list_closed_periods(
        ctx, club.fund_id, service.LIST_PAGE_SIZE, cursor))
    return periods.parse_period(closed[-1].period) if closed else None


def months_to_close(latest: date | None, today: date) -> list[date]:
    """The months that may be closed now: the one after the latest closed month, or
    (before the first close) the last ended months, newest first."""
    this_month = periods.period_of(today)
    if latest is not None:
        following = periods.next_period(latest)
        return [following] if following < this_month else []
    months, month = [], this_month
    for _ in range(MONTHS_OFFERED_MAX):
        month = periods.period_of(month - timedelta(days=1))
        months.append(month)
    return months


async def close_month_page(request: Request, ctx: RequestContext, club: ClubRead,
                           chosen: date | None = None, problems: FormProblems | None = None,
                           closed: str | None = None, form: dict[str, str] | None = None,
                           ) -> HTMLResponse:
    latest = await latest_closed(ctx, club)
    months = months_to_close(latest, ctx.business_date)
    pending: list[CorrectionRead] = await service.every(
        lambda cursor: corrections.list_corrections(
            ctx, club.fund_id, CorrectionStatus.PENDING, service.LIST_PAGE_SIZE, cursor))
    reopening = next((c for c in pending if c.kind is CorrectionKind.REOPEN), None)
    return render(request, "close_month.html", 422 if problems else 200, club=club,
                  latest=latest, months=months, chosen=chosen, closed=closed,
                  problems=problems or FormProblems(), month_text=month_text,
                  month_end=periods.period_end, first_close=latest is None,
                  reopening=reopening, form=form or {})


async def chair_of(request: Request, ctx: RequestContext, club_id: uuid.UUID) -> ClubRead:
    """A club's chair (or an admin): who closes months. Anyone else: not found."""
    await officer(request, ctx, club_id)
    if not may_approve(request):
        raise NotFound("club", club_id)
    return await get_club(ctx, club_id)


@router.get("/clubs/{club_id}/close-month")
async def close_month_form(request: Request, ctx: Context, club_id: uuid.UUID,
                           closed: Annotated[str | None, Query(max_length=7)] = None,
                           ) -> Response:
    club = await chair_of(request, ctx, club_id)
    return await close_month_page(request, ctx, club, closed=closed)


@router.post("/clubs/{club_id}/close-month")
async def close_month(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    """First what closing the chosen month means (`step=preview`), then the close
    (`step=save`)."""
    form = await checked_form(request, ctx)
    club = await chair_of(request, ctx, club_id)
    language = page_language(request)
    try:
        chosen = periods.parse_period(typed(form, "period"))
    except LedgerError:
        return await close_month_page(request, ctx, club, problems=FormProblems(
            fields={"period": word(language, "required")}))
    if form.get("step") != "save":
        return await close_month_page(request, ctx, club, chosen)
    outcome = await attempt(ctx, lambda: close_period(ctx, club.fund_id,
                                                      periods.format_period(chosen)))
    if isinstance(outcome, Exception):
        return await close_month_page(request, ctx, club, chosen,
                                      problems_of(outcome, language))
    return redirect(f"/clubs/{club_id}/close-month?closed={outcome.period}")


@router.post("/clubs/{club_id}/reopen-month")
async def ask_reopening(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    """The chair asks to reopen the latest closed month, with the reason; an auditor of
    the area (or an admin) decides (the corrections API's reopening)."""
    form = await checked_form(request, ctx)
    club = await chair_of(request, ctx, club_id)

    async def write() -> Any:
        latest = await latest_closed(ctx, club)
        if not typed(form, "reason"):
            raise service.FieldError("reason", "required")
        period = periods.format_period(latest) if latest else typed(form, "period")
        return await corrections.request_reopening(
            ctx, club.fund_id, period,
            ReopenRequest(reason=typed(form, "reason")[:REASON_LENGTH_MAX]))

    outcome = await attempt(ctx, write)
    if isinstance(outcome, Exception):
        return await close_month_page(request, ctx, club, problems=problems_of(
            outcome, page_language(request)), form=form)
    return redirect(f"/clubs/{club_id}/approvals")


# ------------------------------------------------------------------ correcting a mistake


@router.get("/clubs/{club_id}/corrections")
async def recent_entries_page(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    """The club's latest entries, each with its "correct a mistake" link."""
    await officer(request, ctx, club_id)
    club = await get_club(ctx, club_id)
    every_entry: list[EntryRead] = await service.every(
        lambda cursor: list_entries(ctx, club.fund_id, service.LIST_PAGE_SIZE, cursor))
    reversed_ids = {e.reverses_entry_id for e in every_entry if e.reverses_entry_id}
    recent = list(reversed(every_entry))[:RECENT_ENTRIES_SHOWN]
    return render(request, "corrections.html", club=club, entries=recent,
                  reversed_ids=reversed_ids, amount_of=entry_amount)


class InAFund(Protocol):
    @property
    def fund_id(self) -> uuid.UUID: ...


Item = TypeVar("Item", bound=InAFund)


async def in_officers_club(request: Request, ctx: RequestContext,
                           fetch: Callable[[], Awaitable[Item]]) -> tuple[Item, ClubRead]:
    """An entry or a loan of the signed-in officer's club (another club's: not found)."""
    club = await club_officer(request, ctx)
    item = await fetch()
    if item.fund_id != club.fund_id:
        raise NotFound()
    return item, club


async def correction_page(request: Request, ctx: RequestContext, entry: EntryRead,
                          club: ClubRead, form: dict[str, str],
                          problems: FormProblems | None = None,
                          requested: bool = False) -> HTMLResponse:
    pending: list[CorrectionRead] = await service.every(
        lambda cursor: corrections.list_corrections(
            ctx, club.fund_id, None, service.LIST_PAGE_SIZE, cursor))
    mine = [c for c in pending if c.entry_id == entry.id]
    waiting = next((c for c in mine if c.status is CorrectionStatus.PENDING), None)
    done = next((c for c in mine if c.status is CorrectionStatus.APPROVED), None)
    operation = await loan_operation_of(ctx, entry)
    return render(request, "correction.html", 422 if problems else 200, club=club,
                  entry=entry, amount=entry_amount(entry), form=form,
                  problems=problems or FormProblems(), requested=requested,
                  waiting=waiting, done=done, loan_operation=operation,
                  waiting_by=await person_name(ctx, waiting.requested_by) if waiting else "")


@router.get("/entries/{entry_id}/correction")
async def correction_form(request: Request, ctx: Context, entry_id: uuid.UUID,
                          requested: Annotated[str | None, Query(max_length=1)] = None,
                          ) -> Response:
    entry, club = await in_officers_club(request, ctx, lambda: get_entry(ctx, entry_id))
    return await correction_page(request, ctx, entry, club, {},
                                 requested=requested is not None)


@router.post("/entries/{entry_id}/correction")
async def request_correction(request: Request, ctx: Context, entry_id: uuid.UUID) -> Response:
    """The reversal request of the corrections API: one person asks with a reason,
    another approves it in the chair's queue."""
    form = await checked_form(request, ctx)
    entry, club = await in_officers_club(request, ctx, lambda: get_entry(ctx, entry_id))

    async def write() -> Any:
        reason = typed(form, "reason")
        if not reason:
            raise service.FieldError("reason", "correction_reason_needed")
        return await corrections.reverse(ctx, entry_id, ReversalCreate(reason=reason))

    outcome = await attempt(ctx, write)
    if isinstance(outcome, Exception):
        return await correction_page(request, ctx, entry, club, form,
                                     problems_of(outcome, page_language(request)))
    return redirect(f"/entries/{entry_id}/correction?requested=1")


# ------------------------------------------------------------------ asking for a write-off


async def write_off_page(request: Request, ctx: RequestContext, loan: LoanRead,
                         club: ClubRead, form: dict[str, str],
                         problems: FormProblems | None = None) -> HTMLResponse:
    names = {m.id: m.name for m in await service.club_members(ctx, club.id)}
    return render(request, "write_off.html", 422 if problems else 200, club=club, loan=loan,
                  member_name=names.get(loan.member_id, ""), form=form,
                  problems=problems or FormProblems())


@router.get("/loans/{loan_id}/write-off")
async def write_off_form(request: Request, ctx: Context, loan_id: uuid.UUID) -> Response:
    loan, club = await in_officers_club(request, ctx, lambda: get_loan(ctx, loan_id))
    return await write_off_page(request, ctx, loan, club,
                                {"effective_date": service.day_text(ctx.business_date)})


@router.post("/loans/{loan_id}/write-off")
async def ask_write_off(request: Request, ctx: Context, loan_id: uuid.UUID) -> Response:
    form = await checked_form(request, ctx)
    loan, club = await in_officers_club(request, ctx, lambda: get_loan(ctx, loan_id))

    async def write() -> Any:
        if not typed(form, "reason"):
            raise service.FieldError("reason", "required")
        return await request_write_off(ctx, loan_id, WriteOffRequest.model_validate({
            "reason": typed(form, "reason"),
            "effective_date": service.date_of(form, "effective_date")}))

    outcome = await attempt(ctx, write)
    if isinstance(outcome, Exception):
        return await write_off_page(request, ctx, loan, club, form,
                                    problems_of(outcome, page_language(request)))
    return redirect(f"/loans/{loan_id}")
