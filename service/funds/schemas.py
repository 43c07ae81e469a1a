from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from service.audit.schemas import AuditStamp
from service.input_types import CurrencyCode, Text


class FundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Text = Field(min_length=1, max_length=200, examples=["Quỹ thử"])
    currency: CurrencyCode = "VND"


class FundRead(BaseModel):
    id: uuid.UUID
    name: str
    currency: str
    entry_count: int
    created_at: datetime
    audit: AuditStamp | None = Field(
        default=None, description="the audit record that created this fund"
    )
    club_id: uuid.UUID | None = Field(default=None, description="the club owning this fund")
