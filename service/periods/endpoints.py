from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from service.context import RequestContext, get_context
from service.errors import InvalidCursor, NotFound, problem_responses
from service.pagination import Page, page_params
from service.periods import service
from service.periods.schemas import ClosedPeriodRead

router = APIRouter(prefix="/v1/funds/{fund_id}/periods", tags=["periods"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]


@router.post(
    "/{period}/close", status_code=status.HTTP_201_CREATED, response_model=ClosedPeriodRead,
    responses=problem_responses(
        NotFound, (409, "period_already_closed"), (409, "period_out_of_order"),
        (409, "period_not_ended"), (422, "invalid_period"),
    ),
)
async def close_period(
    ctx: Context, fund_id: uuid.UUID,
    period: Annotated[str, Path(pattern=r"^\d{4}-\d{2}$", examples=["2026-01"])],
) -> ClosedPeriodRead:
    """Close a month (yyyy-mm). It must have ended, and months close in order: after
    the first close (which also closes every earlier month) only the month after the
    last closed one. Afterwards any entry dated in it is refused `period_closed`;
    correct a mistake with a reversal dated in an open period."""
    return await service.close_period(ctx, fund_id, period)


@router.get("", response_model=Page[ClosedPeriodRead],
            responses=problem_responses(NotFound, InvalidCursor))
async def list_closed_periods(
    ctx: Context, fund_id: uuid.UUID, page: PageParams
) -> Page[ClosedPeriodRead]:
    """The fund's closed months, oldest first."""
    return await service.list_closed_periods(ctx, fund_id, *page)
