from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from service.accounts import service
from service.accounts.schemas import AccountCreate, AccountRead
from service.context import RequestContext, get_context
from service.errors import DuplicateAccountCode, InvalidCursor, NotFound, problem_responses
from service.pagination import Page, page_params

router = APIRouter(tags=["accounts"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]


@router.post("/v1/funds/{fund_id}/accounts", status_code=status.HTTP_201_CREATED,
             response_model=AccountRead,
             responses=problem_responses(NotFound, DuplicateAccountCode, (422, "unknown_currency")))
async def create_account(ctx: Context, fund_id: uuid.UUID, body: AccountCreate) -> AccountRead:
    """Open an account in the fund's chart of accounts."""
    return await service.create_account(ctx, fund_id, body)


@router.get("/v1/funds/{fund_id}/accounts", response_model=Page[AccountRead],
            responses=problem_responses(NotFound, InvalidCursor))
async def list_accounts(ctx: Context, fund_id: uuid.UUID, page: PageParams) -> Page[AccountRead]:
    """The chart of accounts with balances, in code order."""
    return await service.list_accounts(ctx, fund_id, *page)


@router.get("/v1/accounts/{account_id}", response_model=AccountRead,
            responses=problem_responses(NotFound))
async def get_account(ctx: Context, account_id: uuid.UUID) -> AccountRead:
    return await service.get_account(ctx, account_id)
