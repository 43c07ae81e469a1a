from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from ledger.accounts import Side
from ledger.entries import POSTINGS_COUNT_MAX
from service import example_values as example
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
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "effective_date": "2026-11-12",
        "description": "Thu tiền góp vốn tháng 11 của hội viên Trần Thị Lan",
        "currency": "VND",
        "postings": [
            {"account_id": example.CASH_ACCOUNT_ID, "side": "debit", "amount": 1_500_000},
            {"account_id": example.MEMBERS_CAPITAL_ACCOUNT_ID, "side": "credit",
             "amount": 1_500_000},
        ],
        "metadata": {"so_phieu_giay": "PT-0117", "nguoi_nop": "Trần Thị Lan"},
    }]})
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
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": example.ENTRY_ID, "fund_id": example.FUND_ID, "sequence": 38,
        "voucher_number": "PT-2026-0117", "effective_date": "2026-11-12",
        "recorded_at": "2026-11-12T09:41:27+07:00",
        "description": "Thu tiền góp vốn tháng 11 của hội viên Trần Thị Lan", "currency": "VND",
        "postings": [
            {"line": 1, "account_id": example.CASH_ACCOUNT_ID, "side": "debit",
             "amount": 1_500_000, "currency": "VND"},
            {"line": 2, "account_id": example.MEMBERS_CAPITAL_ACCOUNT_ID, "side": "credit",
             "amount": 1_500_000, "currency": "VND"},
        ],
        "metadata": {}, "reverses_entry_id": None, "actor": example.TREASURER,
        "hash": example.ENTRY_HASH, "audit": example.AUDIT_STAMP,
    }]})
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
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "effective_date": "2026-11-14",
        "description": "Đảo phiếu thu PT-2026-0117",
        "reason": "Phiếu thu ghi nhầm 1.500.000 đồng, số tiền đúng là 150.000 đồng",
    }]})
    effective_date: DateText | None = Field(
        default=None, description="defaults to today (Asia/Ho_Chi_Minh)"
    )
    description: Text | None = Field(default=None, min_length=1, max_length=500)
    reason: Text | None = Field(
        default=None, min_length=1, max_length=500,
        description="why (required in a club's fund, where another person approves)")
