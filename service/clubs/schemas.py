from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from service import example_values as example
from service.areas.schemas import AreaCode
from service.audit.schemas import AuditStamp
from service.dates import DateText
from service.input_types import Text


class ClubCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "CLB Liên thế hệ tự giúp nhau xã Tịnh Hà", "area_code": example.COMMUNE_CODE,
         "established_on": "2026-03-02"},
    ]})
    name: Text = Field(min_length=1, max_length=200, examples=["CLB LTH xã Tịnh Hà"])
    area_code: AreaCode = Field(description="the commune it belongs to")
    established_on: DateText | None = Field(
        default=None, description="from when the club is in its area; default today"
    )


class ClubMove(BaseModel):
    """The club belongs to another commune from `valid_from` on (e.g. communes merged)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"area_code": "21091", "valid_from": "2026-07-01"},
    ]})
    area_code: AreaCode
    valid_from: DateText


class ClubAreaRead(BaseModel):
    area_code: str
    valid_from: date
    valid_to: date | None


class ClubRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": example.CLUB_ID, "fund_id": example.FUND_ID,
        "name": "CLB Liên thế hệ tự giúp nhau xã Tịnh Hà", "area_code": example.COMMUNE_CODE,
        "established_on": "2026-03-02", "created_at": "2026-03-02T08:15:00+07:00",
        "areas": [{"area_code": example.COMMUNE_CODE, "valid_from": "2026-03-02",
                   "valid_to": None}],
    }]})
    location: ClassVar[str] = "/v1/clubs/{id}"
    id: uuid.UUID
    fund_id: uuid.UUID = Field(description="the club's income fund")
    name: str
    area_code: str = Field(description="the commune it belongs to now")
    established_on: date
    created_at: datetime
    areas: list[ClubAreaRead] = Field(description="where the club was over time, oldest first")


class Gender(StrEnum):
    FEMALE = "female"
    MALE = "male"
    OTHER = "other"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    LEFT = "left"


class MemberCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Trần Thị Lan", "gender": "female", "birth_year": 1958, "status": "active",
         "joined_on": "2026-03-02"},
    ]})
    name: Text = Field(min_length=1, max_length=200, examples=["Nguyễn Thị A"])
    gender: Gender
    birth_year: StrictInt = Field(ge=1900, le=2100, examples=[1955])
    status: MemberStatus = MemberStatus.ACTIVE
    joined_on: DateText | None = None


class MemberUpdate(BaseModel):
    """The fields to change; a field left out stays as it is."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Trần Thị Lan", "birth_year": 1957},
        {"status": "left"},
    ]})
    name: Text | None = Field(default=None, min_length=1, max_length=200,
                              examples=["Trần Thị Lan"])
    gender: Gender | None = None
    birth_year: StrictInt | None = Field(default=None, ge=1900, le=2100, examples=[1957])
    status: MemberStatus | None = None
    joined_on: DateText | None = None

    def changes(self) -> dict[str, object]:
        """The fields given with a value (a null is the same as leaving the field out)."""
        return {name: value for name, value in self.model_dump().items() if value is not None}


class MemberRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": example.MEMBER_ID, "club_id": example.CLUB_ID, "name": "Trần Thị Lan",
        "gender": "female", "birth_year": 1958, "status": "active", "joined_on": "2026-03-02",
        "created_at": "2026-03-02T08:40:12+07:00",
    }]})
    location: ClassVar[str] = "/v1/clubs/{club_id}/members"
    id: uuid.UUID
    club_id: uuid.UUID
    name: str
    gender: Gender
    birth_year: int
    status: MemberStatus
    joined_on: date | None
    created_at: datetime
    audit: AuditStamp | None = Field(
        default=None, description="the audit record that created this member (in the answer"
        " to an update: the update's record)"
    )


class PassbookLineRead(BaseModel):
    effective_date: date
    operation: Literal["contribution", "disbursement", "repayment"]
    loan_id: uuid.UUID | None
    loan_number: int | None
    entry_id: uuid.UUID | None
    contribution: int
    disbursed: int
    principal: int = Field(description="repaid principal")
    interest: int
    penalty: int
    contributions_total: int = Field(description="the member's contributions to this date")
    outstanding_principal: int = Field(description="the member's loans' principal owed after"
                                       " this line")


class PassbookRead(BaseModel):
    member: MemberRead
    fund_id: uuid.UUID
    items: list[PassbookLineRead]
    contributions_total: int
    outstanding_principal: int
    columns: dict[str, str]
