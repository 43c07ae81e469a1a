"""Loans from application to repayment or write-off.

Every write takes the fund lock first (`lock_fund`), then reads the loan, checks
the transition (`ledger.loan_lifecycle`), posts its entry through `post_entry`
and moves the loan's row with an appended event, all in the request's one
transaction:

    disbursement   Dr 131.NNNN principal          Cr 111/112            (voucher PC)
    repayment      Dr 111/112 amount              Cr 131.NNNN principal part,
                                                  Cr 515 interest, Cr 711 penalty (PT)
    write-off      Dr 811 outstanding principal   Cr 131.NNNN

Interest and penalties are income when received (cash basis): unpaid interest is
never booked, so a write-off removes only the outstanding principal.
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg

from ledger import chart
from ledger.accounts import AccountType, Side
from ledger.chart import VoucherKind
from ledger.entries import Posting, build_entry
from ledger.loan_lifecycle import (
    LoanAction,
    LoanStatus,
    check_approver,
    next_status,
    state_from_json,
    state_to_json,
)
from ledger.loans import (
    Amortization,
    DayCount,
    Frequency,
    InterestMethod,
    InvalidLoanTerms,
    LoanState,
    LoanTerms,
    Schedule,
    allocate_repayment,
    amount_due,
    build_schedule,
    days_overdue,
    opening_state,
    outstanding_principal,
    payoff_amount,
)
from service.accounts import repository as accounts
from service.audit.service import record_write
from service.clubs import repository as clubs
from service.context import RequestContext
from service.entries.service import post_entry
from service.errors import NotFound, UnknownAccount, UnknownMember, ValidationFailed
from service.funds import repository as funds
from service.ids import new_id
from service.loans import repository
from service.loans.schemas import (
    AllocationRead,
    Decision,
    DisbursementCreate,
    InstallmentRead,
    LoanCreate,
    LoanDecision,
    LoanEventRead,
    LoanRead,
    RepaymentCreate,
    RepaymentRead,
    ScheduleRead,
    WriteOffRequest,
)
from service.pagination import Page, decode_cursor, make_page, sequence_key

PAR_DAYS = 30
OPEN_STATUSES = (LoanStatus.DISBURSED, LoanStatus.WRITE_OFF_REQUESTED)


@dataclass(frozen=True)
class Loan:
    """A loan row with its terms, schedule and repayment state rebuilt."""

    record: asyncpg.Record
    terms: LoanTerms
    schedule: Schedule
    state: LoanState

    @property
    def id(self) -> uuid.UUID:
        loan_id: uuid.UUID = self.record["id"]
        return loan_id

    @property
    def fund_id(self) -> uuid.UUID:
        fund_id: uuid.UUID = self.record["fund_id"]
        return fund_id

    @property
    def status(self) -> LoanStatus:
        return LoanStatus(self.record["status"])


def terms_of(record: asyncpg.Record) -> LoanTerms:
    return LoanTerms(
        principal=record["principal"], installments=record["installments"],
        frequency=Frequency(record["frequency"]),
        interest_method=InterestMethod(record["interest_method"]),
        rate_per_period=Decimal(record["rate_per_period"]),
        first_due_date=record["first_due_date"],
        amortization=Amortization(record["amortization"]),
        disbursed_on=record["disbursed_on"], grace_periods=record["grace_periods"],
        day_count=DayCount(record["day_count"]), rounding_unit=record["rounding_unit"],
        penalty_rate_per_day=Decimal(record["penalty_rate_per_day"]),
    )


def terms_of_application(body: LoanCreate) -> LoanTerms:
    """The terms an application asks for (not yet disbursed)."""
    return LoanTerms(
        principal=body.principal, installments=body.installments, frequency=body.frequency,
        interest_method=body.interest_method, rate_per_period=Decimal(body.rate_per_period),
        first_due_date=body.first_due_date, amortization=body.amortization,
        grace_periods=body.grace_periods, day_count=body.day_count,
        rounding_unit=body.rounding_unit,
        penalty_rate_per_day=Decimal(body.penalty_rate_per_day),
    )


def loan_of(record: asyncpg.Record) -> Loan:
    terms = terms_of(record)
    return Loan(record, terms, build_schedule(terms), state_from_json(record["repayment_state"]))


async def load_for_write(ctx: RequestContext, loan_id: uuid.UUID) -> Loan:
    """Lock the loan's fund, then read the loan: every loan write is serialised there."""
    fund_id = await repository.fund_of_loan(ctx.connection, loan_id)
    if fund_id is None or not ctx.sees_fund(fund_id):
        raise NotFound("loan", loan_id)
    ctx.writes_to_fund(fund_id)
    await funds.lock_fund(ctx.connection, fund_id)
    record = await repository.get_loan(ctx.connection, loan_id, fund_id)
    assert record is not None
    return loan_of(record)


