from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from ledger.accounts import AccountType, Side
from service import example_values as example
from service.audit.schemas import AuditStamp
from service.input_types import TEXT_RULE, CurrencyCode, Text


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"code": "1121", "name": "Tiền gửi Ngân hàng Chính sách xã hội", "type": "asset",
         "allow_negative": False, "currency": "VND"},
    ]})
    code: Annotated[str, Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$"), TEXT_RULE] = Field(
        examples=["111"])
    name: Text = Field(min_length=1, max_length=200, examples=["Tiền mặt"])
    type: AccountType
    allow_negative: bool = Field(
        default=True, description="false: the balance may never go below zero (cash)"
    )
    currency: CurrencyCode | None = Field(
        default=None, description="defaults to the fund's currency"
    )


class AccountRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": example.CASH_ACCOUNT_ID, "fund_id": example.FUND_ID, "code": "111",
        "name": "Tiền mặt", "type": "asset", "normal_side": "debit", "allow_negative": False,
        "currency": "VND", "balance": 8_450_000, "debits": 62_300_000, "credits": 53_850_000,
        "postings_count": 58, "created_at": "2026-03-02T08:15:00+07:00",
        "audit": example.AUDIT_STAMP,
    }]})
    location: ClassVar[str] = "/v1/accounts/{id}"
    id: uuid.UUID
    fund_id: uuid.UUID
    code: str
    name: str
    type: AccountType
    normal_side: Side
    allow_negative: bool
    currency: str
    balance: int = Field(description="signed on the account's normal side, in minor units")
    debits: int
    credits: int
    postings_count: int
    created_at: datetime
    audit: AuditStamp | None = Field(
        default=None, description="the audit record that opened this account"
    )
