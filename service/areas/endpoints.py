from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from service.areas import service
from service.areas.schemas import (
    AREA_CODE_PATTERN,
    AreaCreate,
    AreaDissolution,
    AreaLevel,
    AreaParentCreate,
    AreaRead,
)
from service.context import RequestContext, get_context
from service.dates import DateText
from service.errors import (
    AreaInUse,
    DuplicateArea,
    InvalidAreaParent,
    InvalidCursor,
    NotFound,
    UnknownArea,
    problem_responses,
)
from service.pagination import Page, page_params

router = APIRouter(prefix="/v1/areas", tags=["areas"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]
AreaCode = Annotated[str, Path(pattern=AREA_CODE_PATTERN)]
AsOf = Annotated[DateText | None, Query(description="the tree valid on this date; default today")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AreaRead,
             responses=problem_responses(DuplicateArea, UnknownArea, InvalidAreaParent))
async def create_area(ctx: Context, body: AreaCreate) -> AreaRead:
    """Create an administrative unit (province, district or commune) under its parent."""
    return await service.create_area(ctx, body)


@router.get("", response_model=Page[AreaRead], responses=problem_responses(InvalidCursor))
async def list_areas(
    ctx: Context, page: PageParams, level: AreaLevel | None = None
) -> Page[AreaRead]:
    """Areas in code order (parents and children as of today)."""
    return await service.list_areas(ctx, level, *page)


@router.get("/{code}", response_model=AreaRead, responses=problem_responses(NotFound))
async def get_area(ctx: Context, code: AreaCode, as_of: AsOf = None) -> AreaRead:
    """An area with its parent and children as of a date, and its whole parent history."""
    return await service.get_area(ctx, code, as_of)


@router.post("/{code}/parents", status_code=status.HTTP_201_CREATED, response_model=AreaRead,
             responses=problem_responses(NotFound, UnknownArea, InvalidAreaParent))
async def reparent_area(ctx: Context, code: AreaCode, body: AreaParentCreate) -> AreaRead:
    """Move the area under another parent from `valid_from` on (a reorganisation).
    Reports as of an earlier date still see the old parent."""
    return await service.reparent_area(ctx, code, body)


@router.post("/{code}/dissolution", response_model=AreaRead,
             responses=problem_responses(NotFound, InvalidAreaParent, AreaInUse))
async def dissolve_area(ctx: Context, code: AreaCode, body: AreaDissolution) -> AreaRead:
    """End the area on `valid_to` once its children and clubs have moved elsewhere
    (e.g. the districts removed on 2025-07-01)."""
    return await service.dissolve_area(ctx, code, body)
