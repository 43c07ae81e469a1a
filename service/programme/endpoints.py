from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, status

from ledger.programme import YEAR_MAX, YEAR_MIN
from service.areas.schemas import AREA_CODE_PATTERN
from service.context import RequestContext, get_context
from service.errors import Forbidden, InvalidCursor, NotFound, UnknownArea, problem_responses
from service.pagination import Page, page_params
from service.programme import service
from service.programme.schemas import ProgrammeRead, TargetCreate, TargetRead
from service.reports.endpoints import REPORT_PROBLEMS, area_report_answer
from service.reports.exports import (
    EXPORT_RESPONSES,
    CommitteeLanguage,
    Format,
)

router = APIRouter(tags=["programme"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]
AreaCode = Annotated[str, Path(pattern=AREA_CODE_PATTERN)]
Year = Annotated[int, Query(ge=YEAR_MIN, le=YEAR_MAX)]


@router.post("/v1/areas/{code}/targets", status_code=status.HTTP_201_CREATED,
             response_model=TargetRead,
             responses=problem_responses(NotFound, Forbidden, UnknownArea))
async def set_target(ctx: Context, code: AreaCode, body: TargetCreate) -> TargetRead:
    """Set the plan's target of an area for a year (replacing an earlier one): an admin,
    or the auditor of the province the area lies in."""
    return await service.set_target(ctx, code, body)


@router.get("/v1/areas/{code}/targets", response_model=Page[TargetRead],
            responses=problem_responses(NotFound, InvalidCursor))
async def list_targets(
    ctx: Context, code: AreaCode, page: PageParams, year: Year | None = None
) -> Page[TargetRead]:
    """The area's targets in year order (of one year with `year`)."""
    return await service.list_targets(ctx, code, year, *page)


@router.get("/v1/reports/programme", response_model=ProgrammeRead,
            responses={**EXPORT_RESPONSES, **problem_responses(*REPORT_PROBLEMS)})
async def get_programme_report(
    request: Request, ctx: Context, language: CommitteeLanguage, export: Format,
    year: Year,
    area: Annotated[str | None, Query(pattern=AREA_CODE_PATTERN)] = None,
) -> Any:
    """New clubs against the plan's target, seed money given and owed, days waited,
    active clubs by month, members and the fund and loan figures of `year`, per club and
    rolled up per area, in the area tree valid at the end of the year (today in the
    current year). JSON, CSV, or XLSX laid out as a report to the committee."""
    return await area_report_answer(
        service.programme_report(ctx, area, year, language, request.app.state.pool),
        export, service.programme_json,
        lambda report: service.programme_table(ctx, report, language))
