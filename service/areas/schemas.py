from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from service import example_values as example
from service.dates import DateText
from service.input_types import TEXT_RULE, Text

AREA_CODE_PATTERN = r"^[0-9A-Za-z][0-9A-Za-z._-]{0,19}$"
AreaCode = Annotated[str, Field(pattern=AREA_CODE_PATTERN), TEXT_RULE]


class AreaLevel(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"

    @property
    def rank(self) -> int:
        """0 for a province, 1 for a district, 2 for a commune: parents rank lower."""
        return (AreaLevel.PROVINCE, AreaLevel.DISTRICT, AreaLevel.COMMUNE).index(self)


class AreaCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"code": example.COMMUNE_CODE, "name": "Xã Tịnh Hà", "level": "commune",
         "parent_code": "527", "valid_from": "2026-01-01"},
    ]})
    code: AreaCode = Field(examples=["51"],
                      description="the official code (GSO administrative unit code)")
    name: Text = Field(min_length=1, max_length=200, examples=["Quảng Ngãi"])
    level: AreaLevel
    parent_code: AreaCode | None = Field(default=None, description="null for a province")
    valid_from: DateText = Field(examples=["2025-07-01"])


class AreaParentCreate(BaseModel):
    """Re-parent an area from `valid_from` on (the previous parent stays in the history)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"parent_code": "522", "valid_from": "2026-07-01"},
    ]})
    parent_code: AreaCode | None
    valid_from: DateText


class AreaDissolution(BaseModel):
    """End an area on `valid_to` (exclusive): its children and clubs must have moved."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"valid_to": "2026-07-01"},
    ]})
    valid_to: DateText


class AreaParentRead(BaseModel):
    parent_code: str | None
    valid_from: date
    valid_to: date | None


class AreaRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "code": example.COMMUNE_CODE, "name": "Xã Tịnh Hà", "level": "commune",
        "valid_from": "2026-01-01", "valid_to": None,
        "created_at": "2026-01-05T10:02:11+07:00", "as_of": "2026-11-30",
        "parent_code": "527", "children": [],
        "parents": [{"parent_code": "527", "valid_from": "2026-01-01", "valid_to": None}],
    }]})
    location: ClassVar[str] = "/v1/areas/{code}"
    code: str
    name: str
    level: AreaLevel
    valid_from: date
    valid_to: date | None
    created_at: datetime
    as_of: date = Field(description="the date parent_code and children are read at")
    parent_code: str | None
    children: list[str]
    parents: list[AreaParentRead] = Field(description="the whole parent history, oldest first")
