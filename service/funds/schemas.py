from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ledger.money import CURRENCY_MINOR_UNITS
from service import example_values as example
from service.audit.schemas import AuditStamp
from service.input_types import CurrencyCode, Text


class FundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Quỹ hỗ trợ sinh kế Hội Người cao tuổi huyện Sơn Tịnh", "currency": "VND"},
    ]})
    name: Text = Field(min_length=1, max_length=200)
    currency: CurrencyCode = "VND"


class FundRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": example.FUND_ID, "name": "Quỹ CLB Liên thế hệ tự giúp nhau xã Tịnh Hà",
        "currency": "VND", "minor_units": 0, "entry_count": 37,
        "created_at": "2026-03-02T08:15:00+07:00", "audit": example.AUDIT_STAMP,
        "club_id": example.CLUB_ID,
    }]})
    location: ClassVar[str] = "/v1/funds/{id}"
    id: uuid.UUID
    name: str
    currency: str
    entry_count: int
    created_at: datetime
    audit: AuditStamp | None = Field(
        default=None, description="the audit record that created this fund"
    )
    club_id: uuid.UUID | None = Field(default=None, description="the club owning this fund")

    @computed_field(  # type: ignore[prop-decorator]
        description="digits after the decimal point of the currency's amounts (ISO 4217): "
                    "0 for VND (amounts are whole đồng), 2 for USD (amounts are cents)"
    )
    @property
    def minor_units(self) -> int:
        return CURRENCY_MINOR_UNITS[self.currency]
