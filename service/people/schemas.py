from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger.people import PHONE_LENGTH_MAX
from service import example_values as example
from service.input_types import TEXT_RULE, Text

Role = Literal["admin", "auditor", "treasurer", "chair", "integration"]
# A name: 1 to 200 characters, not only spaces, no control character.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
SCOPE_PATTERN = r"^(area|club):\S{1,100}$"


class PersonCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Phạm Thị Hoa", "phone": "0912 345 678", "role": "treasurer",
         "scope": f"club:{example.CLUB_ID}", "member_id": example.MEMBER_ID},
    ]})
    name: Annotated[str, Field(pattern=NAME_PATTERN), TEXT_RULE] = Field(
        min_length=1, max_length=200, examples=["Nguyễn Thị Hoa"])
    phone: Text | None = Field(
        default=None, max_length=PHONE_LENGTH_MAX, examples=["0912 345 678"],
        description="a Vietnamese mobile number: `0` and 9 digits or `+84` and 9 digits "
                    "(spaces, dots, hyphens ignored); stored as `+84…`; unique. None: the "
                    "person has no phone (an integrating system)",
    )
    role: Role
    scope: Annotated[str, Field(pattern=SCOPE_PATTERN), TEXT_RULE] | None = Field(
        default=None, examples=["club:0192f0c1-…"],
        description="`area:<code>` (the area and every area under it today) or "
                    "`club:<club_id>`; none for admin; treasurer and chair: a club",
    )
    member_id: uuid.UUID | None = Field(
        default=None, description="the member of the scope's club this person is (a chair "
                                  "may not approve a loan to herself)",
    )


class PersonRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": example.PERSON_ID, "name": "Phạm Thị Hoa", "phone": "+84912345678",
        "role": "treasurer", "scope": f"club:{example.CLUB_ID}", "member_id": example.MEMBER_ID,
        "actor": example.TREASURER, "created_at": "2026-03-02T09:05:44+07:00",
        "created_by": "person:7b2e5d9c-4a1f-4e38-8c06-d3f1a9b7e254",
    }]})
    location: ClassVar[str] = "/v1/people/{id}"

    id: uuid.UUID
    name: str
    phone: str | None = Field(description="`+84` and 9 digits")
    role: Role
    scope: str | None
    member_id: uuid.UUID | None
    actor: str = Field(description="how entries, loan events and audit records name this "
                                   "person: `person:<id>`")
    created_at: datetime
    created_by: str
