"""The auditor's pages: pick an area and a date, the portfolio of the area's clubs, a
club's trial balance and account statements, the audit status of each club's log, the
programme report, and links to the same reports as CSV and XLSX.

Every figure comes from the service the API answers with (service/reports,
service/programme, service/audit); the download links are the API's own report routes,
which read the signed-in person's session on a GET. An area or club outside the
auditor's scope is not found, exactly like an unknown one.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Final, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from ledger.errors import LedgerError
from ledger.programme import YEAR_MAX, YEAR_MIN
from service.areas.schemas import AREA_CODE_PATTERN
from service.areas.service import visible_codes
from service.audit import service as audit
from service.audit.endpoints import get_signer_if_any, get_witnesses
from service.auth.rules import ADMIN, AUDITOR
from service.clubs.schemas import ClubRead
from service.clubs.service import get_club
from service.context import RequestContext
from service.errors import ClubfundError, NotFound
from service.language import Language
from service.pages import service
from service.pages.rendering import Context, PageRoute, page_language, render, signed_in
from service.pages.service import FieldError, FormProblems, problems_of, word
from service.programme.service import programme_report
from service.reports.schemas import AreaRowRead
from service.reports.service import (
    PORTFOLIO_COLUMNS,
    RATIO_COLUMNS,
    place_clubs,
    portfolio_report,
    statement,
    trial_balance_report,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

T = TypeVar("T")
# Who these pages are for: the auditor of an area (or of a club), and an admin.
AUDITOR_PAGE_ROLES: Final = frozenset({AUDITOR, ADMIN})
# The indicators of a portfolio row, in the report's order (after level, code and name).
PORTFOLIO_FIGURES: Final = PORTFOLIO_COLUMNS[3:]
COUNT_FIGURES: Final = frozenset({"clubs", "active_borrowers", "active_borrowers_women",
                                  "active_borrowers_aged_60_plus"})
PROGRAMME_FIGURES: Final = [
    "target_new_clubs", "clubs_established", "clubs_seeded", "seed_total", "clubs_waiting",
    "longest_wait_days", "median_days_to_seed", "members", "members_women",
    "members_aged_60_plus", "capital_total", "loans_outstanding", "repayment_rate", "par30",
]
PROGRAMME_AMOUNTS: Final = frozenset({"seed_total", "capital_total", "loans_outstanding"})
# What one page shows at most (the files hold everything): a page stays small on a phone.
ROWS_SHOWN_MAX: Final = 200
LOGS_SHOWN_MAX: Final = 30  # clubs whose audit log the area page shows (and verifies)
WAITING_SHOWN_MAX: Final = 100
AREA_CHOICES_MAX: Final = 1000
STATEMENT_LINES_SHOWN_MAX: Final = 500
QUERY_TEXT_LENGTH_MAX: Final = 40
AREA_CODE = re.compile(AREA_CODE_PATTERN)

QueryText = Annotated[str | None, Query()]


# ------------------------------------------------------------------ what the pages share


async def auditor(request: Request, ctx: RequestContext) -> None:
    """A signed-in auditor (or admin); anyone else finds no such page."""
    await signed_in(request, ctx)
    assert ctx.principal is not None
    if ctx.principal.role not in AUDITOR_PAGE_ROLES:
        raise NotFound()


def scope_area(ctx: RequestContext) -> str | None:
    """The area an auditor is scoped to (None: a club's auditor, or an admin)."""
    scope = ctx.principal.scope if ctx.principal else None
    return scope.removeprefix("area:") if scope and scope.startswith("area:") else None


def area_asked(text: str | None, ctx: RequestContext) -> str | None:
    """The area of the query (default: her own); a malformed code is not found, as an
    unknown one is."""
    if not text:
        return scope_area(ctx)
    if len(text) > QUERY_TEXT_LENGTH_MAX or not AREA_CODE.fullmatch(text):
        raise NotFound("area", text[:QUERY_TEXT_LENGTH_MAX])
    return text


def day_asked(ctx: RequestContext, language: Language, text: str | None, name: str,
              problems: FormProblems, default: date | None = None) -> date:
    """A dd/mm/yyyy date of the query (default: `default`, else today); a wrong one is
    noted next to its field and today stands in for it."""
    try:
        typed = service.date_of({name: (text or "")[:QUERY_TEXT_LENGTH_MAX]}, name)
    except FieldError as error:
        problems.fields[name] = word(language, error.word_key)
        return ctx.business_date
    return date.fromisoformat(typed) if typed else default or ctx.business_date


async def figures_or_problem(
    read: Callable[[], Awaitable[T]], language: Language, field_name: str,
    problems: FormProblems,
) -> T | None:
    """A report, or None with the refusal (a future date, a reversed range) noted next to
    the field it is about. Not found stays not found."""
    try:
        return await read()
    except (ClubfundError, LedgerError) as error:
        if getattr(error, "status", None) == 404:
            raise
        found = problems_of(error, language)
        problems.fields.setdefault(field_name, found.general or word(language, "invalid_value"))
        return None


def percent(value: Decimal | None, language: Language) -> str:
    """0.953 → 95,3 % (Vietnamese) or 95.3 % ; – when there is nothing to divide by."""
    if value is None:
        return "–"
    text = f"{value * 100:.1f}"
    return (text.replace(".", ",") if language == "vi" else text) + " %"


def count(value: int | None) -> str:
    """12345 → 12.345"""
    return f"{value or 0:,}".replace(",", ".")


def figure_text(key: str, value: Any, language: Language, amounts: frozenset[str] | None,
                ) -> str:
    """A report's value as the page shows it: an amount, a count, a ratio or days."""
    if key in RATIO_COLUMNS:
        return percent(value, language)
    if value is None:
        return "–"
    if isinstance(value, Decimal):
        return f"{value:.1f}".replace(".", ",") if language == "vi" else f"{value:.1f}"
    if amounts is None:  # the portfolio: everything but counts and ratios is money
        return count(value) if key in COUNT_FIGURES else service.money(value)
    return service.money(value) if key in amounts else count(value)


def api_link(path: str, **query: Any) -> str:
    """A download from the API's report route (it reads the session on a GET)."""
    return f"{path}?{urlencode({k: v for k, v in query.items() if v is not None})}"


def shown_rows(items: list[Any], area: str | None) -> list[Any]:
    """The area's own row, then its sub-areas and the clubs right in it (a sub-area opens
    its own page): a district is a row per commune, a commune a row per club."""
    own = [i for i in items[:1] if area is not None and i.club_id is None
           and i.area_code == area]
    return own + [i for i in items if i.parent_code == area][:ROWS_SHOWN_MAX]


def row_link(row: AreaRowRead, area: str | None, page: str, query: dict[str, Any],
             club_query: dict[str, Any]) -> str | None:
    """A club's row opens the club; a sub-area's row opens `page` for that area."""
    if row.club_id is not None:
        return f"/auditor/clubs/{row.club_id}?{urlencode(club_query)}"
    if row.area_code != area:
        return f"{page}?{urlencode({'area': row.area_code, **query})}"
    return None


# ------------------------------------------------------------------ the audit status


@dataclass(frozen=True)
class LogStatus:
    """A club's audit log: its signed checkpoint with the witnesses' cosignatures, and,
    when asked for, the verification of every record."""

    club: AreaRowRead | ClubRead
    verified: bool | None  # None: not verified record by record on this page
    records: int
    root_hash: str
    problem: str | None
    checkpoint_size: int | None  # None: the service has no signing key
    witnesses: list[str]


async def log_status(request: Request, ctx: RequestContext, club: AreaRowRead | ClubRead,
                     fund_id: uuid.UUID, verify: bool) -> LogStatus:
    """What /audit/checkpoint (checked as a saved one) and, with `verify`, /audit/verify
    answer."""
    signer = get_signer_if_any(request)
    size: int | None = None
    witnesses: list[str] = []
    if signer is not None:
        chosen = get_witnesses(request)
        note = await audit.checkpoint(ctx, signer, chosen, fund_id)
        check = await audit.check_saved_checkpoint(ctx, signer, chosen, fund_id,
                                                   note.encode("utf-8"))
        size, witnesses = check.tree_size, check.cosigned_by
    if not verify:
        return LogStatus(club, None, 0, "", None, size, witnesses)
    checked = await audit.verify(ctx, request.app.state.pool, signer, fund_id)
    if checked.ok:
        return LogStatus(club, True, checked.tree_size, checked.root_hash, None, size,
                         witnesses)
    return LogStatus(club, False, 0, "", checked.reason, size, witnesses)


# ------------------------------------------------------------------ the area


@router.get("/auditor")
async def area_page(request: Request, ctx: Context, area: QueryText = None,
                    as_of: QueryText = None, verify: QueryText = None) -> Response:
    """The portfolio; each club's log by its checkpoint, and verified record by record
    when asked (`verify=1`: it reads every record of every club shown)."""
    await auditor(request, ctx)
    language = page_language(request)
    code = area_asked(area, ctx)
    problems = FormProblems()
    day = day_asked(ctx, language, as_of, "as_of", problems)
    report = None if problems else await figures_or_problem(
        lambda: portfolio_report(ctx, code, date(day.year, 1, 1),
                                 ctx.past_date(day, "as_of"), language, request.app.state.pool),
        language, "as_of", problems)
    rows = shown_rows(report.items, code) if report else []
    clubs = [r for r in rows if r.club_id is not None]
    logs = []
    if len(clubs) <= LOGS_SHOWN_MAX:
        for row in clubs:
            club = await get_club(ctx, row.club_id)
            logs.append(await log_status(request, ctx, row, club.fund_id, verify == "1"))
    day_text = service.day_text(day)
    form = {"area": code or "", "as_of": (as_of or day_text)[:QUERY_TEXT_LENGTH_MAX]}
    downloads = {kind: api_link("/v1/reports/portfolio", area=code, as_of=day.isoformat(),
                                format=kind) for kind in ("xlsx", "csv")}
    return render(
        request, "auditor_area.html", 422 if problems else 200, form=form,
        problems=problems, report=report, rows=rows, area=code, logs=logs,
        logs_skipped=len(clubs) > LOGS_SHOWN_MAX, verified=verify == "1", figures=PORTFOLIO_FIGURES,
        figure=lambda key, value: figure_text(key, value, language, None),
        link=lambda row: row_link(row, code, "/auditor", {"as_of": day_text},
                                  {"as_of": day_text}),
        downloads=downloads,
        choices=await area_choices(ctx, day), year=day.year,
    )


@dataclass(frozen=True)
class AreaChoice:
    code: str
    name: str
    depth: int


async def area_choices(ctx: RequestContext, day: date) -> list[AreaChoice]:
    """The areas she may pick: her own and every area under it as on `day` (the area
    tree the reports walk, as far as her scope reaches)."""
    placement = await place_clubs(ctx, scope_area(ctx), day)
    visible = await visible_codes(ctx)
    return [AreaChoice(t["code"], t["name"], t["depth"]) for t in placement.tree
            if visible is None or t["code"] in visible][:AREA_CHOICES_MAX]


# ------------------------------------------------------------------ a club


@router.get("/auditor/clubs/{club_id}")
async def club_page(request: Request, ctx: Context, club_id: uuid.UUID,
                    as_of: QueryText = None) -> Response:
    await auditor(request, ctx)
    language = page_language(request)
    club = await get_club(ctx, club_id)
    problems = FormProblems()
    day = day_asked(ctx, language, as_of, "as_of", problems)
    report = None if problems else await figures_or_problem(
        lambda: trial_balance_report(ctx, club.fund_id, ctx.past_date(day, "as_of"),
                                     language), language, "as_of",
        problems)
    day_text = service.day_text(day)
    downloads = {kind: api_link(f"/v1/funds/{club.fund_id}/trial-balance",
                                as_of=day.isoformat(), format=kind) for kind in ("xlsx", "csv")}
    statement_query = urlencode({"from": service.day_text(date(day.year, 1, 1)),
                                 "to": day_text})
    return render(
        request, "auditor_club.html", 422 if problems else 200, club=None, the_club=club,
        form={"as_of": (as_of or day_text)[:QUERY_TEXT_LENGTH_MAX]}, problems=problems,
        report=report, downloads=downloads, statement_query=statement_query,
        log=await log_status(request, ctx, club, club.fund_id, verify=True),
        area_link=f"/auditor?{urlencode({'area': club.area_code, 'as_of': day_text})}",
    )


@router.get("/auditor/clubs/{club_id}/accounts/{account_id}")
async def statement_page(request: Request, ctx: Context, club_id: uuid.UUID,
                         account_id: uuid.UUID, start: Annotated[
                             str | None, Query(alias="from")] = None,
                         to: QueryText = None) -> Response:
    await auditor(request, ctx)
    language = page_language(request)
    club = await get_club(ctx, club_id)
    problems = FormProblems()
    end = day_asked(ctx, language, to, "to", problems)
    first = day_asked(ctx, language, start, "from", problems, date(end.year, 1, 1))

    async def read() -> Any:
        return await statement(ctx, account_id, ctx.past_date(first, "from"),
                               ctx.past_date(end, "to"), STATEMENT_LINES_SHOWN_MAX, None,
                               language)

    report = None if problems else await figures_or_problem(read, language, "to", problems)
    if report is not None and report.account.fund_id != club.fund_id:
        raise NotFound("account", account_id)
    downloads = {kind: api_link(f"/v1/accounts/{account_id}/statement",
                                **{"from": first.isoformat(), "to": end.isoformat(),
                                   "format": kind}) for kind in ("xlsx", "csv")}
    return render(
        request, "auditor_statement.html", 422 if problems else 200, club=None,
        the_club=club, report=report, problems=problems, downloads=downloads,
        form={"from": (start or service.day_text(first))[:QUERY_TEXT_LENGTH_MAX],
              "to": (to or service.day_text(end))[:QUERY_TEXT_LENGTH_MAX]},
        club_link=f"/auditor/clubs/{club.id}?{urlencode({'as_of': service.day_text(end)})}",
    )


# ------------------------------------------------------------------ the programme


@router.get("/auditor/programme")
async def programme_page(request: Request, ctx: Context, area: QueryText = None,
                         year: QueryText = None) -> Response:
    await auditor(request, ctx)
    language = page_language(request)
    code = area_asked(area, ctx)
    problems = FormProblems()
    chosen = ctx.business_date.year
    text = (year or "").strip()[:QUERY_TEXT_LENGTH_MAX]
    if text:
        if not text.isdigit() or not YEAR_MIN <= int(text) <= YEAR_MAX:
            problems.fields["year"] = word(language, "audit_year_range",
                                           low=YEAR_MIN, high=YEAR_MAX)
        else:
            chosen = int(text)
    report = None if problems else await figures_or_problem(
        lambda: programme_report(ctx, code, chosen, language, request.app.state.pool),
        language, "year", problems)
    rows = shown_rows(report.items, code) if report else []
    downloads = {kind: api_link("/v1/reports/programme", area=code, year=chosen, format=kind)
                 for kind in ("xlsx", "csv")}
    today = service.day_text(ctx.business_date)
    return render(
        request, "auditor_programme.html", 422 if problems else 200,
        form={"area": code or "", "year": text or str(chosen)}, problems=problems,
        report=report, rows=rows, area=code, figures=PROGRAMME_FIGURES,
        waiting=report.waiting[:WAITING_SHOWN_MAX] if report else [],
        waiting_more=max(0, len(report.waiting) - WAITING_SHOWN_MAX) if report else 0,
        figure=lambda key, value: figure_text(key, value, language, PROGRAMME_AMOUNTS),
        link=lambda row: row_link(row, code, "/auditor/programme", {"year": chosen},
                                  {"as_of": today}),
        club_link=lambda club_id: f"/auditor/clubs/{club_id}?{urlencode({'as_of': today})}",
        downloads=downloads, choices=await area_choices(ctx, ctx.business_date),
        year=chosen,
    )
