from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from service.context import RequestContext, get_context
from service.errors import InvalidCursor, NotFound, problem_responses
from service.funds import service
from service.funds.schemas import FundCreate, FundRead
from service.pagination import Page, page_params

router = APIRouter(prefix="/v1/funds", tags=["funds"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FundRead,
             responses=problem_responses())
async def create_fund(ctx: Context, body: FundCreate) -> FundRead:
    """Create a bare fund (a ledger with no accounts yet)."""
    return await service.create_fund(ctx, body)


@router.get("", response_model=Page[FundRead], responses=problem_responses(InvalidCursor))
async def list_funds(ctx: Context, page: PageParams) -> Page[FundRead]:
    return await service.list_funds(ctx, *page)


@router.get("/{fund_id}", response_model=FundRead, responses=problem_responses(NotFound))
async def get_fund(ctx: Context, fund_id: uuid.UUID) -> FundRead:
    return await service.get_fund(ctx, fund_id)
