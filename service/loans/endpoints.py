from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from ledger.loan_lifecycle import LoanStatus
from service.context import RequestContext, get_context
from service.dates import DateText
from service.entries.endpoints import POSTING_PROBLEMS
from service.errors import InvalidCursor, NotFound, UnknownMember, problem_responses
from service.loans import service
from service.loans.schemas import (
    DisbursementCreate,
    LoanCreate,
    LoanDecision,
    LoanRead,
    RepaymentCreate,
    RepaymentRead,
    ScheduleRead,
    WriteOffRequest,
)
from service.pagination import Page, page_params

router = APIRouter(tags=["loans"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]
AsOf = Annotated[DateText | None, Query(description="see the position on this date; default today")]
STATE = (409, "invalid_loan_state")
SAME_ACTOR = (403, "same_actor_approval")
BORROWER = (403, "borrower_approval")
MONEY_PROBLEMS = (*POSTING_PROBLEMS, STATE, (409, "period_closed"))


@router.post("/v1/funds/{fund_id}/loans", status_code=status.HTTP_201_CREATED,
             response_model=LoanRead,
             responses=problem_responses(NotFound, UnknownMember, (422, "invalid_loan_terms"),
                                         (409, "period_closed")))
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
            responses=problem_responses(NotFound))
async def get_schedule(ctx: Context, loan_id: uuid.UUID) -> ScheduleRead:
    """The repayment schedule, with what has been paid on each instalment."""
    return await service.get_schedule(ctx, loan_id)


@router.post("/v1/loans/{loan_id}/approval", response_model=LoanRead,
             responses=problem_responses(NotFound, STATE, SAME_ACTOR, BORROWER))
async def decide_application(
    ctx: Context, loan_id: uuid.UUID, body: LoanDecision | None = None
) -> LoanRead:
    """Approve (default) or reject an application. The approver must not be the person
    who recorded it (`same_actor_approval`; another token of hers is still her) nor the
    member the loan is to (`borrower_approval`)."""
    return await service.decide_application(ctx, loan_id, body or LoanDecision())


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
             responses=problem_responses(NotFound, STATE))
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