async def record_change(
    ctx: RequestContext, loan: Loan, status: LoanStatus, kind: str, effective_date: date,
    data: dict[str, Any], *, entry_id: uuid.UUID | None = None, **changes: Any,
) -> dict[str, Any]:
    """Write the loan's new row and its event; return the new column values."""
    values: dict[str, Any] = {
        "approved_by": loan.record["approved_by"],
        "disbursed_on": loan.record["disbursed_on"],
        "account_id": loan.record["account_id"],
        "write_off_requested_by": loan.record["write_off_requested_by"],
        "outstanding_principal": loan.record["outstanding_principal"],
        "repayment_state": loan.record["repayment_state"],
    }
    values.update(changes)
    sequence = loan.record["events_count"] + 1
    await repository.record_change(
        ctx.connection, fund_id=loan.fund_id, loan_id=loan.id, status=status.value,
        sequence=sequence, kind=kind, effective_date=effective_date, actor=ctx.actor,
        entry_id=entry_id, data=data, now=ctx.now, **values,
    )
    event = {"loan_id": str(loan.id), "sequence": sequence, "kind": kind,
             "status": status.value, "effective_date": effective_date.isoformat(),
             "entry_id": str(entry_id) if entry_id else None, "data": data}
    await record_write(ctx, loan.fund_id, f"loan.{kind}", event)
    return values


async def chart_accounts(
    ctx: RequestContext, fund_id: uuid.UUID, codes: list[str]
) -> dict[str, uuid.UUID]:
    ids = await accounts.account_ids_by_code(ctx.connection, fund_id, codes)
    missing = sorted(set(codes) - set(ids))
    if missing:
        raise UnknownAccount(f"fund {fund_id} has no account {', '.join(missing)}"
                             " (a club's fund has the default chart)")
    return ids


# --------------------------------------------------------------------------- application


async def apply_for_loan(ctx: RequestContext, fund_id: uuid.UUID, body: LoanCreate) -> LoanRead:
    ctx.require_fund(fund_id)
    fund = await funds.lock_fund(ctx.connection, fund_id)
    if fund is None:
        raise NotFound("fund", fund_id)
    member = await clubs.get_member(ctx.connection, body.member_id)
    if member is None or fund["club_id"] is None or member["club_id"] != fund["club_id"]:
        raise UnknownMember(f"member {body.member_id} is not a member of this fund's club")
    if member["status"] != "active":
        raise UnknownMember(f"member {body.member_id} is {member['status']}, not active")
    terms = terms_of_application(body)
    schedule = build_schedule(terms)
    applied_on = body.applied_on or ctx.business_date
    if applied_on >= body.first_due_date:
        raise InvalidLoanTerms("the first instalment falls due after the application date")
    ctx.writes_to_fund(fund_id)
    loan_id = new_id()
    number = await repository.next_loan_number(ctx.connection, fund_id)
    application = body.model_dump(mode="json")
    await repository.insert_loan(
        ctx.connection, fund_id=fund_id, loan_id=loan_id, number=number,
        member_id=body.member_id, principal=terms.principal, installments=terms.installments,
        frequency=terms.frequency.value, interest_method=terms.interest_method.value,
        amortization=terms.amortization.value, rate_per_period=terms.rate_per_period,
        day_count=terms.day_count.value, grace_periods=terms.grace_periods,
        rounding_unit=terms.rounding_unit, penalty_rate_per_day=terms.penalty_rate_per_day,
        first_due_date=terms.first_due_date, purpose=body.purpose, applied_on=applied_on,
        actor=ctx.actor, repayment_state=state_to_json(opening_state(schedule)), now=ctx.now,
        event_data=application,
    )
    await record_write(ctx, fund_id, "loan.applied",
                       {"loan_id": str(loan_id), "number": number, **application})
    return await get_loan(ctx, loan_id)


