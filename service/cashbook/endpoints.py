from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from service.cashbook.schemas import CashOperationCreate
from service.cashbook.service import CashOperation, post_cash_operation
from service.context import RequestContext, get_context
from service.entries.endpoints import POSTING_PROBLEMS
from service.entries.schemas import EntryRead
from service.errors import UnknownMember, problem_responses

router = APIRouter(prefix="/v1/funds/{fund_id}", tags=["cash book"])
Context = Annotated[RequestContext, Depends(get_context)]
PROBLEMS = problem_responses(*POSTING_PROBLEMS, (409, "period_closed"))
CONTRIBUTION_PROBLEMS = problem_responses(*POSTING_PROBLEMS, (409, "period_closed"),
                                          UnknownMember)


@router.post("/seed-grants", status_code=status.HTTP_201_CREATED, response_model=EntryRead,
             responses=PROBLEMS)
async def create_seed_grant(
    ctx: Context, fund_id: uuid.UUID, body: CashOperationCreate
) -> EntryRead:
    """Seed capital from a budget (with its decision number), a donor or the members:
    Dr 111/112, Cr 4111 district budget | 4112 commune/province budget | 4113 donors |
    4114 members. Receipt voucher PT-yyyy-nnnn."""
    return await post_cash_operation(ctx, fund_id, CashOperation.SEED_GRANT, body)


@router.post("/donations", status_code=status.HTTP_201_CREATED, response_model=EntryRead,
             responses=PROBLEMS)
async def create_donation(ctx: Context, fund_id: uuid.UUID, body: CashOperationCreate) -> EntryRead:
    """A donation received: Dr 111/112, Cr 711 other income. Receipt voucher."""
    return await post_cash_operation(ctx, fund_id, CashOperation.DONATION, body)


@router.post("/contributions", status_code=status.HTTP_201_CREATED, response_model=EntryRead,
             responses=CONTRIBUTION_PROBLEMS)
async def create_contribution(
    ctx: Context, fund_id: uuid.UUID, body: CashOperationCreate
) -> EntryRead:
    """Members' contributions to the fund's capital: Dr 111/112, Cr 4114. Receipt voucher.
    With `member_id`, the contribution shows in that member's passbook."""
    return await post_cash_operation(ctx, fund_id, CashOperation.CONTRIBUTION, body)


@router.post("/expenses", status_code=status.HTTP_201_CREATED, response_model=EntryRead,
             responses=PROBLEMS)
async def create_expense(ctx: Context, fund_id: uuid.UUID, body: CashOperationCreate) -> EntryRead:
    """An operating expense paid: Dr 642, Cr 111/112 (never beyond the cash).
    Payment voucher PC-yyyy-nnnn."""
    return await post_cash_operation(ctx, fund_id, CashOperation.EXPENSE, body)
