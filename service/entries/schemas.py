from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger.accounts import Side
from ledger.entries import POSTINGS_COUNT_MAX
from service.audit.schemas import AuditStamp
from service.dates import DateText
from service.input_types import CurrencyCode, Metadata, Text

# A JSON integer only: 5000000.0, "5000000" and true are refused.
AmountMinor = Annotated[StrictInt, Field(description="integer minor units (VND: đồng)")]


class PostingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account_id: uuid.UUID
    side: Side
    amount: AmountMinor


class EntryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_date: DateText
    description: Text = Field(min_length=1, max_length=500)
    currency: CurrencyCode
    postings: list[PostingCreate] = Field(max_length=POSTINGS_COUNT_MAX)
    metadata: Metadata = Field(default_factory=dict)


class PostingRead(BaseModel):
    line: int
    account_id: uuid.UUID
    side: Side
    amount: int
    currency: str


class EntryRead(BaseModel):
    location: ClassVar[str] = "/v1/entries/{id}"
    id: uuid.UUID
    fund_id: uuid.UUID
    sequence: int
    voucher_number: str | None
    effective_date: date
    recorded_at: datetime
    description: str
    currency: str
    postings: list[PostingRead]
    metadata: dict[str, Any]
    reverses_entry_id: uuid.UUID | None
    actor: str
    hash: str = Field(description="SHA-256 (hex) of the RFC 8785 JSON of the entry's content")
    audit: AuditStamp | None = Field(
        default=None, description="the audit record that wrote this entry"
    )


class ReversalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effective_date: DateText | None = Field(
        default=None, description="defaults to today (Asia/Ho_Chi_Minh)"
    )
    description: Text | None = Field(default=None, min_length=1, max_length=500)
    reason: Text | None = Field(
        default=None, min_length=1, max_length=500,
        description="why (required in a club's fund, where another person approves)")
