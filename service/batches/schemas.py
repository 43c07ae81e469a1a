"""A batch of operations on one fund: what an offline phone sends after a meeting, or an
integrator's bulk load. Each item's body is exactly the single endpoint's body."""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from service import example_values as example
from service.errors import ProblemDetails
from service.input_types import Text

ITEMS_COUNT_MAX = 1_000
# The same bound as the Idempotency-Key header's (service.transactions).
ITEM_KEY_LENGTH_MAX = 200


class BatchMode(StrEnum):
    ATOMIC = "atomic"  # one transaction: every item written, or none
    INDEPENDENT = "independent"  # each item written or refused on its own


class BatchOperation(StrEnum):
    ENTRY = "entry"
    SEED_GRANT = "seed_grant"
    DONATION = "donation"
    CONTRIBUTION = "contribution"
    EXPENSE = "expense"
    LOAN_APPLICATION = "loan_application"
    DISBURSEMENT = "disbursement"
    REPAYMENT = "repayment"


class BatchItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Text = Field(
        min_length=1, max_length=ITEM_KEY_LENGTH_MAX, examples=["phone-7f3a-0001"],
        description="this operation's Idempotency-Key: the same key through a batch or the"
                    " single endpoint writes once and answers the first result",
    )
    op: BatchOperation
    loan_id: uuid.UUID | None = Field(
        default=None, description="the loan (disbursement and repayment only)"
    )
    body: dict[str, Any] | None = Field(
        default=None, examples=[{"amount": 466_667, "effective_date": "2026-11-05"}],
        description="the single endpoint's body (disbursement: may be left out)",
    )


class BatchCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "mode": "independent",
        "items": [
            {"key": "phone-7f3a-0001", "op": "repayment", "loan_id": example.LOAN_ID,
             "body": {"amount": 466_667, "effective_date": "2026-11-05"}},
            {"key": "phone-7f3a-0002", "op": "contribution",
             "body": {"amount": 50_000, "source": "members", "effective_date": "2026-11-05",
                      "description": "Bà Nguyễn Thị Lan góp quỹ tháng 11"}},
        ],
    }]})
    mode: BatchMode
    items: list[BatchItem] = Field(min_length=1, max_length=ITEMS_COUNT_MAX)


class BatchItemRead(BaseModel):
    key: str
    status: int = Field(description="the HTTP status the single endpoint answers")
    result: dict[str, Any] | None = Field(
        default=None, description="the single endpoint's answer (a written or replayed item)"
    )
    problem: ProblemDetails | None = Field(
        default=None, description="why the item was refused (problem+json)"
    )


class BatchRead(BaseModel):
    id: uuid.UUID
    items: list[BatchItemRead]
