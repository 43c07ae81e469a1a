from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from ledger.chart import PaymentMethod
from ledger.loan_lifecycle import LoanStatus
from ledger.loans import (
    MAX_INSTALLMENTS,
    Amortization,
    DayCount,
    Frequency,
    InterestMethod,
    Prepayment,
    WaivedPart,
)
from service import example_values as example
from service.audit.schemas import AuditStamp
from service.dates import DateText
from service.entries.schemas import AmountMinor
from service.input_types import TEXT_RULE, Text

# Rates travel as decimal strings ("0.01"), never as JSON numbers (floats).
RateText = Annotated[str, Field(pattern=r"^(0|1)(\.[0-9]{1,12})?$", examples=["0.01"],
                                description="a decimal string between 0 and 1"), TEXT_RULE]


class LoanCreate(BaseModel):
    """A member's application. Recorded by one actor; approved by another."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "member_id": example.MEMBER_ID, "principal": 12_000_000, "installments": 12,
        "frequency": "monthly", "interest_method": "flat",
        "amortization": "equal_installments", "rate_per_period": "0.005",
        "day_count": "per_period", "first_due_date": "2026-12-20", "grace_periods": 0,
        "rounding_unit": 1000, "penalty_rate_per_day": "0", "prepayment": "reduce_term",
        "purpose": "Mua 2 con bò giống để chăn nuôi", "applied_on": "2026-11-20",
    }]})
    member_id: uuid.UUID
    principal: AmountMinor = Field(examples=[5_000_000])
    installments: StrictInt = Field(ge=1, le=MAX_INSTALLMENTS, examples=[12])
    frequency: Frequency = Frequency.MONTHLY
    interest_method: InterestMethod = InterestMethod.FLAT
    amortization: Amortization = Amortization.EQUAL_INSTALLMENTS
    rate_per_period: RateText
    day_count: DayCount = DayCount.PER_PERIOD
    first_due_date: DateText = Field(examples=["2026-03-05"])
    grace_periods: StrictInt = Field(default=0, ge=0)
    rounding_unit: StrictInt = Field(default=1, ge=1, description="round instalments to this")
    penalty_rate_per_day: RateText = Field(default="0", description="on overdue amounts")
    prepayment: Prepayment = Field(
        default=Prepayment.REDUCE_TERM,
        description="declining balance: what principal paid ahead shortens — the number of"
        " instalments (reduce_term) or the instalment (reduce_installment)")
    purpose: Text | None = Field(default=None, max_length=500, examples=["chăn nuôi"])
    applied_on: DateText | None = Field(default=None, description="default: today")


class Decision(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


class LoanDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"decision": "approve", "note": "Ban chủ nhiệm đã họp xét duyệt ngày 21/11/2026",
         "effective_date": "2026-11-21"},
    ]})
    decision: Decision = Decision.APPROVE
    note: Text | None = Field(default=None, max_length=500)
    effective_date: DateText | None = Field(default=None, description="default: today")


class LoanReschedule(BaseModel):
    """New terms for an approved loan not yet paid out: a new first due date, a new
    instalment count, or both (the others stay). The schedule is computed again under
    the same bounds as an application."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"first_due_date": "2026-12-22", "installments": 10,
         "reason": "Mùa vụ muộn, thành viên xin lùi kỳ trả đầu", "effective_date": "2026-11-25"},
    ]})
    first_due_date: DateText | None = Field(default=None, examples=["2026-04-05"])
    installments: StrictInt | None = Field(default=None, ge=1, le=MAX_INSTALLMENTS,
                                           examples=[10])
    reason: Text | None = Field(default=None, max_length=500, examples=["mùa vụ muộn"])
    effective_date: DateText | None = Field(default=None, description="default: today")

    @model_validator(mode="after")
    def _changes_something(self) -> LoanReschedule:
        if self.first_due_date is None and self.installments is None:
            raise ValueError("give first_due_date, installments or both")
        return self


class DisbursementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"effective_date": "2026-11-22", "payment_method": "cash"},
    ]})
    effective_date: DateText | None = Field(default=None, description="default: today")
    payment_method: PaymentMethod = PaymentMethod.CASH


class RepaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": 1_060_000, "effective_date": "2026-11-28", "payment_method": "cash"},
    ]})
    amount: AmountMinor = Field(examples=[1_060_000])
    effective_date: DateText | None = Field(default=None, description="default: today")
    payment_method: PaymentMethod = PaymentMethod.CASH


class WriteOffRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"reason": "Hội viên qua đời, gia đình không có khả năng trả nợ",
         "effective_date": "2026-11-25"},
    ]})
    reason: Text = Field(min_length=1, max_length=500, examples=["thành viên qua đời"])
    effective_date: DateText | None = Field(default=None, description="default: today")


class RecoveryCreate(BaseModel):
    """Money received on a written-off loan: income (711); the loan stays written off."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": 1_500_000, "effective_date": "2026-11-27", "payment_method": "cash",
         "note": "Gia đình hội viên trả một phần nợ đã xóa"},
    ]})
    amount: AmountMinor = Field(examples=[1_500_000])
    effective_date: DateText | None = Field(default=None, description="default: today")
    payment_method: PaymentMethod = PaymentMethod.CASH
    note: Text | None = Field(default=None, max_length=500)


class RecoveryRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "entry_id": example.ENTRY_ID, "voucher_number": "PT-2026-0131",
        "loan_id": example.LOAN_ID, "amount": 1_500_000, "recovered": 1_500_000,
        "written_off": 4_000_000, "status": "written_off",
    }]})
    location: ClassVar[str] = "/v1/entries/{entry_id}"
    entry_id: uuid.UUID
    voucher_number: str | None
    loan_id: uuid.UUID
    amount: int
    recovered: int = Field(description="everything recovered on the loan so far")
    written_off: int = Field(description="the principal written off")
    status: LoanStatus


class WaiverCreate(BaseModel):
    """Penalty or interest forgiven: one person asks with the reason, another approves
    (`POST /v1/corrections/{id}/approval`)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"part": "penalty", "amount": 45_000, "effective_date": "2026-11-26",
         "reason": "Hội viên ốm nằm viện tháng 10, ban chủ nhiệm đồng ý miễn tiền phạt"},
    ]})
    part: WaivedPart
    amount: AmountMinor = Field(examples=[45_000])
    reason: Text = Field(min_length=1, max_length=500, examples=["hội viên ốm nằm viện"])
    effective_date: DateText | None = Field(default=None, description="default: today")


