from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger.programme import YEAR_MAX, YEAR_MIN
from service.input_types import CurrencyCode, Text
from service.reports.schemas import AreaRowRead

NEW_CLUBS_MAX = 100_000
MEMBERS_MAX = 10_000_000
FUND_SIZE_MAX = 10**15  # minor units


class TargetCreate(BaseModel):
    """The plan's target for an area and year. Setting it again replaces it."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"year": 2026, "new_clubs": 12, "members": 600, "fund_size": 600_000_000,
         "currency": "VND", "plan_reference": "70/KH-UBND"},
    ]})
    year: StrictInt = Field(ge=YEAR_MIN, le=YEAR_MAX, examples=[2026])
    new_clubs: StrictInt = Field(ge=0, le=NEW_CLUBS_MAX, description="clubs to establish")
    members: StrictInt = Field(ge=0, le=MEMBERS_MAX,
                               description="members of the clubs established in the year")
    fund_size: StrictInt | None = Field(
        default=None, ge=0, le=FUND_SIZE_MAX,
        description="seed money planned for the year's new clubs of the area, in total, in"
                    " minor units",
    )
    currency: CurrencyCode = Field(default="VND")
    plan_reference: Text = Field(min_length=1, max_length=200, examples=["70/KH-UBND"])


class TargetRead(BaseModel):
    location: ClassVar[str] = "/v1/areas/{area_code}/targets"

    area_code: str
    year: int
    new_clubs: int
    members: int
    fund_size: int | None
    currency: str
    plan_reference: str
    set_by: str
    set_at: datetime


class WaitingClubRead(BaseModel):
    club_id: uuid.UUID
    name: str
    area_code: str
    established_on: date
    days_waiting: int


class ProgrammeRowRead(AreaRowRead):
    """One club, or the roll-up of an area (definitions: docs/reports.md)."""

    established_on: date | None = Field(description="clubs only")
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
    days_waiting: int | None = Field(description="clubs only: days without seed money")
    longest_wait_days: int | None = Field(description="areas only")
    days_to_seed: int | None = Field(description="clubs only")
    median_days_to_seed: Decimal | None = Field(description="areas only")
    active_clubs_by_month: list[int | None] = Field(
        description="January to December; null after the report's end"
    )
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


class ProgrammeRead(BaseModel):
    area: str | None = Field(description="the area asked for; null: every province")
    year: int
    from_: date = Field(serialization_alias="from")
    as_of: date = Field(description="December 31, or today in the current year")
    items: list[ProgrammeRowRead]
    waiting: list[WaitingClubRead] = Field(
        description="clubs without seed money at the end of the period, longest wait first"
    )
    columns: dict[str, str]
