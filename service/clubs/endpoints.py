from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from service.areas.schemas import AREA_CODE_PATTERN
from service.clubs import passbook, service
from service.clubs.schemas import (
    ClubCreate,
    ClubMove,
    ClubRead,
    MemberCreate,
    MemberRead,
    MemberUpdate,
    PassbookRead,
)
from service.context import RequestContext, get_context
from service.dates import DateText
from service.errors import (
    ExportTooLarge,
    InvalidAreaParent,
    InvalidCursor,
    NotFound,
    UnknownArea,
    UnknownExportFormat,
    problem_responses,
)
from service.pagination import Page, page_params
from service.reports.exports import (
    EXPORT_RESPONSES,
    ClubFileLanguage,
    ExportFormat,
    Format,
    file_response,
)

router = APIRouter(prefix="/v1/clubs", tags=["clubs"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ClubRead,
             responses=problem_responses(UnknownArea, InvalidAreaParent))
async def create_club(ctx: Context, body: ClubCreate) -> ClubRead:
    """Create a club in a commune, with its income fund and the default chart of
    accounts (111 cash, 112 bank, 4111–4118 capital by source, 515, 711, 642, 811;
    131.NNNN per loan). The answer carries `fund_id`."""
    return await service.create_club(ctx, body)


@router.get("", response_model=Page[ClubRead],
            responses=problem_responses(UnknownArea, InvalidCursor))
async def list_clubs(
    ctx: Context, page: PageParams,
    area: Annotated[str | None, Query(pattern=AREA_CODE_PATTERN,
                                      description="only clubs in this area or below it")] = None,
    as_of: Annotated[DateText | None, Query(description="the area tree of this date")] = None,
) -> Page[ClubRead]:
    return await service.list_clubs(ctx, area, as_of, *page)


@router.get("/{club_id}", response_model=ClubRead, responses=problem_responses(NotFound))
async def get_club(ctx: Context, club_id: uuid.UUID) -> ClubRead:
    return await service.get_club(ctx, club_id)


@router.post("/{club_id}/area", response_model=ClubRead,
             responses=problem_responses(NotFound, UnknownArea, InvalidAreaParent))
async def move_club(ctx: Context, club_id: uuid.UUID, body: ClubMove) -> ClubRead:
    """The club belongs to another commune from `valid_from` on (e.g. after communes
    merged); reports as of earlier dates still place it in its old commune."""
    return await service.move_club(ctx, club_id, body)


@router.post("/{club_id}/members", status_code=status.HTTP_201_CREATED,
             response_model=MemberRead, responses=problem_responses(NotFound))
async def create_member(ctx: Context, club_id: uuid.UUID, body: MemberCreate) -> MemberRead:
    return await service.create_member(ctx, club_id, body)


@router.get("/{club_id}/members", response_model=Page[MemberRead],
            responses=problem_responses(NotFound, InvalidCursor))
async def list_members(ctx: Context, club_id: uuid.UUID, page: PageParams) -> Page[MemberRead]:
    return await service.list_members(ctx, club_id, *page)


@router.get("/{club_id}/members/{member_id}", response_model=MemberRead,
            responses=problem_responses(NotFound))
async def get_member(ctx: Context, club_id: uuid.UUID, member_id: uuid.UUID) -> MemberRead:
    return await service.member_of_club(ctx, club_id, member_id)


@router.patch("/{club_id}/members/{member_id}", response_model=MemberRead,
              responses=problem_responses(NotFound))
async def update_member(
    ctx: Context, club_id: uuid.UUID, member_id: uuid.UUID, body: MemberUpdate
) -> MemberRead:
    """Change a member's `name`, `gender`, `birth_year`, `status` or `joined_on`; fields
    left out (or null) stay as they are. The change is one `member.updated` audit record
    in the club's fund's log, whose stamp the answer carries; sending the same change
    again changes and writes nothing (the answer then carries the creation's stamp)."""
    return await service.update_member(ctx, club_id, member_id, body)


@router.get("/{club_id}/members/{member_id}/passbook", response_model=PassbookRead,
            responses={**EXPORT_RESPONSES,
                       **problem_responses(NotFound, UnknownExportFormat, ExportTooLarge)})
async def get_passbook(
    ctx: Context, club_id: uuid.UUID, member_id: uuid.UUID, export: Format,
    language: ClubFileLanguage,
) -> Any:
    """The member's passbook: her contributions (those recorded with her `member_id`),
    her loans paid out and her repayments (penalty, interest, principal) in date order,
    with her contributions to date and the principal she owes after each line. JSON,
    CSV, or XLSX with a title block (docs/auditors.md)."""
    book = await passbook.passbook(ctx, club_id, member_id, language)
    if export is ExportFormat.JSON:
        return book
    return file_response(*await passbook.passbook_table(ctx, book, language), export)
