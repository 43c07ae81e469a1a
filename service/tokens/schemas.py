from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from service.input_types import TEXT_RULE, Text

Role = Literal["admin", "auditor", "treasurer", "chair", "integration"]
EXPIRES_DAYS_MAX = 3650


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    scope: Annotated[str, Field(pattern=r"^(area|club):\S{1,100}$"), TEXT_RULE] | None = Field(
        default=None, examples=["club:0192f0c1-…"],
        description="`area:<code>` (the area and every area under it today) or "
                    "`club:<club_id>`; none for admin; treasurer and chair: a club",
    )
    write: bool = Field(default=False, description="integration tokens only: may record")
    expires_days: int | None = Field(
        default=365, ge=1, le=EXPIRES_DAYS_MAX, description="null: never expires"
    )
    label: Text | None = Field(default=None, max_length=200, examples=["Zalo mini-app"])


class TokenRead(BaseModel):
    id: str = Field(description="stable, not secret: entries and audit records name it")
    role: Role
    scope: str | None
    write: bool
    label: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


class TokenCreated(TokenRead):
    token: str | None = Field(
        description="the bearer token, shown only in this response (it is stored as a "
                    "hash); null when the response is replayed for the same Idempotency-Key"
    )