async def decide_application(
    ctx: RequestContext, loan_id: uuid.UUID, body: LoanDecision
) -> LoanRead:
    """Approve (someone other than the recorder of the application) or reject."""
    loan = await load_for_write(ctx, loan_id)
    approve = body.decision is Decision.APPROVE
    status = next_status(loan.status, LoanAction.APPROVE if approve else LoanAction.REJECT)
    if approve:
        check_approver(loan.record["applied_by"], ctx.actor, ctx.acting_member_id,
                       loan.record["member_id"])
    await record_change(
        ctx, loan, status, "approved" if approve else "rejected",
        body.effective_date or ctx.business_date, {"note": body.note},
        approved_by=ctx.actor if approve else None,
    )
    return await get_loan(ctx, loan_id)


# --------------------------------------------------------------------------- money moves


async def disburse(ctx: RequestContext, loan_id: uuid.UUID, body: DisbursementCreate) -> LoanRead:
    loan = await load_for_write(ctx, loan_id)
    status = next_status(loan.status, LoanAction.DISBURSE)
    day = body.effective_date or ctx.business_date
    if day < loan.record["applied_on"]:
        raise ValidationFailed("a loan is disbursed on or after its application date")
    terms = dataclasses.replace(loan.terms, disbursed_on=day)
    schedule = build_schedule(terms)  # refuses a disbursement on or after the first due date
    money_code = body.payment_method.account_code
    ids = await chart_accounts(ctx, loan.fund_id, [money_code])
    currency = loan.record["currency"]
    account_id = new_id()
    account_code = chart.loan_account_code(loan.record["number"])
    await accounts.insert_account(
        ctx.connection, fund_id=loan.fund_id, account_id=account_id, code=account_code,
        name=f"Cho vay thành viên — khoản vay số {loan.record['number']}",
        type=AccountType.ASSET.value, normal_side=AccountType.ASSET.normal_side.value,
        allow_negative=False, currency=currency, now=ctx.now,
    )
    await record_write(ctx, loan.fund_id, "account.created", {
        "id": str(account_id), "code": account_code, "type": AccountType.ASSET.value,
        "allow_negative": False, "loan_id": str(loan.id),
    })
    principal = terms.principal
    entry = build_entry(
        day, f"Giải ngân khoản vay số {loan.record['number']}",
        [Posting(str(account_id), Side.DEBIT, principal, currency),
         Posting(str(ids[money_code]), Side.CREDIT, principal, currency)],
        {"operation": "loan_disbursement", "loan_id": str(loan.id),
         "loan_number": loan.record["number"], "member_id": str(loan.record["member_id"]),
         "payment_method": body.payment_method.value},
    )
    posted = await post_entry(ctx, loan.fund_id, entry, voucher_kind=VoucherKind.PAYMENT)
    await repository.insert_installments(ctx.connection, loan.fund_id, loan.id, [
        (i.number, i.due_date, i.principal, i.interest) for i in schedule.installments])
    await record_change(
        ctx, loan, status, "disbursed", day,
        {"amount": principal, "voucher_number": posted.voucher_number,
         "payment_method": body.payment_method.value},
        entry_id=posted.id, disbursed_on=day, account_id=account_id,
        outstanding_principal=principal,
        repayment_state=state_to_json(opening_state(schedule)),
    )
    return await get_loan(ctx, loan_id)


