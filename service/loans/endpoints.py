from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from ledger.loan_lifecycle import LoanStatus
from service.context import RequestContext, get_context
from service.corrections import service as corrections
from service.corrections.schemas import CorrectionRead
from service.dates import DateText
from service.entries.endpoints import POSTING_PROBLEMS
from service.errors import (
    InvalidCursor,
    NotFound,
    RecoveryTooLarge,
    UnknownExportFormat,
    UnknownMember,
    problem_responses,
)
from service.loans import exports, service
from service.loans.schemas import (
    DisbursementCreate,
    LoanCreate,
    LoanDecision,
    LoanRead,
    LoanReschedule,
    RecoveryCreate,
    RecoveryRead,
    RepaymentCreate,
    RepaymentRead,
    ScheduleRead,
    WaiverCreate,
    WriteOffRequest,
)
from service.pagination import Page, page_params
from service.reports.exports import (
    EXPORT_RESPONSES,
    ClubFileLanguage,
    ExportFormat,
    Format,
    file_response,
)

router = APIRouter(tags=["loans"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]
AsOf = Annotated[DateText | None, Query(description="see the position on this date; default today")]
STATE = (409, "invalid_loan_state")
SAME_ACTOR = (403, "same_actor_approval")
BORROWER = (403, "borrower_approval")
PERIOD_CLOSED = (409, "period_closed")
MONEY_PROBLEMS = (*POSTING_PROBLEMS, STATE, PERIOD_CLOSED)


@router.post("/v1/funds/{fund_id}/loans", status_code=status.HTTP_201_CREATED,
             response_model=LoanRead,
             responses=problem_responses(NotFound, UnknownMember, PERIOD_CLOSED,
                                         (422, "invalid_loan_terms")))
async def apply_for_loan(ctx: Context, fund_id: uuid.UUID, body: LoanCreate) -> LoanRead:
    """Record a member's loan application (status `applied`). Someone other than the
    actor who records it must approve it."""
    return await service.apply_for_loan(ctx, fund_id, body)


@router.get("/v1/funds/{fund_id}/loans", response_model=Page[LoanRead],
            responses=problem_responses(NotFound, InvalidCursor))
async def list_loans(
    ctx: Context, fund_id: uuid.UUID, page: PageParams, as_of: AsOf = None,
    status: LoanStatus | None = None,
) -> Page[LoanRead]:
    """The fund's loans by number, each with its position (days overdue, PAR30)."""
    return await service.list_loans(ctx, fund_id, status, as_of, *page)


@router.get("/v1/loans/{loan_id}", response_model=LoanRead, responses=problem_responses(NotFound))
async def get_loan(ctx: Context, loan_id: uuid.UUID, as_of: AsOf = None) -> LoanRead:
    """The loan, its events, and its position: outstanding principal, amount due,
    payoff, days overdue and whether it counts in PAR30 (> 30 days overdue)."""
    return await service.get_loan(ctx, loan_id, as_of)


@router.get("/v1/loans/{loan_id}/schedule", response_model=ScheduleRead,
            responses={**EXPORT_RESPONSES, **problem_responses(NotFound, UnknownExportFormat)})
async def get_schedule(
    ctx: Context, loan_id: uuid.UUID, export: Format, language: ClubFileLanguage
) -> Any:
    """The repayment schedule, with what has been paid on each instalment. JSON, CSV,
    or XLSX with a title block (docs/auditors.md)."""
    schedule = await service.get_schedule(ctx, loan_id)
    if export is ExportFormat.JSON:
        return schedule
    return file_response(*await exports.schedule_table(ctx, schedule, language), export)


@router.post("/v1/loans/{loan_id}/approval", response_model=LoanRead,
             responses=problem_responses(NotFound, STATE, PERIOD_CLOSED, SAME_ACTOR,
                                         BORROWER))
async def decide_application(
    ctx: Context, loan_id: uuid.UUID, body: LoanDecision | None = None
) -> LoanRead:
    """Approve (default) or reject an application. The approver must not be the person
    who recorded it (`same_actor_approval`; another token of hers is still her) nor the
    member the loan is to (`borrower_approval`)."""
    return await service.decide_application(ctx, loan_id, body or LoanDecision())


@router.post("/v1/loans/{loan_id}/reschedule", response_model=LoanRead,
             responses=problem_responses(NotFound, STATE, (409, "period_closed"),
                                         (422, "invalid_loan_terms"), (422, "invalid_date"),
                                         (422, "future_date")))
async def reschedule(ctx: Context, loan_id: uuid.UUID, body: LoanReschedule) -> LoanRead:
    """Give an approved loan not yet paid out a new first due date, a new instalment
    count, or both: the schedule is computed again under the same bounds as an
    application (`invalid_loan_terms`, the rule named). Any other status is refused
    `invalid_loan_state`; the date follows the rules of the loan's other events."""
    return await service.reschedule(ctx, loan_id, body)


@router.post("/v1/loans/{loan_id}/disbursement", response_model=LoanRead,
             responses=problem_responses(*MONEY_PROBLEMS, (422, "invalid_loan_terms")))
async def disburse(
    ctx: Context, loan_id: uuid.UUID, body: DisbursementCreate | None = None
) -> LoanRead:
    """Pay an approved loan out: opens its account 131.NNNN and posts Dr 131.NNNN /
    Cr 111 (payment voucher). More than the cash on hand is refused
    `insufficient_funds`."""
    return await service.disburse(ctx, loan_id, body or DisbursementCreate())


@router.post("/v1/loans/{loan_id}/repayments", status_code=status.HTTP_201_CREATED,
             response_model=RepaymentRead,
             responses=problem_responses(*MONEY_PROBLEMS, (422, "overpayment"),
                                         (409, "loan_closed")))
async def repay(ctx: Context, loan_id: uuid.UUID, body: RepaymentCreate) -> RepaymentRead:
    """Record a repayment: allocated to penalties, then interest, then principal, oldest
    instalment first (paying the payoff amount closes the loan and waives interest not
    yet due). Posts Dr 111 / Cr 131.NNNN, 515 interest, 711 penalty (receipt voucher).
    The order of recording does not matter: a repayment dated before later ones (in an
    open month) is accepted, and each later repayment whose allocation changes gets an
    adjusting entry dated on it."""
    return await service.repay(ctx, loan_id, body)


@router.post("/v1/loans/{loan_id}/write-off", response_model=LoanRead,
             responses=problem_responses(NotFound, STATE, PERIOD_CLOSED))
async def request_write_off(ctx: Context, loan_id: uuid.UUID, body: WriteOffRequest) -> LoanRead:
    """Ask for the loan to be written off (status `write_off_requested`; it takes no
    repayment until the request is decided)."""
    return await service.request_write_off(ctx, loan_id, body)


@router.post("/v1/loans/{loan_id}/write-off/approval", response_model=LoanRead,
             responses=problem_responses(*MONEY_PROBLEMS, SAME_ACTOR, BORROWER))
async def decide_write_off(
    ctx: Context, loan_id: uuid.UUID, body: LoanDecision | None = None
) -> LoanRead:
    """Approve (default; by a person other than the requester and the borrower) — posts Dr 811 /
    Cr 131.NNNN for the outstanding principal — or reject the write-off request."""
    return await service.decide_write_off(ctx, loan_id, body or LoanDecision())


@router.post("/v1/loans/{loan_id}/recoveries", status_code=status.HTTP_201_CREATED,
             response_model=RecoveryRead,
             responses=problem_responses(*MONEY_PROBLEMS, RecoveryTooLarge))
async def recover(ctx: Context, loan_id: uuid.UUID, body: RecoveryCreate) -> RecoveryRead:
    """Record money received on a written-off loan: Dr 111/112 / Cr 711 other income
    (receipt voucher). The loan stays written off and shows what was recovered; at most
    what was written off (`recovery_too_large`). Any other status: `invalid_loan_state`."""
    return await service.recover(ctx, loan_id, body)


@router.post("/v1/loans/{loan_id}/waivers", status_code=status.HTTP_202_ACCEPTED,
             response_model=CorrectionRead,
             responses=problem_responses(NotFound, STATE, PERIOD_CLOSED,
                                         (422, "waiver_too_large"), (422, "invalid_date"),
                                         (422, "future_date")))
async def request_waiver(ctx: Context, loan_id: uuid.UUID, body: WaiverCreate) -> CorrectionRead:
    """Ask to forgive a disbursed loan's penalty, or the interest of its instalments due,
    with the reason (202, a correction `pending`). Another person — the chair or an
    admin, never the borrower — approves it (`POST /v1/corrections/{id}/approval`);
    then it is taken off what the loan owes (nothing is posted: unpaid interest and
    penalties are never booked). More than is due and unpaid on its date:
    `waiver_too_large`."""
    return await corrections.request_waiver(ctx, loan_id, body)
