from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from service import example_values as example
from service.input_types import Text
from service.people.schemas import Role

EXPIRES_DAYS_MAX = 3650


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"person_id": example.PERSON_ID, "write": False, "expires_days": 365,
         "label": "Điện thoại của thủ quỹ Phạm Thị Hoa"},
    ]})
    person_id: uuid.UUID = Field(
        description="the person the token belongs to: it takes her role and scope, and "
                    "every write made with it names her"
    )
    write: bool = Field(default=False, description="integration tokens only: may record")
    expires_days: int | None = Field(
        default=365, ge=1, le=EXPIRES_DAYS_MAX, description="null: never expires"
    )
    label: Text | None = Field(default=None, max_length=200, examples=["Zalo mini-app"])


class TokenRead(BaseModel):
    id: str = Field(description="stable, not secret: the token's public name")
    person_id: uuid.UUID = Field(description="the person it belongs to")
    role: Role = Field(description="the person's")
    scope: str | None = Field(description="the person's")
    write: bool
    label: str | None
    created_at: datetime
    created_by: str
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


class TokenCreated(TokenRead):
    location: ClassVar[str] = "/v1/tokens"
    token: str | None = Field(
        description="the bearer token, shown only in this response (it is stored as a "
                    "hash); null when the response is replayed for the same Idempotency-Key"
    )