class AllocationRead(BaseModel):
    penalty: int
    interest: int
    principal: int


class LoanEventRead(BaseModel):
    sequence: int
    kind: str
    effective_date: date
    recorded_at: datetime
    actor: str
    entry_id: uuid.UUID | None
    data: dict[str, Any]
    allocation: AllocationRead | None = Field(
        default=None, description="A repayment's split; an adjustment's or a reversal's"
        " change to it (signed)")
    repayment_sequence: int | None = Field(
        default=None, description="The repayment an adjustment or a reversal belongs to")


class LoanRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": example.LOAN_ID, "fund_id": example.FUND_ID, "number": 14,
        "member_id": example.MEMBER_ID, "status": "disbursed", "principal": 12_000_000,
        "installments": 12, "frequency": "monthly", "interest_method": "flat",
        "amortization": "equal_installments", "rate_per_period": "0.005",
        "day_count": "per_period", "grace_periods": 0, "rounding_unit": 1000,
        "prepayment": "reduce_term",
        "penalty_rate_per_day": "0", "first_due_date": "2026-06-20",
        "purpose": "Mua 2 con bò giống để chăn nuôi", "applied_on": "2026-05-12",
        "applied_by": example.TREASURER, "approved_by": example.CHAIR,
        "disbursed_on": "2026-05-20", "account_id": example.LOAN_ACCOUNT_ID,
        "account_code": "131.0014", "write_off_requested_by": None, "as_of": "2026-11-30",
        "outstanding_principal": 6_000_000, "principal_repaid": 6_000_000,
        "interest_paid": 360_000, "penalty_paid": 0, "interest_waived": 0,
        "penalty_forgiven": 0, "interest_forgiven": 0, "recovered": 0,
        "amount_due": 0, "payoff_amount": 6_000_000, "days_overdue": 0,
        "at_risk_30": False, "par30_principal": 0, "events": [],
    }]})
    location: ClassVar[str] = "/v1/loans/{id}"
    id: uuid.UUID
    fund_id: uuid.UUID
    number: int
    member_id: uuid.UUID
    status: LoanStatus
    principal: int
    installments: int
    frequency: Frequency
    interest_method: InterestMethod
    amortization: Amortization
    rate_per_period: str
    day_count: DayCount
    grace_periods: int
    rounding_unit: int
    penalty_rate_per_day: str
    prepayment: Prepayment
    first_due_date: date
    purpose: str | None
    applied_on: date
    applied_by: str
    approved_by: str | None
    disbursed_on: date | None
    account_id: uuid.UUID | None
    account_code: str | None = Field(description="the loan's receivable account, 131.NNNN")
    write_off_requested_by: str | None
    as_of: date = Field(description="the date the position below is seen at")
    outstanding_principal: int
    principal_repaid: int
    interest_paid: int
    penalty_paid: int
    interest_waived: int = Field(description="interest not yet accrued when it was paid off")
    penalty_forgiven: int = Field(description="penalty forgiven by approved waivers")
    interest_forgiven: int = Field(description="interest forgiven by approved waivers")
    recovered: int = Field(description="money received after the write-off (income)")
    amount_due: int | None = Field(description="what brings the loan up to date on as_of")
    payoff_amount: int | None = Field(description="what closes the loan on as_of")
    days_overdue: int
    at_risk_30: bool = Field(description="more than 30 days overdue (counts in PAR30)")
    par30_principal: int = Field(
        description="the outstanding principal when at risk (PAR30 numerator), else 0"
    )
    events: list[LoanEventRead] = Field(default_factory=list)
    audit: AuditStamp | None = Field(
        default=None, description="the audit record that recorded this loan's application"
    )


class InstallmentRead(BaseModel):
    number: int
    due_date: date
    principal: int
    interest: int
    total: int
    principal_paid: int
    interest_paid: int


class ScheduleRead(BaseModel):
    """The schedule in force: after principal paid ahead on a declining-balance loan,
    the instalments from then on are recomputed on the principal left."""

    loan_id: uuid.UUID
    installments: list[InstallmentRead]
    total_principal: int
    total_interest: int
    principal_prepaid: int = Field(
        default=0, description="principal paid ahead of the instalments (declining balance:"
        " the instalments were recomputed without it)")


class RepaymentRead(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "entry_id": example.ENTRY_ID, "voucher_number": "PT-2026-0121",
        "loan_id": example.LOAN_ID,
        "allocation": {"penalty": 0, "interest": 60_000, "principal": 1_000_000},
        "outstanding_principal": 5_000_000, "status": "disbursed",
    }]})
    location: ClassVar[str] = "/v1/entries/{entry_id}"
    entry_id: uuid.UUID
    voucher_number: str | None
    loan_id: uuid.UUID
    allocation: AllocationRead
    outstanding_principal: int
    status: LoanStatus
