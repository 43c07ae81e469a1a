"""The life of a loan: which action each status allows, the four-eyes rule, and the
order of its events' dates.

    applied ──approve──▶ approved ──disburse──▶ disbursed ──repay (paid off)──▶ repaid
                                                (waive: status unchanged)
       │                    ▲                      │ │ ▲ repay (partly)
       │                    └─reverse_disbursement─┘ │ └────────┐
       └──reject──▶ rejected                         ▼          │
                                   write_off_requested ──reject_write_off
                                                     │
                                                     └──approve_write_off──▶ written_off
                                                                     (recover: unchanged)

An approval (of the loan or of its write-off) must come from a person other than
the one who recorded the application (or requested the write-off) — actors name
persons, so a second token of the same person is the same person — and never from
the borrower herself (a chair who is the loan's member). A loan with a pending
write-off request takes no repayment until the request is rejected.

A disbursement recorded by mistake is reversed (a correction): the loan goes back to
approved, owing nothing, and may be disbursed again. Only a disbursement without
repayments in force is reversed — its repayments are reversed first
(`check_disbursement_reversible`) — so no payment is ever left without its loan.

Every event, the application included, is dated not after today and not in a closed
month, and the events keep their order: applied ≤ approved (or rejected) ≤ disbursed ≤
repaid / write-off requested ≤ write-off decided (`check_event_date`); an approved loan
may be rescheduled (a new first due date or instalment count, status unchanged) any
number of times before it is disbursed, each dated on or after the approval.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Final

from ledger.dates import check_not_before, check_not_future
from ledger.errors import LedgerError
from ledger.loans import InvalidLoanState
from ledger.periods import check_open


class LoanTransitionRefused(InvalidLoanState):
    """The loan's status does not allow this action (code `invalid_loan_state`, shared
    with the core's refusal of a repayment state that does not fit the loan)."""


class SameActorApproval(LedgerError):
    """An approval by the one who recorded what is being approved."""

    code = "same_actor_approval"


class BorrowerApproval(LedgerError):
    """An approval by the member the loan is to."""

    code = "borrower_approval"


class DisbursementHasRepayments(LedgerError):
    """The reversal of a disbursement whose loan still has repayments in force."""

    code = "disbursement_has_repayments"


class LoanStatus(StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    REJECTED = "rejected"
    DISBURSED = "disbursed"
    REPAID = "repaid"
    WRITE_OFF_REQUESTED = "write_off_requested"
    WRITTEN_OFF = "written_off"


class LoanAction(StrEnum):
    APPLY = "apply"  # the application: the loan's first event, no transition
    APPROVE = "approve"
    RESCHEDULE = "reschedule"  # new first due date or instalment count, before disbursement
    REJECT = "reject"
    DISBURSE = "disburse"
    REPAY = "repay"
    PAY_OFF = "pay_off"  # the repayment that closes the loan
    REQUEST_WRITE_OFF = "request_write_off"
    APPROVE_WRITE_OFF = "approve_write_off"
    REJECT_WRITE_OFF = "reject_write_off"
    REVERSE_DISBURSEMENT = "reverse_disbursement"  # a correction of the disbursement
    RECOVER = "recover"  # money received after the write-off (the loan stays written off)
    WAIVE = "waive"  # penalty or interest forgiven (two people)


TRANSITIONS: Final[dict[tuple[LoanStatus, LoanAction], LoanStatus]] = {
    (LoanStatus.APPLIED, LoanAction.APPROVE): LoanStatus.APPROVED,
    (LoanStatus.APPLIED, LoanAction.REJECT): LoanStatus.REJECTED,
    (LoanStatus.APPROVED, LoanAction.RESCHEDULE): LoanStatus.APPROVED,
    (LoanStatus.APPROVED, LoanAction.DISBURSE): LoanStatus.DISBURSED,
    (LoanStatus.DISBURSED, LoanAction.REPAY): LoanStatus.DISBURSED,
    (LoanStatus.DISBURSED, LoanAction.PAY_OFF): LoanStatus.REPAID,
    (LoanStatus.DISBURSED, LoanAction.REQUEST_WRITE_OFF): LoanStatus.WRITE_OFF_REQUESTED,
    (LoanStatus.WRITE_OFF_REQUESTED, LoanAction.APPROVE_WRITE_OFF): LoanStatus.WRITTEN_OFF,
    (LoanStatus.WRITE_OFF_REQUESTED, LoanAction.REJECT_WRITE_OFF): LoanStatus.DISBURSED,
    (LoanStatus.DISBURSED, LoanAction.REVERSE_DISBURSEMENT): LoanStatus.APPROVED,
    (LoanStatus.WRITTEN_OFF, LoanAction.RECOVER): LoanStatus.WRITTEN_OFF,
    (LoanStatus.DISBURSED, LoanAction.WAIVE): LoanStatus.DISBURSED,
}


def next_status(status: LoanStatus, action: LoanAction) -> LoanStatus:
    """The status after `action`; LoanTransitionRefused when `status` does not allow it."""
    after = TRANSITIONS.get((status, action))
    if after is None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is status)
        raise LoanTransitionRefused(
            f"a loan that is {status.value} cannot {action.value.replace('_', ' ')}"
            + (f" (it can: {', '.join(allowed)})" if allowed else " (it is final)"),
            f"khoản vay đang ở trạng thái {status.value} không thể {action.value}"
            + (f" (có thể: {', '.join(allowed)})" if allowed else " (trạng thái cuối)"),
        )
    return after


