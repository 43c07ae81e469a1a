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

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "amount": 50_000_000, "source": "district_budget", "decision_number": "1234/QĐ-UBND",
        "effective_date": "2026-03-10", "description": "Vốn hỗ trợ ban đầu của UBND huyện",
        "payment_method": "bank", "counterparty": "Phòng Lao động - Thương binh và Xã hội",
    }, {
        "amount": 200_000, "source": "members", "effective_date": "2026-11-05",
        "description": "Góp vốn tháng 11", "payment_method": "cash",
        "counterparty": "Nguyễn Văn Bình",
    }, {
        "amount": 350_000, "effective_date": "2026-11-20",
        "description": "Mua sổ sách, văn phòng phẩm cho câu lạc bộ", "payment_method": "cash",
        "counterparty": "Nhà sách Tịnh Hà",
    }]})
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
