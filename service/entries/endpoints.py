from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from service.context import RequestContext, get_context
from service.entries import service
from service.entries.schemas import EntryCreate, EntryRead
from service.errors import (
    AmountOutOfRange,
    IdempotencyConflict,
    InvalidCursor,
    LoanAccountPosting,
    NotFound,
    UnknownAccount,
    problem_responses,
)
from service.pagination import Page, page_params

router = APIRouter(tags=["entries"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]
POSTING_PROBLEMS = (
    NotFound, UnknownAccount, AmountOutOfRange, IdempotencyConflict,
    (422, "unbalanced_entry"), (422, "insufficient_funds"), (422, "invalid_amount"),
    (422, "invalid_entry"), (422, "unknown_currency"), (400, "malformed_json"),
    (422, "future_date"), (422, "invalid_date"), (409, "period_closed"),
)


@router.post("/v1/funds/{fund_id}/entries", status_code=status.HTTP_201_CREATED,
             response_model=EntryRead,
             responses=problem_responses(*POSTING_PROBLEMS, LoanAccountPosting))
async def create_entry(ctx: Context, fund_id: uuid.UUID, body: EntryCreate) -> EntryRead:
    """Post a balanced journal entry. Honours `Idempotency-Key`."""
    return await service.create_entry(ctx, fund_id, body)


@router.get("/v1/funds/{fund_id}/entries", response_model=Page[EntryRead],
            responses=problem_responses(NotFound, InvalidCursor))
async def list_entries(ctx: Context, fund_id: uuid.UUID, page: PageParams) -> Page[EntryRead]:
    """The fund's journal in posting order."""
    return await service.list_entries(ctx, fund_id, *page)


@router.get("/v1/entries/{entry_id}", response_model=EntryRead,
            responses=problem_responses(NotFound))
async def get_entry(ctx: Context, entry_id: uuid.UUID) -> EntryRead:
    return await service.get_entry(ctx, entry_id)
