"""Corrections: reversing an entry (two people in a club's fund) and reopening the
latest closed month (a chair asks, an auditor of the area or an admin approves)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, status
from fastapi.responses import JSONResponse

from service.context import RequestContext, get_context
from service.corrections import service
from service.corrections.schemas import (
    CorrectionDecision,
    CorrectionRead,
    CorrectionStatus,
    ReopenRequest,
)
from service.entries.endpoints import POSTING_PROBLEMS
from service.entries.schemas import EntryRead, ReversalCreate
from service.errors import (
    AlreadyReversed,
    CorrectionDecided,
    CorrectionPending,
    CorrectionReasonRequired,
    Forbidden,
    NotFound,
    PeriodNotLatestClosed,
    problem_responses,
)
from service.pagination import Page, page_params

router = APIRouter(tags=["corrections"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]
SAME_ACTOR = (403, "same_actor_approval")
LOAN_PROBLEMS = ((409, "loan_entry_reversal"), (409, "invalid_loan_state"),
                 (409, "disbursement_has_repayments"), (422, "overpayment"))


@router.post(
    "/v1/entries/{entry_id}/reversal", status_code=status.HTTP_201_CREATED,
    response_model=EntryRead,
    responses={
        202: {"model": CorrectionRead,
              "description": "In a club's fund: the reversal requested, pending approval"},
        **problem_responses(*POSTING_PROBLEMS, *LOAN_PROBLEMS, AlreadyReversed,
                            CorrectionPending, CorrectionReasonRequired,
                            (422, "invalid_reversal")),
    },
)
async def reverse_entry(
    ctx: Context, entry_id: uuid.UUID, body: ReversalCreate | None = None
) -> Any:
    """Undo an entry. In a bare ledger the reversal (same accounts, sides swapped) is
    posted at once (201). In a club's fund it is requested with a `reason` (202, a
    correction `pending`) and posted when another person approves it
    (`POST /v1/corrections/{id}/approval`). A loan's repayment or write-off is reversed
    with its loan event: the loan is recomputed from its remaining events in date order
    and the differences are posted as adjusting entries; its reversal is dated on the
    operation's own date."""
    result = await service.reverse(ctx, entry_id, body or ReversalCreate())
    if isinstance(result, CorrectionRead):
        return JSONResponse(result.model_dump(mode="json"), status_code=status.HTTP_202_ACCEPTED)
    return result


@router.post(
    "/v1/funds/{fund_id}/periods/{period}/reopen", status_code=status.HTTP_202_ACCEPTED,
    response_model=CorrectionRead,
    responses=problem_responses(NotFound, CorrectionPending, PeriodNotLatestClosed,
                                (422, "invalid_period"), (422, "invalid_date")),
)
async def request_reopening(
    ctx: Context, fund_id: uuid.UUID,
    period: Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", examples=["2026-01"])],
    body: ReopenRequest,
) -> CorrectionRead:
    """Ask to reopen the fund's latest closed month, with the reason (a correction
    `pending`). An auditor of the club's area or an admin approves it; then entries may
    be dated in that month again until it is closed again."""
    return await service.request_reopening(ctx, fund_id, period, body)


DECISION_PROBLEMS = (NotFound, Forbidden, CorrectionDecided, SAME_ACTOR)


@router.post("/v1/corrections/{correction_id}/approval", response_model=CorrectionRead,
             responses=problem_responses(*DECISION_PROBLEMS, *POSTING_PROBLEMS, *LOAN_PROBLEMS,
                                         PeriodNotLatestClosed, (403, "borrower_approval"),
                                         (422, "waiver_too_large")))
async def approve_correction(
    ctx: Context, correction_id: uuid.UUID, body: CorrectionDecision | None = None
) -> CorrectionRead:
    """Approve a pending correction — by someone other than who asked: a reversal by the
    club's chair or an admin (the reversal is posted), a reopening by an auditor of the
    area or an admin (the month is open again), a waiver by the club's chair or an admin
    who is not the borrower (the penalty or interest is forgiven)."""
    return await service.approve(ctx, correction_id, body or CorrectionDecision())


@router.post("/v1/corrections/{correction_id}/rejection", response_model=CorrectionRead,
             responses=problem_responses(*DECISION_PROBLEMS))
async def reject_correction(
    ctx: Context, correction_id: uuid.UUID, body: CorrectionDecision | None = None
) -> CorrectionRead:
    """Refuse a pending correction (one who may approve it), or withdraw it (the one who
    asked). Nothing is posted."""
    return await service.reject(ctx, correction_id, body or CorrectionDecision())


@router.get("/v1/corrections/{correction_id}", response_model=CorrectionRead,
            responses=problem_responses(NotFound))
async def get_correction(ctx: Context, correction_id: uuid.UUID) -> CorrectionRead:
    return await service.get_correction(ctx, correction_id)


@router.get("/v1/funds/{fund_id}/corrections", response_model=Page[CorrectionRead],
            responses=problem_responses(NotFound))
async def list_corrections(
    ctx: Context, fund_id: uuid.UUID, page: PageParams, status: CorrectionStatus | None = None,
) -> Page[CorrectionRead]:
    """The fund's corrections, oldest request first (`status=pending`: what awaits a
    decision)."""
    return await service.list_corrections(ctx, fund_id, status, *page)
