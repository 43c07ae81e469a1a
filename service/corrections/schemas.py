from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from ledger.loans import WaivedPart
from service import example_values as example
from service.audit.schemas import AuditStamp
from service.input_types import Text

REASON_LENGTH_MAX = 500


class CorrectionKind(StrEnum):
    REVERSAL = "reversal"  # of an entry (and, for a loan's entry, of its loan event)
    REOPEN = "reopen"  # of the fund's latest closed month
    WAIVER = "waiver"  # a loan's penalty or interest forgiven


class CorrectionStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReopenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Phiếu thu ngày 12/10 ghi sai số tiền, cần mở lại tháng 10 để sửa"},
    ]})
    reason: Text = Field(min_length=1, max_length=REASON_LENGTH_MAX,
                         examples=["phiếu thu ngày 12 ghi sai số tiền"])


class CorrectionDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"note": "Đã đối chiếu với sổ quỹ tiền mặt, đồng ý"},
    ]})
    note: Text | None = Field(default=None, min_length=1, max_length=REASON_LENGTH_MAX)


class CorrectionRead(BaseModel):
    """A correction asked by one person and decided by another."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": example.CORRECTION_ID, "fund_id": example.FUND_ID, "kind": "reversal",
        "status": "pending", "entry_id": example.ENTRY_ID, "period": None,
        "reason": "Phiếu thu ghi nhầm 1.500.000 đồng, số tiền đúng là 150.000 đồng",
        "effective_date": "2026-11-14", "description": "Đảo phiếu thu PT-2026-0117",
        "requested_by": example.TREASURER, "requested_at": "2026-11-14T15:20:03+07:00",
        "decided_by": None, "decided_at": None, "decision_note": None,
        "reversal_entry_id": None, "loan_id": None, "waived_part": None,
        "waived_amount": None, "audit": example.AUDIT_STAMP,
    }]})

    id: uuid.UUID
    fund_id: uuid.UUID
    kind: CorrectionKind
    status: CorrectionStatus
    entry_id: uuid.UUID | None = Field(description="the entry to reverse (kind reversal)")
    period: str | None = Field(description="the month to reopen, yyyy-mm (kind reopen)")
    reason: str
    effective_date: date | None = Field(description="the reversal's or the waiver's date")
    description: str | None
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    reversal_entry_id: uuid.UUID | None = Field(description="the reversal, once approved")
    loan_id: uuid.UUID | None = Field(default=None, description="the loan (kind waiver)")
    waived_part: WaivedPart | None = Field(
        default=None, description="penalty or interest (kind waiver)")
    waived_amount: int | None = Field(default=None, description="how much (kind waiver)")
    audit: AuditStamp | None = Field(
        default=None, description="the audit record of the latest step")
