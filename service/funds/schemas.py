from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field, computed_field

from ledger.money import CURRENCY_MINOR_UNITS
from service.audit.schemas import AuditStamp
from service.input_types import CurrencyCode, Text


class FundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=200, examples=["Quỹ thử"])
    currency: CurrencyCode = "VND"


class FundRead(BaseModel):
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
