"""The web pages: sign-in, the treasurer's club, members, money in and out, loans, and the
chair's approvals. Server-rendered (Jinja2), no script needed; every write goes through
the domain service the API calls, after the form's token (CSRF) was checked."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from ledger.chart import FundingSource, PaymentMethod
from service.auth.rules import APPROVE, RECORD
from service.auth.service import SESSION_COOKIE
from service.cashbook.schemas import CashOperationCreate
from service.cashbook.service import CashOperation, post_cash_operation
from service.clubs.schemas import MemberCreate
from service.clubs.service import create_member, get_club
from service.errors import FormTokenMissing, NotFound
from service.language import Language, Text
from service.loans.schemas import (
    DisbursementCreate,
    LoanCreate,
    LoanDecision,
    RepaymentCreate,
)
from service.loans.service import (
    apply_for_loan,
    decide_application,
    disburse,
    get_loan,
    get_schedule,
    preview_repayment,
    repay,
)
from service.pages import service
from service.pages.auditor_pages import AUDITOR_PAGE_ROLES
from service.pages.rendering import (
    FORM_COOKIE,
    STYLE,
    Context,
    PageRoute,
    checked_form,
    officer,
    page_language,
    read_form,
    redirect,
    render,
    signed_in,
)
from service.pages.service import FormProblems, attempt, problems_of, typed, word
from service.signin import service as signin
from service.signin.service import LOCK_MINUTES, SESSION_HOURS, Refusal

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# ------------------------------------------------------------------ style and home


@router.get("/pages/style.css")
async def style() -> Response:
    return Response(STYLE, media_type="text/css",
                    headers={"Cache-Control": "public, max-age=3600"})


@router.get("/")
async def home(request: Request, ctx: Context) -> Response:
    await signed_in(request, ctx)
    assert ctx.principal is not None
    if ctx.principal.club_ids is not None and len(ctx.principal.club_ids) == 1 \
            and RECORD.allows(ctx.principal.access):
        (club_id,) = ctx.principal.club_ids
        return redirect(f"/clubs/{club_id}")
    if ctx.principal.role in AUDITOR_PAGE_ROLES:
        return redirect("/auditor")
    return render(request, "message.html", message_key="not_for_role")


# ------------------------------------------------------------------ sign-in


def sign_in_page(request: Request, name: str, status_code: int = 200,
                 **values: Any) -> HTMLResponse:
    form_token = request.cookies.get(FORM_COOKIE) or secrets.token_urlsafe(32)
    response = render(request, name, status_code, form_token=form_token, **values)
    response.set_cookie(FORM_COOKIE, form_token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


async def anonymous_form(request: Request) -> dict[str, str]:
    form = await read_form(request)
    expected = request.cookies.get(FORM_COOKIE)
    if not expected or not secrets.compare_digest(expected, form.get("form_token", "")):
        raise FormTokenMissing(Text("the sign-in form's token is missing or wrong",
                                    "mã bảo vệ của biểu mẫu đăng nhập bị thiếu hoặc sai"))
    return form


def signed_in_response(request: Request, session: signin.Session) -> Response:
    response = redirect("/")
    response.set_cookie(SESSION_COOKIE, session.secret, max_age=SESSION_HOURS * 3600,
                        httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return response


def refusal_text(language: Language, refusal: Refusal | None,
                 locked_until: datetime | None) -> str:
    if refusal is Refusal.LOCKED and locked_until is not None:
        minutes = max(1, int((locked_until - datetime.now(UTC)).total_seconds() // 60) + 1)
        return word(language, "locked", minutes=min(minutes, LOCK_MINUTES))
    return word(language, (refusal or Refusal.WRONG).value)


@router.get("/sign-in")
async def sign_in_form(request: Request, ctx: Context) -> Response:
    return sign_in_page(request, "sign_in.html", form={})


@router.post("/sign-in")
async def sign_in(request: Request, ctx: Context) -> Response:
    """A refused sign-in answers 200: the failed attempt it counts must be kept."""
    form = await anonymous_form(request)
    outcome = await signin.sign_in(ctx, typed(form, "phone"), form.get("pin", "")[:100])
    if outcome.session is not None:
        return signed_in_response(request, outcome.session)
    problem = refusal_text(page_language(request), outcome.refusal, outcome.locked_until)
    return sign_in_page(request, "sign_in.html", form={"phone": typed(form, "phone")},
                        problem=problem)


@router.get("/set-pin")
async def set_pin_form(request: Request, ctx: Context) -> Response:
    return sign_in_page(request, "set_pin.html", form={})


@router.post("/set-pin")
async def set_pin(request: Request, ctx: Context) -> Response:
    form = await anonymous_form(request)
    outcome = await signin.set_pin(ctx, typed(form, "phone"), typed(form, "setup_code"),
                                   form.get("pin", "")[:100], form.get("pin_again", "")[:100])
    if outcome.session is not None:
        return signed_in_response(request, outcome.session)
    problem = refusal_text(page_language(request), outcome.refusal, outcome.locked_until)
    kept = {"phone": typed(form, "phone"), "setup_code": typed(form, "setup_code")}
    return sign_in_page(request, "set_pin.html", form=kept, problem=problem)


@router.post("/sign-out")
async def sign_out(request: Request, ctx: Context) -> Response:
    await checked_form(request, ctx)
    await signin.sign_out(ctx)
    response = redirect("/sign-in")
    response.delete_cookie(SESSION_COOKIE)
    return response


# ------------------------------------------------------------------ the club


@router.get("/clubs/{club_id}")
async def club_page(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    await officer(request, ctx, club_id)
    overview = await service.club_overview(ctx, club_id)
    return render(request, "club.html", overview=overview, club=overview.club)


@router.get("/clubs/{club_id}/members")
async def members_page(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    await officer(request, ctx, club_id)
    club = await get_club(ctx, club_id)
    return render(request, "members.html", club=club,
                  members=await service.club_members(ctx, club_id))


def member_page(request: Request, club: Any, form: dict[str, str],
                problems: FormProblems | None = None, member: Any = None) -> HTMLResponse:
    """The form that adds a member, or edits `member` (member_pages.py)."""
    return render(request, "member_form.html", 422 if problems else 200, club=club, form=form,
                  problems=problems or FormProblems(), member=member)


@router.get("/clubs/{club_id}/members/new")
async def new_member_form(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    await officer(request, ctx, club_id)
    return member_page(request, await get_club(ctx, club_id), {"gender": "female"})


@router.post("/clubs/{club_id}/members/new")
async def new_member(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    form = await checked_form(request, ctx)
    await officer(request, ctx, club_id)

    async def write() -> Any:
        body = MemberCreate.model_validate({
            "name": typed(form, "name"), "gender": typed(form, "gender"),
            "birth_year": service.whole_number_of(form, "birth_year"),
            "joined_on": service.date_of(form, "joined_on"),
        })
        return await create_member(ctx, club_id, body)

    outcome = await attempt(ctx, write)
    if isinstance(outcome, Exception):
        return member_page(request, await get_club(ctx, club_id), form,
                           problems_of(outcome, page_language(request)))
    return redirect(f"/clubs/{club_id}/members/{outcome.id}?saved=1")


@router.get("/clubs/{club_id}/members/{member_id}")
async def passbook_page(request: Request, ctx: Context, club_id: uuid.UUID,
                        member_id: uuid.UUID, saved: Annotated[str | None, Query()] = None,
                        ) -> Response:
    await officer(request, ctx, club_id)
    club = await get_club(ctx, club_id)
    member = next((m for m in await service.club_members(ctx, club_id) if m.id == member_id),
                  None)
    if member is None:
        raise NotFound()
    loans = [await get_loan(ctx, loan.id) for loan in await service.club_loans(ctx, club)
             if loan.member_id == member_id]
    return render(request, "passbook.html", club=club, member=member, loans=loans,
                  saved=saved is not None)


# ------------------------------------------------------------------ money in and out

OPERATIONS = {"contribution": CashOperation.CONTRIBUTION, "donation": CashOperation.DONATION,
              "seed-grant": CashOperation.SEED_GRANT, "expense": CashOperation.EXPENSE}


def operation_of(name: str) -> CashOperation:
    if name not in OPERATIONS:
        raise NotFound()
    return OPERATIONS[name]


def cash_page(request: Request, club: Any, operation: CashOperation, form: dict[str, str],
              problems: FormProblems | None = None, saved: str | None = None) -> HTMLResponse:
    return render(request, "cash_form.html", 422 if problems else 200, club=club,
                  operation=operation, form=form, problems=problems or FormProblems(),
                  sources=[s.value for s in FundingSource if s is not FundingSource.MEMBERS],
                  saved=saved)


@router.get("/clubs/{club_id}/money/{operation}")
async def cash_form(request: Request, ctx: Context, club_id: uuid.UUID, operation: str,
                    saved: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    await officer(request, ctx, club_id)
    kind = operation_of(operation)
    return cash_page(request, await get_club(ctx, club_id), kind,
                     {"effective_date": service.day_text(ctx.business_date),
                      "payment_method": "cash"}, saved=saved)


@router.post("/clubs/{club_id}/money/{operation}")
async def record_cash(request: Request, ctx: Context, club_id: uuid.UUID,
                      operation: str) -> Response:
    form = await checked_form(request, ctx)
    await officer(request, ctx, club_id)
    kind = operation_of(operation)
    club = await get_club(ctx, club_id)

    async def write() -> Any:
        body = CashOperationCreate.model_validate({
            "amount": service.amount_of(form, "amount"),
            "source": service.optional(form, "source") if kind in (
                CashOperation.SEED_GRANT, CashOperation.DONATION) else None,
            "decision_number": service.optional(form, "decision_number"),
            "effective_date": service.date_of(form, "effective_date"),
            "description": service.optional(form, "description"),
            "counterparty": service.optional(form, "counterparty"),
            "payment_method": typed(form, "payment_method") or "cash",
        })
        return await post_cash_operation(ctx, club.fund_id, kind, body)

    outcome = await attempt(ctx, write)
    if isinstance(outcome, Exception):
        return cash_page(request, club, kind, form, problems_of(outcome, page_language(request)))
    return redirect(f"/clubs/{club_id}/money/{operation}?saved={outcome.voucher_number or ''}")


# ------------------------------------------------------------------ loans


def loan_form_page(request: Request, club: Any, members: list[Any], form: dict[str, str],
                   problems: FormProblems | None = None) -> HTMLResponse:
    return render(request, "loan_form.html", 422 if problems else 200, club=club,
                  members=members, form=form, problems=problems or FormProblems())


@router.get("/clubs/{club_id}/loans/new")
async def new_loan_form(request: Request, ctx: Context, club_id: uuid.UUID,
                        member: Annotated[uuid.UUID | None, Query()] = None) -> Response:
    await officer(request, ctx, club_id)
    return loan_form_page(request, await get_club(ctx, club_id),
                          await service.club_members(ctx, club_id),
                          {"installments": "12", "rate": "0,5", "member_id": str(member or ""),
                           "applied_on": service.day_text(ctx.business_date)})


@router.post("/clubs/{club_id}/loans/new")
async def new_loan(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    form = await checked_form(request, ctx)
    await officer(request, ctx, club_id)
    club = await get_club(ctx, club_id)

    async def write() -> Any:
        member = typed(form, "member_id")
        if not member:
            raise service.FieldError("member_id", "required")
        body = LoanCreate.model_validate({
            "member_id": member, "principal": service.amount_of(form, "principal"),
            "installments": service.whole_number_of(form, "installments"),
            "rate_per_period": service.rate_of(form, "rate"),
            "first_due_date": service.date_of(form, "first_due_date"),
            "purpose": service.optional(form, "purpose"),
            "applied_on": service.date_of(form, "applied_on"),
        })
        return await apply_for_loan(ctx, club.fund_id, body)

    outcome = await attempt(ctx, write)
    if isinstance(outcome, Exception):
        return loan_form_page(request, club, await service.club_members(ctx, club_id), form,
                              problems_of(outcome, page_language(request), "applied_on"))
    return redirect(f"/loans/{outcome.id}")


async def loan_in_view(request: Request, ctx: Context, loan_id: uuid.UUID) -> Any:
    """The loan, for an officer of its club."""
    await signed_in(request, ctx)
    loan = await get_loan(ctx, loan_id)
    clubs = ctx.principal.club_ids if ctx.principal else None
    club_id = next(iter(clubs)) if clubs and len(clubs) == 1 else None
    if club_id is None:
        raise NotFound("loan", loan_id)
    await officer(request, ctx, club_id)
    return loan, await get_club(ctx, club_id)


def loan_page(request: Request, loan: Any, club: Any, schedule: Any, member: Any,
              problems: FormProblems | None = None, saved: str | None = None) -> HTMLResponse:
    assert request.state.principal is not None
    return render(request, "loan.html", 422 if problems else 200, loan=loan, club=club,
                  schedule=schedule, member=member, problems=problems or FormProblems(),
                  saved=saved,
                  may_approve=APPROVE.allows(request.state.principal.access))


async def show_loan(request: Request, ctx: Context, loan: Any, club: Any,
                    problems: FormProblems | None = None, saved: str | None = None,
                    ) -> HTMLResponse:
    members = {m.id: m for m in await service.club_members(ctx, club.id)}
    return loan_page(request, loan, club, await get_schedule(ctx, loan.id),
                     members.get(loan.member_id), problems, saved)


@router.get("/loans/{loan_id}")
async def loan_view(request: Request, ctx: Context, loan_id: uuid.UUID,
                    saved: Annotated[str | None, Query(max_length=40)] = None) -> Response:
    loan, club = await loan_in_view(request, ctx, loan_id)
    return await show_loan(request, ctx, loan, club, saved=saved)


@router.post("/loans/{loan_id}/approval")
async def approve_loan(request: Request, ctx: Context, loan_id: uuid.UUID) -> Response:
    form = await checked_form(request, ctx)
    loan, club = await loan_in_view(request, ctx, loan_id)
    assert ctx.principal is not None
    if not APPROVE.allows(ctx.principal.access):
        raise NotFound("loan", loan_id)
    decision = "reject" if form.get("decision") == "reject" else "approve"
    outcome = await attempt(ctx, lambda: decide_application(
        ctx, loan_id, LoanDecision.model_validate({"decision": decision})))
    if isinstance(outcome, Exception):
        return await show_loan(request, ctx, loan, club,
                               problems_of(outcome, page_language(request)))
    return redirect(f"/loans/{loan_id}")


@router.post("/loans/{loan_id}/disbursement")
async def disburse_loan(request: Request, ctx: Context, loan_id: uuid.UUID) -> Response:
    form = await checked_form(request, ctx)
    loan, club = await loan_in_view(request, ctx, loan_id)
    outcome = await attempt(ctx, lambda: disburse(ctx, loan_id, DisbursementCreate.model_validate(
        {"effective_date": service.date_of(form, "effective_date"),
         "payment_method": PaymentMethod.CASH.value})))
    if isinstance(outcome, Exception):
        return await show_loan(request, ctx, loan, club,
                               problems_of(outcome, page_language(request)))
    return redirect(f"/loans/{loan_id}")


def repayment_page(request: Request, loan: Any, club: Any, member: Any, form: dict[str, str],
                   problems: FormProblems | None = None, allocation: Any = None) -> HTMLResponse:
    return render(request, "repayment.html", 422 if problems else 200, loan=loan, club=club,
                  member=member, form=form, problems=problems or FormProblems(),
                  allocation=allocation)


@router.get("/loans/{loan_id}/repayment")
async def repayment_form(request: Request, ctx: Context, loan_id: uuid.UUID) -> Response:
    loan, club = await loan_in_view(request, ctx, loan_id)
    members = {m.id: m for m in await service.club_members(ctx, club.id)}
    suggested = loan.amount_due or 0
    return repayment_page(request, loan, club, members.get(loan.member_id), {
        "amount": service.money(suggested).removesuffix(" ₫") if suggested else "",
        "effective_date": service.day_text(ctx.business_date)})


@router.post("/loans/{loan_id}/repayment")
async def record_repayment(request: Request, ctx: Context, loan_id: uuid.UUID) -> Response:
    """First the split is shown (`step=preview`), then saved (`step=save`)."""
    form = await checked_form(request, ctx)
    loan, club = await loan_in_view(request, ctx, loan_id)
    members = {m.id: m for m in await service.club_members(ctx, club.id)}
    member = members.get(loan.member_id)

    def body() -> RepaymentCreate:
        return RepaymentCreate.model_validate({
            "amount": service.amount_of(form, "amount"),
            "effective_date": service.date_of(form, "effective_date"),
            "payment_method": typed(form, "payment_method") or "cash"})

    if form.get("step") != "save":
        async def preview() -> Any:
            return await preview_repayment(ctx, loan_id, body())

        allocation = await attempt(ctx, preview)
        if isinstance(allocation, Exception):
            return repayment_page(request, loan, club, member, form,
                                  problems_of(allocation, page_language(request)))
        return repayment_page(request, loan, club, member, form, allocation=allocation)

    async def save() -> Any:
        return await repay(ctx, loan_id, body())

    outcome = await attempt(ctx, save)
    if isinstance(outcome, Exception):
        return repayment_page(request, loan, club, member, form,
                              problems_of(outcome, page_language(request)))
    return redirect(f"/loans/{loan_id}?saved={outcome.voucher_number or ''}")
