from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, Field

from service.audit.schemas import AuditStamp


class ClosedPeriodRead(BaseModel):
    location: ClassVar[str] = "/v1/funds/{fund_id}/periods"
    fund_id: uuid.UUID
    period: str = Field(examples=["2026-01"], description="the closed month, yyyy-mm")
    first_day: date
    last_day: date
    closed_at: datetime
    actor: str
    audit: AuditStamp | None = Field(
        default=None, description="the audit record that closed this month"
    )
