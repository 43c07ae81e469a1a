from __future__ import annotations

import uuid
from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, Field


class SetupCodeCreated(BaseModel):
    location: ClassVar[str] = "/v1/people/{person_id}"
    person_id: uuid.UUID
    setup_code: str | None = Field(
        description="shown once: the person types it with her phone number to set her PIN "
                    "(null when an Idempotency-Key replay answers again)",
        examples=["4827 1930"],
    )
    expires_at: datetime