async def repay(ctx: RequestContext, loan_id: uuid.UUID, body: RepaymentCreate) -> RepaymentRead:
    """Allocate the payment (penalties, then interest, then principal) and post it."""
    loan = await load_for_write(ctx, loan_id)
    next_status(loan.status, LoanAction.REPAY)
    day = body.effective_date or ctx.business_date
    if day < loan.record["disbursed_on"]:
        raise ValidationFailed("a repayment cannot be dated before the disbursement")
    allocation, state = allocate_repayment(
        loan.schedule, loan.state, body.amount, day, loan.terms.penalty_rate_per_day
    )
    status = next_status(loan.status, LoanAction.PAY_OFF if state.closed else LoanAction.REPAY)
    money_code = body.payment_method.account_code
    ids = await chart_accounts(
        ctx, loan.fund_id, [money_code, chart.INTEREST_INCOME, chart.OTHER_INCOME]
    )
    currency = loan.record["currency"]
    parts = [
        (str(loan.record["account_id"]), allocation.principal),
        (str(ids[chart.INTEREST_INCOME]), allocation.interest),
        (str(ids[chart.OTHER_INCOME]), allocation.penalty),
    ]
    postings = [Posting(str(ids[money_code]), Side.DEBIT, body.amount, currency)] + [
        Posting(account, Side.CREDIT, amount, currency) for account, amount in parts if amount
    ]
    allocation_json = allocation._asdict()
    entry = build_entry(
        day, f"Thu nợ khoản vay số {loan.record['number']}", postings,
        {"operation": "loan_repayment", "loan_id": str(loan.id),
         "loan_number": loan.record["number"], "allocation": allocation_json,
         "payment_method": body.payment_method.value},
    )
    posted = await post_entry(ctx, loan.fund_id, entry, voucher_kind=VoucherKind.RECEIPT)
    outstanding = outstanding_principal(loan.schedule, state)
    await record_change(
        ctx, loan, status, "repayment", day,
        {"amount": body.amount, "allocation": allocation_json, "closed": state.closed,
         "voucher_number": posted.voucher_number},
        entry_id=posted.id, outstanding_principal=outstanding,
        repayment_state=state_to_json(state),
    )
    return RepaymentRead(
        entry_id=posted.id, voucher_number=posted.voucher_number, loan_id=loan.id,
        allocation=AllocationRead(**allocation_json), outstanding_principal=outstanding,
        status=status,
    )


async def request_write_off(
    ctx: RequestContext, loan_id: uuid.UUID, body: WriteOffRequest
) -> LoanRead:
    loan = await load_for_write(ctx, loan_id)
    status = next_status(loan.status, LoanAction.REQUEST_WRITE_OFF)
    await record_change(
        ctx, loan, status, "write_off_requested", body.effective_date or ctx.business_date,
        {"reason": body.reason, "outstanding_principal": loan.record["outstanding_principal"]},
        write_off_requested_by=ctx.actor,
    )
    return await get_loan(ctx, loan_id)


async def decide_write_off(
    ctx: RequestContext, loan_id: uuid.UUID, body: LoanDecision
) -> LoanRead:
    """Approve (someone other than the requester): Dr 811 / Cr 131.NNNN for the
    outstanding principal. Reject: the loan is open again and takes repayments."""
    loan = await load_for_write(ctx, loan_id)
    day = body.effective_date or ctx.business_date
    if body.decision is Decision.REJECT:
        status = next_status(loan.status, LoanAction.REJECT_WRITE_OFF)
        await record_change(ctx, loan, status, "write_off_rejected", day, {"note": body.note},
                            write_off_requested_by=None)
        return await get_loan(ctx, loan_id)
    status = next_status(loan.status, LoanAction.APPROVE_WRITE_OFF)
    check_approver(loan.record["write_off_requested_by"], ctx.actor, ctx.acting_member_id,
                   loan.record["member_id"], "write-off request")
    amount = outstanding_principal(loan.schedule, loan.state)
    ids = await chart_accounts(ctx, loan.fund_id, [chart.LOAN_WRITE_OFFS])
    currency = loan.record["currency"]
    entry = build_entry(
        day, f"Xóa nợ khoản vay số {loan.record['number']}",
        [Posting(str(ids[chart.LOAN_WRITE_OFFS]), Side.DEBIT, amount, currency),
         Posting(str(loan.record["account_id"]), Side.CREDIT, amount, currency)],
        {"operation": "loan_write_off", "loan_id": str(loan.id),
         "loan_number": loan.record["number"]},
    )
    posted = await post_entry(ctx, loan.fund_id, entry)
    await record_change(
        ctx, loan, status, "written_off", day,
        {"amount": amount, "note": body.note}, entry_id=posted.id, outstanding_principal=0,
    )
    return await get_loan(ctx, loan_id)


