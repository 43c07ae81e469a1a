from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class FundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200, examples=["Quỹ thử"])
    currency: str = Field(default="VND", pattern=r"^[A-Z]{3}$")


class FundRead(BaseModel):
    id: uuid.UUID
    name: str
    currency: str
    entry_count: int
    created_at: datetime
    club_id: uuid.UUID | None = Field(default=None, description="the club owning this fund")
