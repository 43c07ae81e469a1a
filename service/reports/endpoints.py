from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request, Response

from service.areas.schemas import AREA_CODE_PATTERN
from service.context import RequestContext, get_context
from service.dates import DateText
from service.errors import (
    ExportTooLarge,
    InvalidCursor,
    NotFound,
    UnknownExportFormat,
    problem_responses,
)
from service.pagination import page_params
from service.reports import service
from service.reports.exports import (
    EXPORT_RESPONSES,
    ClubFileLanguage,
    DownloadName,
    ExportFormat,
    Format,
    RequestLanguage,
    Table,
    file_response,
)
from service.reports.schemas import (
    BalanceSheetRead,
    IncomeStatementRead,
    PortfolioRead,
    StatementRead,
    TrialBalanceRead,
)

router = APIRouter(tags=["reports"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]
ReportDate = Annotated[DateText | None, Query(description="default: today; not after it")]
FromDate = Annotated[
    DateText | None,
    Query(alias="from", description="first day, included (default: January 1 of `to`'s year)"),
]
ToDate = Annotated[
    DateText | None, Query(description="last day, included (default: today; not after it)"),
]
Currency = Annotated[
    str | None, Query(pattern=r"^[A-Z]{3}$", description="default: the fund's currency")
]
REPORT_PROBLEMS = (NotFound, (422, "invalid_report_range"), UnknownExportFormat)


Report = TypeVar("Report")


async def area_report_answer(
    report: Awaitable[Report], export: ExportFormat, as_json: Callable[[Report], bytes],
    as_table: Callable[[Report], Awaitable[tuple[Table, DownloadName]]],
) -> Response:
    """An area report's answer (a province's: 11,000 rows) in `export`, built with the
    cycle collector paused from its first read to its encoded answer and its rows
    freed before the collector resumes (see `cycle_collector_paused`)."""
    with service.cycle_collector_paused():
        built = await report
        answer = (Response(as_json(built), media_type="application/json")
                  if export is ExportFormat.JSON
                  else file_response(*await as_table(built), export))
        del built
    return answer


def period(ctx: RequestContext, start: date | None, end: date | None) -> tuple[date, date]:
    end = ctx.past_date(end, "to")
    return ctx.past_date(start or date(end.year, 1, 1), "from"), end


@router.get("/v1/accounts/{account_id}/statement", response_model=StatementRead,
            responses={**EXPORT_RESPONSES,
                       **problem_responses(*REPORT_PROBLEMS, InvalidCursor, ExportTooLarge)})
async def get_statement(
    ctx: Context, account_id: uuid.UUID, page: PageParams, language: ClubFileLanguage,
    export: Format, start: FromDate = None, to: ToDate = None,
) -> Any:
    """The account's statement: opening balance (end of the day before `from`), lines in
    effective-date then posting order with a running balance, closing balance (end of
    `to`). JSON pages with `limit`/`cursor`; CSV and XLSX hold the whole range."""
    start, end = period(ctx, start, to)
    if export is not ExportFormat.JSON:
        return file_response(
            *await service.statement_table(ctx, account_id, start, end, language), export)
    return await service.statement(ctx, account_id, start, end, *page, language)


@router.get("/v1/funds/{fund_id}/trial-balance", response_model=TrialBalanceRead,
            responses={**EXPORT_RESPONSES, **problem_responses(NotFound, UnknownExportFormat)})
async def get_trial_balance(
    ctx: Context, fund_id: uuid.UUID, language: ClubFileLanguage, export: Format,
    as_of: ReportDate = None,
) -> Any:
    """Every account's debits, credits and balance at the end of `as_of` (default today),
    with column totals per currency: debit balances equal credit balances."""
    report = await service.trial_balance_report(
        ctx, fund_id, ctx.past_date(as_of, "as_of"), language
    )
    if export is ExportFormat.JSON:
        return report
    return file_response(*await service.trial_balance_table(ctx, report, language), export)


@router.get("/v1/funds/{fund_id}/balance-sheet", response_model=BalanceSheetRead,
            responses={**EXPORT_RESPONSES,
                       **problem_responses(NotFound, (422, "currency_mismatch"),
                                          UnknownExportFormat)})
async def get_balance_sheet(
    ctx: Context, fund_id: uuid.UUID, language: ClubFileLanguage, export: Format,
    as_of: ReportDate = None, currency: Currency = None,
) -> Any:
    """Assets = liabilities + equity + surplus (earlier years' not yet closed, and the
    current year's) at the end of `as_of` (default today)."""
    report = await service.balance_sheet_report(
        ctx, fund_id, ctx.past_date(as_of, "as_of"), currency, language
    )
    if export is ExportFormat.JSON:
        return report
    return file_response(*await service.balance_sheet_table(ctx, report, language), export)


@router.get("/v1/funds/{fund_id}/income-statement", response_model=IncomeStatementRead,
            responses={**EXPORT_RESPONSES, **problem_responses(*REPORT_PROBLEMS)})
async def get_income_statement(
    ctx: Context, fund_id: uuid.UUID, language: ClubFileLanguage, export: Format,
    start: FromDate = None, to: ToDate = None, currency: Currency = None,
) -> Any:
    """Income and expenses from `from` to `to` (both included); surplus = income −
    expenses."""
    start, end = period(ctx, start, to)
    report = await service.income_statement_report(
        ctx, fund_id, start, end, currency, language
    )
    if export is ExportFormat.JSON:
        return report
    return file_response(*await service.income_statement_table(ctx, report, language), export)



@router.get("/v1/reports/portfolio", response_model=PortfolioRead,
            responses={**EXPORT_RESPONSES, **problem_responses(*REPORT_PROBLEMS)})
async def get_portfolio(
    request: Request, ctx: Context, language: RequestLanguage, export: Format,
    area: Annotated[str | None, Query(pattern=AREA_CODE_PATTERN, description=(
        "an area code; omitted: every province"))] = None,
    as_of: ReportDate = None,
    start: Annotated[DateText | None, Query(
        alias="from",
        description="start of the period of interest earned and write-offs"
                    " (default: January 1 of `as_of`'s year)")] = None,
) -> Any:
    """Fund and loan indicators per club, rolled up per commune, district and province
    in the area tree valid on `as_of` (default today). Formulas: docs/reports.md."""
    day = ctx.past_date(as_of, "as_of")
    return await area_report_answer(
        service.portfolio_report(
            ctx, area, ctx.past_date(start or date(day.year, 1, 1), "from"), day, language,
            request.app.state.pool),
        export, service.portfolio_json,
        lambda report: service.portfolio_table(ctx, report, language))