# --------------------------------------------------------------------------- reads


def loan_read(loan: Loan, as_of: date, events: list[LoanEventRead] | None = None) -> LoanRead:
    record, schedule, state = loan.record, loan.schedule, loan.state
    outstanding = overdue = 0
    due: int | None = 0
    payoff: int | None = 0
    if loan.status in OPEN_STATUSES:
        outstanding = outstanding_principal(schedule, state)
        overdue = days_overdue(schedule, state, as_of)
        if state.penalty_accrued_to is not None and as_of < state.penalty_accrued_to:
            due = payoff = None  # seen before the last repayment: not meaningful
        else:
            rate = loan.terms.penalty_rate_per_day
            due = amount_due(schedule, state, as_of, rate)
            payoff = payoff_amount(schedule, state, as_of, rate)
    at_risk = overdue > PAR_DAYS
    return LoanRead(
        **{k: record[k] for k in (
            "id", "fund_id", "number", "member_id", "status", "principal", "installments",
            "frequency", "interest_method", "amortization", "day_count", "grace_periods",
            "rounding_unit", "first_due_date", "purpose", "applied_on", "applied_by",
            "approved_by", "disbursed_on", "account_id", "account_code",
            "write_off_requested_by",
        )},
        rate_per_period=str(record["rate_per_period"]),
        penalty_rate_per_day=str(record["penalty_rate_per_day"]),
        as_of=as_of, outstanding_principal=outstanding,
        principal_repaid=sum(state.principal_paid), interest_paid=sum(state.interest_paid),
        penalty_paid=state.penalty_paid, interest_waived=state.interest_waived,
        amount_due=due, payoff_amount=payoff, days_overdue=overdue, at_risk_30=at_risk,
        par30_principal=outstanding if at_risk else 0, events=events or [],
    )


async def get_loan(ctx: RequestContext, loan_id: uuid.UUID, as_of: date | None = None) -> LoanRead:
    record = await repository.get_loan(ctx.connection, loan_id)
    if record is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("loan", loan_id)
    events = [
        LoanEventRead(**dict(r))
        for r in await repository.list_events(ctx.connection, record["fund_id"], loan_id)
    ]
    return loan_read(loan_of(record), as_of or ctx.business_date, events)


async def get_schedule(ctx: RequestContext, loan_id: uuid.UUID) -> ScheduleRead:
    record = await repository.get_loan(ctx.connection, loan_id)
    if record is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("loan", loan_id)
    loan = loan_of(record)
    return ScheduleRead(
        loan_id=loan_id,
        installments=[
            InstallmentRead(**row._asdict(), principal_paid=principal, interest_paid=interest)
            for row, principal, interest in zip(
                loan.schedule.installments, loan.state.principal_paid, loan.state.interest_paid,
                strict=True,
            )
        ],
        total_principal=loan.schedule.total_principal,
        total_interest=loan.schedule.total_interest,
    )


async def list_loans(
    ctx: RequestContext, fund_id: uuid.UUID, status: LoanStatus | None, as_of: date | None,
    limit: int, cursor: str | None,
) -> Page[LoanRead]:
    ctx.require_fund(fund_id)
    if await funds.get_fund(ctx.connection, fund_id) is None:
        raise NotFound("fund", fund_id)
    after = decode_cursor(cursor, sequence_key)
    rows = await repository.list_loans(
        ctx.connection, fund_id, status.value if status else None,
        after[0] if after else None, limit + 1,
    )
    day = as_of or ctx.business_date
    return make_page([loan_read(loan_of(r), day) for r in rows], limit, lambda read: [read.number])