def check_disbursement_reversible(status: LoanStatus, repayments_in_force: int) -> LoanStatus:
    """The status after reversing the loan's disbursement (approved): refused
    DisbursementHasRepayments while repayments are in force (reverse them first), and
    LoanTransitionRefused when the loan is not simply disbursed (a write-off pending or
    posted is decided or reversed first)."""
    if repayments_in_force:
        raise DisbursementHasRepayments(
            f"the loan has {repayments_in_force} repayment(s) in force: reverse its"
            " repayments first, then its disbursement",
            f"khoản vay còn {repayments_in_force} lần trả nợ đang có hiệu lực: hãy đảo các"
            " lần trả nợ trước, rồi mới đảo khoản giải ngân")
    return next_status(status, LoanAction.REVERSE_DISBURSEMENT)


def check_second_actor(recorded_by: str, approver: str, what: str = "loan application") -> None:
    """Raise SameActorApproval when the approver is the one who recorded `what`."""
    if recorded_by == approver:
        raise SameActorApproval(
            f"the {what} was recorded by this same person; someone else must approve it",
            "chính người này đã ghi việc cần duyệt; phải có một người khác duyệt",
        )


def check_approver(
    recorded_by: str, approver: str, approver_member_id: uuid.UUID | None,
    borrower_member_id: uuid.UUID, what: str = "loan application",
) -> None:
    """The four-eyes rule of an approval: the approver is neither the person who
    recorded `what` (SameActorApproval) nor the loan's borrower (BorrowerApproval)."""
    check_second_actor(recorded_by, approver, what)
    if approver_member_id is not None and approver_member_id == borrower_member_id:
        raise BorrowerApproval(
            f"the approver is the member this loan is to; someone else must approve the {what}",
            "người duyệt là chính thành viên vay khoản này; phải có một người khác duyệt",
        )


@dataclass(frozen=True, slots=True)
class LoanDates:
    """The dates of a loan's events so far (None: not happened)."""

    applied_on: date | None = None
    approved_on: date | None = None
    disbursed_on: date | None = None
    write_off_requested_on: date | None = None
    written_off_on: date | None = None


# What each action is called, and the earlier event it may not be dated before.
_EVENT_ORDER: Final[dict[LoanAction, tuple[str, str | None, str]]] = {
    LoanAction.APPLY: ("the application", None, ""),
    LoanAction.APPROVE: ("the approval", "applied_on", "the application"),
    LoanAction.REJECT: ("the rejection", "applied_on", "the application"),
    LoanAction.RESCHEDULE: ("the rescheduling", "approved_on", "the approval"),
    LoanAction.DISBURSE: ("the disbursement", "approved_on", "the approval"),
    LoanAction.REPAY: ("the repayment", "disbursed_on", "the disbursement"),
    LoanAction.PAY_OFF: ("the repayment", "disbursed_on", "the disbursement"),
    LoanAction.REQUEST_WRITE_OFF: ("the write-off request", "disbursed_on", "the disbursement"),
    LoanAction.APPROVE_WRITE_OFF: (
        "the write-off", "write_off_requested_on", "the write-off request"),
    LoanAction.REJECT_WRITE_OFF: (
        "the write-off rejection", "write_off_requested_on", "the write-off request"),
    LoanAction.REVERSE_DISBURSEMENT: (
        "the disbursement's reversal", "disbursed_on", "the disbursement"),
    LoanAction.RECOVER: ("the recovery", "written_off_on", "the write-off"),
    LoanAction.WAIVE: ("the waiver", "disbursed_on", "the disbursement"),
}


def check_event_date(
    action: LoanAction, day: date, dates: LoanDates, today: date, latest_closed: date | None
) -> date:
    """`day` when the event `action` may be dated then: not after today (`future_date`),
    not in a closed month (`period_closed`), not before the event it follows
    (`invalid_date`)."""
    what, earlier_field, earlier_what = _EVENT_ORDER[action]
    check_not_future(day, today, what)
    check_open(day, latest_closed)
    earlier = getattr(dates, earlier_field) if earlier_field else None
    if earlier is not None:
        check_not_before(day, earlier, what, earlier_what)
    return day


def paid_off_on(closed: bool, repayment_dates: list[date]) -> date | None:
    """The day a loan was paid off — the latest of its repayments in force, when they
    closed it — or None while they have not."""
    return max(repayment_dates) if closed and repayment_dates else None
