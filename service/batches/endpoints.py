from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse

from service.batches import service
from service.batches.schemas import BatchCreate, BatchRead
from service.context import RequestContext, get_context
from service.entries.endpoints import POSTING_PROBLEMS
from service.errors import (
    BatchRefused,
    IdempotencyKeyRequired,
    LoanAccountPosting,
    UnknownMember,
    problem_language,
    problem_responses,
)

router = APIRouter(tags=["batches"])
Context = Annotated[RequestContext, Depends(get_context)]
IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", description="required: the batch's answer is replayed for it")]


@router.post(
    "/v1/funds/{fund_id}/batches", response_model=BatchRead,
    responses=problem_responses(*POSTING_PROBLEMS, LoanAccountPosting, UnknownMember,
                                BatchRefused, IdempotencyKeyRequired),
)
async def create_batch(
    ctx: Context, request: Request, fund_id: uuid.UUID, body: BatchCreate,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Up to 1,000 operations on the fund in one request (a meeting recorded offline, a
    bulk load). Each item is `{"key", "op", "loan_id" (disbursement, repayment), "body"}`
    with the single endpoint's body; `op` is one of entry, seed_grant, donation,
    contribution, expense, loan_application, disbursement, repayment. Each item's `key`
    is its Idempotency-Key: a key already used, in a batch or on the single endpoint,
    writes nothing and answers the first result.

    `independent`: each item is written or refused on its own; the answer (200) lists
    each item's `status` with its `result` (the single endpoint's answer) or its
    `problem`. `atomic`: all or nothing; one refused item refuses the batch (422
    `batch_refused`, each refused item's problem in `errors`). A malformed batch (more
    than 1,000 items, a key twice, an unknown `op`, no Idempotency-Key) is refused
    whole and writes nothing."""
    answer = await service.create_batch(ctx, fund_id, body, idempotency_key,
                                        problem_language(request))
    return JSONResponse(answer)
