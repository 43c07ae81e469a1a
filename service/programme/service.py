"""The programme the seed money comes from: the plan's targets per area and year, and
the programme report (new clubs against the target, seed money given and owed, how
long new clubs waited, activity, members, and the portfolio's fund and loan figures).

Definitions: docs/reports.md, "Programme report"."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final, NamedTuple

import asyncpg

from ledger.programme import (
    MONTHS_IN_YEAR,
    SEED_SOURCES,
    YEAR_MAX,
    YEAR_MIN,
    ClubSeeding,
    ProgrammeFigures,
    Target,
    club_figures,
    combine,
    reporting_period,
    rolled_up_targets,
)
from ledger.reports import PortfolioFigures, total_figures
from service.areas import repository as areas
from service.areas.schemas import AreaLevel
from service.areas.service import visible_codes
from service.audit.service import record_service_write
from service.auth.rules import ADMIN, AUDITOR
from service.context import RequestContext
from service.errors import Forbidden, NotFound, UnknownArea
from service.language import Text
from service.pagination import Page, decode_cursor, make_page
from service.programme import repository
from service.programme.schemas import (
    TargetCreate,
    TargetRead,
    WaitingClubRead,
)
from service.reports.exports import Cell, DownloadName, Table, column_indices
from service.reports.labels import Language, columns, label
from service.reports.service import (
    DAYS_AT_RISK,
    FIGURE_NAMES,
    OLDER_AGE,
    RATIO_COLUMNS,
    Placement,
    area_name,
    cycle_collector_paused,
    place_clubs,
    report_json,
)
from service.reports.titles import area_title

# --- targets ---------------------------------------------------------------------------


async def require_visible_area(ctx: RequestContext, code: str) -> None:
    """404 for an area that does not exist or lies outside the caller's scope (the same
    answer for both)."""
    visible = await visible_codes(ctx)
    if (visible is not None and code not in visible) or \
            await areas.get_area(ctx.connection, code) is None:
        raise NotFound("area", code)


async def require_planner(ctx: RequestContext, code: str, year: int) -> None:
    """An admin sets any area's targets; an auditor scoped to a province sets those of
    the province and of every area under it (in the tree valid at the end of the year,
    or today). Any other auditor: 403; an area outside her province: 404."""
    principal = ctx.principal
    if principal is None or principal.role == ADMIN:
        return
    scope = principal.scope or ""
    province = scope.removeprefix("area:") if scope.startswith("area:") else None
    scope_area = await areas.get_area(ctx.connection, province) if province else None
    if principal.role != AUDITOR or scope_area is None \
            or scope_area["level"] != AreaLevel.PROVINCE.value:
        raise Forbidden(Text("targets are set by an admin or a province's auditor",
                             "chỉ tiêu do quản trị viên hoặc kiểm soát viên cấp tỉnh đặt"))
    days = {min(date(year, 12, 31), ctx.business_date), ctx.business_date}
    for day in sorted(days):
        if code in await areas.area_subtree_codes(ctx.connection, scope_area["code"], day):
            return
    raise NotFound("area", code)


async def set_target(ctx: RequestContext, code: str, body: TargetCreate) -> TargetRead:
    area = await areas.get_area(ctx.connection, code)
    if area is None:
        raise NotFound("area", code)
    await require_planner(ctx, code, body.year)
    if area["valid_from"] > date(body.year, 12, 31) or (
            area["valid_to"] is not None and area["valid_to"] <= date(body.year, 1, 1)):
        raise UnknownArea(Text("area {code} does not exist in {year}",
                               "địa bàn {code} không tồn tại trong năm {year}"),
                          code=code, year=body.year)
    record = await repository.upsert_target(
        ctx.connection, area_code=code, year=body.year, new_clubs=body.new_clubs,
        members=body.members, fund_size=body.fund_size, currency=body.currency,
        plan_reference=body.plan_reference, set_by=ctx.actor, now=ctx.now,
    )
    target = TargetRead(**dict(record))
    await record_service_write(ctx, "programme.target_set", target.model_dump(mode="json"))
    return target


def target_year_key(value: object) -> int:
    if type(value) is not int or not YEAR_MIN <= value <= YEAR_MAX:
        raise ValueError(f"{value!r} is not a target's year")
    return value


async def list_targets(
    ctx: RequestContext, code: str, year: int | None, limit: int, cursor: str | None
) -> Page[TargetRead]:
    await require_visible_area(ctx, code)
    after = decode_cursor(cursor, target_year_key)
    rows = await repository.list_targets(
        ctx.connection, [code], year, after[0] if after else None, limit + 1
    )
    return make_page([TargetRead(**dict(r)) for r in rows], limit, lambda t: [t.year])


# --- the report ------------------------------------------------------------------------

PROGRAMME_COLUMNS: Final = [
    "level", "area_code", "area_name", "established_on", "target_new_clubs",
    "clubs_established", "target_members", "new_club_members", "target_fund_size",
    "clubs", "clubs_seeded", *(f"seed_{source}" for source in SEED_SOURCES), "seed_total",
    "decision_numbers", "clubs_waiting", "days_waiting", "longest_wait_days",
    "days_to_seed", "median_days_to_seed",
    *(f"active_month_{month}" for month in range(1, MONTHS_IN_YEAR + 1)),
    "members", "members_women", "members_aged_60_plus", "capital_district_budget",
    "capital_other_budgets", "capital_donors", "capital_members", "capital_retained_surplus",
    "capital_total", "loans_outstanding", "amount_fallen_due", "amount_repaid_of_due",
    "repayment_rate", "outstanding_at_risk_30", "par30",
]


class ProgrammeRow(NamedTuple):
    """One row of the programme report: `ProgrammeRowRead`'s fields in its order, built
    without a model per row (a province of 10,000 clubs) and serialised once."""

    level: str
    label: str
    area_code: str | None
    club_id: uuid.UUID | None
    name: str
    parent_code: str | None
    established_on: date | None
    target_new_clubs: int | None
    target_members: int | None
    target_fund_size: int | None
    plan_reference: str | None
    clubs: int
    clubs_established: int
    new_club_members: int
    clubs_seeded: int
    seed_district_budget: int
    seed_commune_budget: int
    seed_province_budget: int
    seed_donor: int
    seed_members: int
    seed_total: int
    decision_numbers: list[str]
    clubs_waiting: int
    days_waiting: int | None
    longest_wait_days: int | None
    days_to_seed: int | None
    median_days_to_seed: Decimal | None
    active_clubs_by_month: list[int | None]
    members: int
    members_women: int
    members_aged_60_plus: int
    capital_district_budget: int
    capital_other_budgets: int
    capital_donors: int
    capital_members: int
    capital_retained_surplus: int
    capital_total: int
    loans_outstanding: int
    amount_fallen_due: int
    amount_repaid_of_due: int
    repayment_rate: Decimal | None
    outstanding_at_risk_30: int
    par30: Decimal | None


class ProgrammeReport(NamedTuple):
    """The programme report as `ProgrammeRead` shows it."""

    area: str | None
    year: int
    from_: date
    as_of: date
    items: list[ProgrammeRow]
    waiting: list[WaitingClubRead]
    columns: dict[str, str]


def programme_json(report: ProgrammeReport) -> bytes:
    """The report as `ProgrammeRead` serialises it, without a model per row."""
    return report_json({
        "area": report.area, "year": report.year, "from": report.from_,
        "as_of": report.as_of, "items": report.items, "waiting": report.waiting,
        "columns": report.columns,
    })


# `programme_row` builds a row by position (10,000 clubs), the seed amounts in
# `SEED_SOURCES` order.
assert SEED_SOURCES == ("district_budget", "commune_budget", "province_budget", "donor",
                        "members"), "programme_row unpacks the seed amounts in this order"


def programme_row(
    *, level: str, area_code: str | None, club_id: uuid.UUID | None, name: str,
    parent_code: str | None, established_on: date | None, target: Target | None,
    plan_reference: str | None, clubs: int, figures: ProgrammeFigures,
    portfolio: PortfolioFigures, months: int, language: Language,
    days_to_seed: int | None = None,
) -> ProgrammeRow:
    is_club = club_id is not None
    p = portfolio
    district, commune, province, donor, members = figures.seed_by_source  # SEED_SOURCES
    active = figures.active_by_month
    return ProgrammeRow(
        level, label(level, language), area_code, club_id, name, parent_code,
        established_on,
        target.new_clubs if target else None, target.members if target else None,
        target.fund_size if target else None,
        plan_reference, clubs, figures.clubs_established, figures.new_club_members,
        figures.clubs_seeded, district, commune, province, donor, members,
        figures.seed_total,
        sorted(figures.decision_numbers),
        figures.clubs_waiting,
        figures.longest_wait_days if is_club else None,
        None if is_club else figures.longest_wait_days,
        days_to_seed,
        None if is_club else figures.median_days_to_seed,
        [*active[:months], *(None,) * (len(active) - months)],
        figures.members, figures.members_women, figures.members_aged_60_plus,
        p.capital_district_budget, p.capital_other_budgets, p.capital_donors,
        p.capital_members, p.capital_retained_surplus, p.capital_total,
        p.loans_outstanding, p.amount_fallen_due, p.amount_repaid_of_due,
        p.repayment_rate, p.outstanding_at_risk_30, p.par30,
    )


async def programme_report(
    ctx: RequestContext, area: str | None, year: int, language: Language,
    pool: asyncpg.Pool | None = None,
) -> ProgrammeReport:
    """Every club under `area` (every province when None) in the tree valid at the end
    of the year (or today in the current year), and each area's roll-up, depth first.
    With `pool`, its figures are read on two of its connections at once (one snapshot)
    when two are free."""
    start, as_of = reporting_period(year, ctx.business_date)
    if area is not None:
        await require_visible_area(ctx, area)
    placement = await place_clubs(ctx, area, as_of)
    records = await repository.programme_figures(
        ctx.connection, pool, placement.club_ids, start, as_of, DAYS_AT_RISK, OLDER_AGE,
        ctx.fund_scope,
    )
    codes = [t["code"] for t in placement.tree]
    targets = await repository.list_targets(ctx.connection, codes, year, None, len(codes) + 1)
    with cycle_collector_paused():
        return assemble_report(placement, records, targets, area, year, start, as_of,
                               language)


# The portfolio's figures a programme row shows, by position in `PortfolioFigures`
# (after `clubs`); the others stay 0.
PROGRAMME_PORTFOLIO_FIGURES = (*repository.PROGRAMME_LEDGER_FIGURES,
                               *repository.PROGRAMME_LOANS_PART.columns)
PORTFOLIO_POSITIONS = [(FIGURE_NAMES.index(name), name) for name in PROGRAMME_PORTFOLIO_FIGURES]
SEED_COLUMNS = tuple(f"seed_{source}" for source in SEED_SOURCES)


def assemble_report(
    placement: Placement, records: repository.ProgrammeRecords,
    targets: Sequence[Mapping[str, Any]], area: str | None, year: int, start: date,
    as_of: date, language: Language,
) -> ProgrammeReport:
    """The report from what was read: each club's row from its figures, each area's
    from its clubs' (rolled up the tree), the areas' targets, the clubs waiting."""
    club_programme: dict[uuid.UUID, ProgrammeFigures] = {}
    club_portfolio: dict[uuid.UUID, PortfolioFigures] = {}
    seeding: dict[uuid.UUID, ClubSeeding] = {}
    zeros = [0] * len(FIGURE_NAMES)
    zeros[0] = 1  # one club
    for club in placement.clubs:
        club_id = club["id"]
        r = records.programme[club_id]
        seeding[club_id] = club_seeding = ClubSeeding(r["established_on"], r["first_seed_on"])
        club_programme[club_id] = club_figures(
            club_seeding, start, as_of,
            seed_by_source=[r[column] for column in SEED_COLUMNS],
            decision_numbers=r["decision_numbers"], active_month_bits=r["active_month_bits"],
            members=r["members"], members_women=r["members_women"],
            members_aged_60_plus=r["members_aged_60_plus"],
        )
        p = records.portfolio[club_id]
        values = zeros.copy()
        for position, name in PORTFOLIO_POSITIONS:
            values[position] = p[name] or 0  # null: no fund, or no loan
        club_portfolio[club_id] = PortfolioFigures._make(values)
    portfolio_totals = placement.roll_up(club_portfolio, total_figures)
    programme_totals = placement.roll_up(club_programme, combine)

    own = {t["area_code"]: Target(t["new_clubs"], t["members"], t["fund_size"]) for t in targets}
    references = {t["area_code"]: t["plan_reference"] for t in targets}
    effective = rolled_up_targets(own, placement.sub_areas,
                                  placement.sub_areas.get(None, []))
    months = as_of.month
    rows: list[ProgrammeRow] = []
    for node, club in placement.walk(portfolio_totals):
        code = node["code"]
        if club is None:
            rows.append(programme_row(
                level=node["level"], area_code=code, club_id=None, name=node["name"],
                parent_code=node["parent_code"], established_on=None,
                target=effective.get(code), plan_reference=references.get(code),
                clubs=portfolio_totals.get(code, PortfolioFigures()).clubs,
                figures=programme_totals.get(code, ProgrammeFigures()),
                portfolio=portfolio_totals.get(code, PortfolioFigures()),
                months=months, language=language,
            ))
            continue
        key = club["id"]
        seeded_on = seeding[key].first_seed_on
        rows.append(programme_row(
            level="club", area_code=code, club_id=club["id"], name=club["name"],
            parent_code=code, established_on=seeding[key].established_on, target=None,
            plan_reference=None, clubs=1, figures=club_programme[key],
            portfolio=club_portfolio[key], months=months, language=language,
            days_to_seed=seeding[key].days_to_seed
            if seeded_on is not None and seeded_on <= as_of else None,
        ))
    waiting = sorted(
        (WaitingClubRead(club_id=c["id"], name=c["name"], area_code=c["area_code"],
                         established_on=seeding[c["id"]].established_on,
                         days_waiting=wait)
         for c in placement.clubs
         if (wait := seeding[c["id"]].days_waiting(as_of)) is not None),
        key=lambda w: (-w.days_waiting, w.area_code, w.name),
    )
    return ProgrammeReport(area, year, start, as_of, rows, waiting,
                           columns(PROGRAMME_COLUMNS, language))


def _cell(value: Any) -> Cell:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, (str, int, date, Decimal)) or value is None:
        return value
    return str(value)


async def programme_table(
    ctx: RequestContext, report: ProgrammeReport, language: Language
) -> tuple[Table, DownloadName]:
    """The report to the committee: title, period, area and plan, the table, and the
    signature block (the XLSX holds them all; the CSV only the table)."""
    rows: list[list[Cell]] = []
    for item in report.items:
        values = item._asdict()
        row: list[Cell] = [item.label, item.area_code, item.name]
        for key in PROGRAMME_COLUMNS[3:]:
            if key.startswith("active_month_"):
                row.append(item.active_clubs_by_month[int(key.rsplit("_", 1)[1]) - 1])
            else:
                row.append(_cell(values[key]))
        rows.append(row)
    top = report.items[0] if report.items else None
    area = area_name(report.area, report.items, language)
    plan = top.plan_reference if top and top.plan_reference else None
    heading = [
        label("programme_title", language),
        label("programme_period", language).format(
            year=report.year, start=report.from_.strftime("%d/%m/%Y"),
            end=report.as_of.strftime("%d/%m/%Y")),
        label("programme_area", language).format(area=area),
    ]
    if plan:
        heading.append(label("programme_plan", language).format(plan=plan))
    footer: list[list[Cell]] = [
        [None, None, None, None, None, None, label("place_and_date", language)],
        [None, label("prepared_by", language), None, None, None, None,
         label("head_of_department", language)],
        [None, label("signature_and_name", language), None, None, None, None,
         label("signature_and_seal", language)],
    ]
    block = await area_title(
        ctx, [i.club_id for i in report.items if i.club_id is not None],
        label("programme", language), area, language, report.as_of, report.from_,
    )
    table = Table(title=label("programme", language),
                  headers=[label(c, language) for c in PROGRAMME_COLUMNS], rows=rows,
                  heading=heading, footer=footer, title_block=block,
                  percent_columns=column_indices(PROGRAMME_COLUMNS, RATIO_COLUMNS))
    return table, DownloadName("bao-cao-chuong-trinh", report.area or "tat-ca",
                               str(report.year))
