from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from ledger.chart import FundingSource, PaymentMethod
from service.dates import DateText
from service.entries.schemas import AmountMinor
from service.input_types import Text


class CashOperationCreate(BaseModel):
    """A receipt or payment of the fund. Posted as one balanced entry with a voucher
    number (PT-yyyy-nnnn for receipts, PC-yyyy-nnnn for payments)."""

    model_config = ConfigDict(extra="forbid")
    amount: AmountMinor = Field(examples=[50_000_000])
    source: FundingSource | None = Field(
        default=None, description="where the money comes from (seed grants: required)"
    )
    decision_number: Text | None = Field(
        default=None, min_length=1, max_length=100, examples=["123/QĐ-UBND"],
        description="the budget decision (required for seed grants from a budget)",
    )
    effective_date: DateText | None = Field(default=None, description="default: today")
    description: Text | None = Field(default=None, min_length=1, max_length=500)
    payment_method: PaymentMethod = Field(
        default=PaymentMethod.CASH, description="cash (account 111) or bank (account 112)"
    )
    counterparty: Text | None = Field(
        default=None, min_length=1, max_length=200, description="who paid or was paid"
    )
    member_id: uuid.UUID | None = Field(
        default=None, description="contributions only: the member of the fund's club who"
        " paid (the contribution then shows in her passbook)",
    )
