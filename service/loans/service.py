"""Loans from application to repayment or write-off.

Every write takes the fund lock first (`open_fund_write`), then reads the loan, checks
the transition and the event's date (`ledger.loan_lifecycle`), posts its entry through
`post_entry`
and moves the loan's row with an appended event, all in the request's one
transaction:

    disbursement   Dr 131.NNNN principal          Cr 111/112            (voucher PC)
    repayment      Dr 111/112 amount              Cr 131.NNNN principal part,
                                                  Cr 515 interest, Cr 711 penalty (PT)
    write-off      Dr 811 outstanding principal   Cr 131.NNNN
    recovery       Dr 111/112 amount              Cr 711 (money after a write-off; PT)

A waiver (penalty or interest forgiven, two people: `service.corrections`) posts
nothing — unpaid interest and penalties are never booked — but is replayed with the
repayments, so later repayments are allocated again after it.

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
from ledger.entries import Posting, build_entry, reverse_entry
from ledger.errors import InvalidReversal
from ledger.loan_lifecycle import (
    LoanAction,
    LoanDates,
    LoanStatus,
    LoanTransitionRefused,
    check_approver,
    check_disbursement_reversible,
    check_event_date,
    next_status,
    paid_off_on,
)
from ledger.loan_terms import check_term_bounds
from ledger.loans import (
    Allocation,
    Amortization,
    DayCount,
    Frequency,
    InterestMethod,
    InvalidLoanTerms,
    LoanState,
    LoanTerms,
    Prepayment,
    RecordedRepayment,
    Schedule,
    WaivedPart,
    allocation_difference,
    amount_due,
    build_schedule,
    installments_in_force,
    outstanding_principal,
    payoff_amount,
    principal_repaid,
    replay_repayments,
)
from ledger.reports import oldest_uncovered_due
from service.accounts import repository as accounts
from service.audit.service import record_write
from service.clubs import repository as clubs
from service.context import FundWrite, RequestContext
from service.entries.schemas import EntryRead
from service.entries.service import ledger_entry, post_entry
from service.errors import (
    AlreadyReversed,
    LoanEntryReversal,
    NotFound,
    RecoveryTooLarge,
    UnknownAccount,
    UnknownMember,
)
from service.funds import repository as funds
from service.funds.service import open_fund_write
from service.ids import new_id
from service.language import Text
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
    LoanReschedule,
    RecoveryCreate,
    RecoveryRead,
    RepaymentCreate,
    RepaymentRead,
    ScheduleRead,
    WaiverCreate,
    WriteOffRequest,
)
from service.pagination import Page, decode_cursor, make_page, sequence_key

PAR_DAYS = 30


@dataclass(frozen=True)
class Loan:
    """A loan row with its terms and schedule rebuilt. What was paid on it is not kept
    on the row: it is its repayments' allocations (`bookings_of`), replayed."""

    record: asyncpg.Record
    terms: LoanTerms
    schedule: Schedule

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

    @property
    def waivers(self) -> list[RecordedRepayment]:
        """The approved waivers, as the core replays them with the repayments."""
        return [RecordedRepayment(w["sequence"], date.fromisoformat(w["effective_date"]),
                                  w["amount"], WaivedPart(w["part"]))
                for w in self.record["waivers"]]

    @property
    def dates(self) -> LoanDates:
        written_off = self.status is LoanStatus.WRITTEN_OFF
        return LoanDates(**{name: self.record[name] for name in (
            "applied_on", "approved_on", "disbursed_on", "write_off_requested_on")},
            written_off_on=self.record["closed_on"] if written_off else None)


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
        # Absent from rows read by migrations older than the column (the schedule does
        # not depend on it).
        prepayment=Prepayment(record.get("prepayment", Prepayment.REDUCE_TERM)),
    )


def terms_of_application(body: LoanCreate) -> LoanTerms:
    """The terms an application asks for (not yet disbursed)."""
    return LoanTerms(
        principal=body.principal, installments=body.installments, frequency=body.frequency,
        interest_method=body.interest_method, rate_per_period=Decimal(body.rate_per_period),
        first_due_date=body.first_due_date, amortization=body.amortization,
        grace_periods=body.grace_periods, day_count=body.day_count,
        rounding_unit=body.rounding_unit,
        penalty_rate_per_day=Decimal(body.penalty_rate_per_day), prepayment=body.prepayment,
    )


def loan_of(record: asyncpg.Record) -> Loan:
    terms = terms_of(record)
    return Loan(record, terms, build_schedule(terms))


async def load_for_write(ctx: RequestContext, loan_id: uuid.UUID) -> tuple[Loan, FundWrite]:
    """Lock the loan's fund, then read the loan: every loan write is serialised there."""
    fund_id = await repository.fund_of_loan(ctx.connection, loan_id)
    if fund_id is None or not ctx.sees_fund(fund_id):
        raise NotFound("loan", loan_id)
    fund = await open_fund_write(ctx, fund_id)
    record = await repository.get_loan(ctx.connection, loan_id, fund_id)
    assert record is not None
    return loan_of(record), fund


def event_date(
    ctx: RequestContext, action: LoanAction, day: date | None, loan: Loan | None,
    fund: FundWrite,
) -> date:
    """The event's date (default today), checked: not in the future, not in a closed
    month, not before the event it follows."""
    return check_event_date(
        action, day or ctx.business_date, loan.dates if loan else LoanDates(),
        ctx.business_date, fund.closed_period,
    )


async def record_change(
    ctx: RequestContext, loan: Loan, status: LoanStatus, kind: str, effective_date: date,
    data: dict[str, Any], *, entry_id: uuid.UUID | None = None,
    allocation: Allocation | None = None, repayment_sequence: int | None = None,
    adjustments: tuple[repository.LoanEvent, ...] = (), **changes: Any,
) -> dict[str, Any]:
    """Write the loan's new row, its event and the adjustments it caused (each in the
    audit log); return the new column values."""
    values: dict[str, Any] = {
        "approved_by": loan.record["approved_by"],
        "disbursed_on": loan.record["disbursed_on"],
        "account_id": loan.record["account_id"],
        "write_off_requested_by": loan.record["write_off_requested_by"],
        "outstanding_principal": loan.record["outstanding_principal"],
        "closed_on": loan.record["closed_on"],
    }
    values.update(changes)
    sequence = loan.record["events_count"] + 1
    events = [repository.LoanEvent(kind, effective_date, entry_id, data, allocation,
                                   repayment_sequence), *adjustments]
    await repository.record_change(
        ctx.connection, fund_id=loan.fund_id, loan_id=loan.id, status=status.value,
        first_sequence=sequence, events=events, actor=ctx.actor, now=ctx.now, **values,
    )
    for number, event in enumerate(events, start=sequence):
        await record_write(ctx, loan.fund_id, f"loan.{event.kind}", {
            "loan_id": str(loan.id), "sequence": number, "kind": event.kind,
            "status": status.value, "effective_date": event.effective_date.isoformat(),
            "entry_id": str(event.entry_id) if event.entry_id else None, "data": event.data,
            "allocation": event.allocation._asdict() if event.allocation else None,
            "repayment_sequence": event.repayment_sequence,
        })
    return values


async def chart_accounts(
    ctx: RequestContext, fund_id: uuid.UUID, codes: list[str]
) -> dict[str, uuid.UUID]:
    ids = await accounts.account_ids_by_code(ctx.connection, fund_id, codes)
    missing = sorted(set(codes) - set(ids))
    if missing:
        raise UnknownAccount(Text("fund {fund} has no account {codes} (a club's fund has the"
                                  " default chart)",
                                  "quỹ {fund} không có tài khoản {codes} (quỹ của câu lạc"
                                  " bộ có hệ thống tài khoản mặc định)"),
                             fund=fund_id, codes=", ".join(missing))
    return ids


# --------------------------------------------------------------------------- application


async def apply_for_loan(ctx: RequestContext, fund_id: uuid.UUID, body: LoanCreate) -> LoanRead:
    fund = await open_fund_write(ctx, fund_id)
    applied_on = event_date(ctx, LoanAction.APPLY, body.applied_on, None, fund)
    member = await clubs.get_member(ctx.connection, body.member_id)
    if member is None or fund.club_id is None or member["club_id"] != fund.club_id:
        raise UnknownMember(Text("member {member} is not a member of this fund's club",
                                 "{member} không phải thành viên câu lạc bộ của quỹ này"),
                            member=body.member_id)
    if member["status"] != "active":
        raise UnknownMember(Text("member {member} is {status}, not active",
                                 "thành viên {member} đang ở trạng thái {status}, không"
                                 " còn hoạt động"),
                            member=body.member_id, status=member["status"])
    terms = terms_of_application(body)
    check_term_bounds(terms)
    if applied_on >= body.first_due_date:
        raise InvalidLoanTerms("the first instalment falls due after the application date",
                               "kỳ trả đầu tiên phải đến hạn sau ngày đề nghị vay")
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
        prepayment=terms.prepayment.value, first_due_date=terms.first_due_date,
        purpose=body.purpose, applied_on=applied_on,
        actor=ctx.actor, now=ctx.now,
        event_data=application,
    )
    await record_write(ctx, fund_id, "loan.applied",
                       {"loan_id": str(loan_id), "number": number, **application})
    return await get_loan(ctx, loan_id)


async def decide_application(
    ctx: RequestContext, loan_id: uuid.UUID, body: LoanDecision
) -> LoanRead:
    """Approve (someone other than the recorder of the application) or reject."""
    loan, fund = await load_for_write(ctx, loan_id)
    approve = body.decision is Decision.APPROVE
    action = LoanAction.APPROVE if approve else LoanAction.REJECT
    status = next_status(loan.status, action)
    if approve:
        check_approver(loan.record["applied_by"], ctx.actor, ctx.acting_member_id,
                       loan.record["member_id"])
    day = event_date(ctx, action, body.effective_date, loan, fund)
    await record_change(
        ctx, loan, status, "approved" if approve else "rejected", day, {"note": body.note},
        approved_by=ctx.actor if approve else None,
    )
    return await get_loan(ctx, loan_id)


async def reschedule(ctx: RequestContext, loan_id: uuid.UUID, body: LoanReschedule) -> LoanRead:
    """A new first due date and/or instalment count for an approved loan not yet paid
    out: the schedule is computed again under the bounds of an application, the first
    due date falls after the rescheduling's date, and the loan keeps its approval."""
    loan, fund = await load_for_write(ctx, loan_id)
    status = next_status(loan.status, LoanAction.RESCHEDULE)
    day = event_date(ctx, LoanAction.RESCHEDULE, body.effective_date, loan, fund)
    terms = dataclasses.replace(
        loan.terms,
        first_due_date=body.first_due_date or loan.terms.first_due_date,
        installments=body.installments or loan.terms.installments,
    )
    check_term_bounds(terms)
    if day >= terms.first_due_date:
        raise InvalidLoanTerms("the first instalment falls due after the rescheduling date",
                               "kỳ trả nợ đầu tiên phải sau ngày đổi lịch trả nợ")
    await repository.update_schedule_terms(
        ctx.connection, loan.fund_id, loan.id, terms.first_due_date, terms.installments)
    await record_change(
        ctx, loan, status, "rescheduled", day,
        {"reason": body.reason,
         "before": {"first_due_date": loan.terms.first_due_date.isoformat(),
                    "installments": loan.terms.installments},
         "after": {"first_due_date": terms.first_due_date.isoformat(),
                   "installments": terms.installments}},
    )
    return await get_loan(ctx, loan_id)


# --------------------------------------------------------------------------- money moves


async def disburse(ctx: RequestContext, loan_id: uuid.UUID, body: DisbursementCreate) -> LoanRead:
    loan, fund = await load_for_write(ctx, loan_id)
    status = next_status(loan.status, LoanAction.DISBURSE)
    day = event_date(ctx, LoanAction.DISBURSE, body.effective_date, loan, fund)
    terms = dataclasses.replace(loan.terms, disbursed_on=day)
    schedule = build_schedule(terms)  # refuses a disbursement on or after the first due date
    money_code = body.payment_method.account_code
    ids = await chart_accounts(ctx, loan.fund_id, [money_code])
    currency = loan.record["currency"]
    account_code = chart.loan_account_code(loan.record["number"])
    # A loan disbursed again after its disbursement was reversed keeps its account.
    account_id = (await accounts.account_ids_by_code(
        ctx.connection, loan.fund_id, [account_code])).get(account_code)
    if account_id is None:
        account_id = new_id()
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
    await repository.insert_installments(
        ctx.connection, loan.fund_id, loan.id, loan.record["events_count"] + 1,
        [(i.number, i.due_date, i.principal, i.interest) for i in schedule.installments])
    await record_change(
        ctx, loan, status, "disbursed", day,
        {"amount": principal, "voucher_number": posted.voucher_number,
         "payment_method": body.payment_method.value},
        entry_id=posted.id, disbursed_on=day, account_id=account_id,
        outstanding_principal=principal,
    )
    return await get_loan(ctx, loan_id)


@dataclass(frozen=True)
class Booking:
    """A repayment in force and how the ledger holds it so far."""

    sequence: int
    on_date: date
    amount: int
    entry_id: uuid.UUID
    booked: Allocation

    @property
    def recorded(self) -> RecordedRepayment:
        return RecordedRepayment(self.sequence, self.on_date, self.amount)


async def bookings_by_loan(
    ctx: RequestContext, fund_id: uuid.UUID, loan_ids: list[uuid.UUID]
) -> dict[uuid.UUID, list[Booking]]:
    """The repayments in force of each loan (in one query)."""
    found: dict[uuid.UUID, list[Booking]] = {loan_id: [] for loan_id in loan_ids}
    for r in await repository.repayment_bookings(ctx.connection, fund_id, loan_ids):
        found[r["loan_id"]].append(Booking(
            r["sequence"], r["effective_date"], r["amount"], r["entry_id"],
            Allocation(penalty=r["penalty"], interest=r["interest"], principal=r["principal"])))
    return found


async def bookings_of(ctx: RequestContext, loan: Loan) -> list[Booking]:
    return (await bookings_by_loan(ctx, loan.fund_id, [loan.id]))[loan.id]


async def replay_with(
    ctx: RequestContext, loan: Loan, day: date, amount: int
) -> tuple[list[Booking], int, dict[int, Allocation], LoanState]:
    """The loan's repayments in force and a new payment of `amount` on `day`, allocated in
    date order by the core: the bookings, the new payment's key (its event's sequence),
    every repayment's allocation and the loan's state afterwards."""
    bookings = await bookings_of(ctx, loan)
    key = loan.record["events_count"] + 1
    allocations, state = replay(loan, bookings, [RecordedRepayment(key, day, amount)])
    return bookings, key, allocations, state


def replay(
    loan: Loan, bookings: list[Booking], more: list[RecordedRepayment] | None = None,
    as_of: date | None = None,
) -> tuple[dict[int, Allocation], LoanState]:
    """The loan's repayments in force and its waivers (and `more`), those dated by
    `as_of` when given, replayed in date order by the core."""
    events = [b.recorded for b in bookings] + loan.waivers + (more or [])
    return replay_repayments(
        loan.schedule, [e for e in events if as_of is None or e.on_date <= as_of],
        loan.terms.penalty_rate_per_day)


def allocation_postings(
    loan: Loan, ids: dict[str, uuid.UUID], allocation: Allocation
) -> list[Posting]:
    """Each part of an allocation on its account — principal 131.NNNN, interest 515,
    penalty 711 — credited when positive, debited when negative (an adjustment)."""
    currency = loan.record["currency"]
    parts = [
        (str(loan.record["account_id"]), allocation.principal),
        (str(ids[chart.INTEREST_INCOME]), allocation.interest),
        (str(ids[chart.OTHER_INCOME]), allocation.penalty),
    ]
    return [
        Posting(account, Side.CREDIT if amount > 0 else Side.DEBIT, abs(amount), currency)
        for account, amount in parts if amount
    ]


async def post_adjustments(
    ctx: RequestContext, loan: Loan, ids: dict[str, uuid.UUID], bookings: list[Booking],
    allocations: dict[int, Allocation], cause: str,
) -> tuple[repository.LoanEvent, ...]:
    """For every repayment in force whose allocation the replay changed: an adjusting
    entry dated on that repayment (moving the difference between principal, interest
    and penalty) and its `repayment_adjusted` event. An adjustment in a closed month is
    refused `period_closed`."""
    events = []
    for booking in bookings:
        difference = allocation_difference(allocations[booking.sequence], booking.booked)
        if not any(difference):
            continue
        entry = build_entry(
            booking.on_date,
            f"Điều chỉnh phân bổ khoản thu nợ ngày {booking.on_date.isoformat()}"
            f" khoản vay số {loan.record['number']} ({cause})",
            allocation_postings(loan, ids, difference),
            {"operation": "loan_repayment_adjustment", "loan_id": str(loan.id),
             "loan_number": loan.record["number"], "repayment_sequence": booking.sequence,
             "repayment_entry_id": str(booking.entry_id), "allocation": difference._asdict()},
        )
        posted = await post_entry(ctx, loan.fund_id, entry)
        events.append(repository.LoanEvent(
            "repayment_adjusted", booking.on_date, posted.id, {"cause": cause},
            allocation=difference, repayment_sequence=booking.sequence,
        ))
    return tuple(events)


async def keep_schedule_in_force(
    ctx: RequestContext, loan: Loan, before: LoanState, after: LoanState
) -> None:
    """When the event about to be recorded changes the schedule in force (principal
    paid ahead on a declining-balance loan, interest forgiven, or their undoing), store
    it as the loan's latest instalments (numbered by that event), which the portfolio
    report reads."""
    rows = installments_in_force(loan.schedule, after)
    if rows != installments_in_force(loan.schedule, before):
        await repository.insert_installments(
            ctx.connection, loan.fund_id, loan.id, loan.record["events_count"] + 1,
            [(i.number, i.due_date, i.principal, i.interest) for i in rows])


async def repay(ctx: RequestContext, loan_id: uuid.UUID, body: RepaymentCreate) -> RepaymentRead:
    """Allocate the payment (penalties, then interest, then principal) and post it.

    The repayments are allocated in date order whatever order they are recorded in: a
    repayment dated before later ones (in an open month) lands on its date, and each
    later repayment whose allocation changes gets an adjusting entry on its own date."""
    loan, fund = await load_for_write(ctx, loan_id)
    next_status(loan.status, LoanAction.REPAY)
    day = event_date(ctx, LoanAction.REPAY, body.effective_date, loan, fund)
    bookings, key, allocations, state = await replay_with(ctx, loan, day, body.amount)
    allocation = allocations[key]
    status = next_status(loan.status, LoanAction.PAY_OFF if state.closed else LoanAction.REPAY)
    money_code = body.payment_method.account_code
    ids = await chart_accounts(
        ctx, loan.fund_id, [money_code, chart.INTEREST_INCOME, chart.OTHER_INCOME]
    )
    adjustments = await post_adjustments(
        ctx, loan, ids, bookings, allocations, f"thu nợ ghi muộn ngày {day.isoformat()}")
    await keep_schedule_in_force(ctx, loan, state_of(loan, bookings), state)
    currency = loan.record["currency"]
    postings = [Posting(str(ids[money_code]), Side.DEBIT, body.amount, currency),
                *allocation_postings(loan, ids, allocation)]
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
        {"amount": body.amount, "voucher_number": posted.voucher_number},
        entry_id=posted.id, allocation=allocation, outstanding_principal=outstanding,
        closed_on=paid_off_on(state.closed, [b.on_date for b in bookings] + [day]),
        adjustments=adjustments,
    )
    return RepaymentRead(
        entry_id=posted.id, voucher_number=posted.voucher_number, loan_id=loan.id,
        allocation=AllocationRead(**allocation_json), outstanding_principal=outstanding,
        status=status,
    )


# --------------------------------------------------------------------------- corrections


@dataclass(frozen=True)
class LoanOperation:
    """The loan event an entry was posted for (the database says so, not the entry's
    metadata, which a journal entry may claim)."""

    loan_id: uuid.UUID
    sequence: int
    kind: str


async def loan_operation_of(ctx: RequestContext, original: EntryRead) -> LoanOperation | None:
    record = await repository.event_of_entry(ctx.connection, original.fund_id, original.id)
    return LoanOperation(record["loan_id"], record["sequence"], record["kind"]) if record else None


# A loan's operations that are reversed with their loan event.
REVERSIBLE_LOAN_EVENTS = ("disbursed", "repayment", "written_off", "recovered")


async def check_reversible(
    ctx: RequestContext, original: EntryRead, operation: LoanOperation | None
) -> None:
    """A loan's disbursement, repayment or write-off is reversed with its loan event
    (a disbursement only once its repayments are reversed); its other entries (an
    adjustment, a reversal) follow from those and are not reversed on their own."""
    if operation is None:
        return
    if operation.kind not in REVERSIBLE_LOAN_EVENTS:
        raise LoanEntryReversal(
            Text("entry {entry} ({operation}) of loan number {number} is not reversed on its"
                 " own: only a loan's disbursement, repayment or write-off is",
                 "bút toán {entry} ({operation}) của khoản vay số {number} không được đảo"
                 " riêng: chỉ đảo được khoản giải ngân, trả nợ hoặc xóa nợ"),
            entry=original.id, operation=operation.kind.replace("_", " "),
            number=original.metadata.get("loan_number"))
    if operation.kind == "disbursed":
        record = await repository.get_loan(ctx.connection, operation.loan_id, original.fund_id)
        assert record is not None
        loan = loan_of(record)
        check_disbursement_reversible(loan.status, len(await bookings_of(ctx, loan)))


async def reverse_loan_entry(
    ctx: RequestContext, original: EntryRead, operation: LoanOperation,
    effective_date: date | None, description: str | None,
) -> EntryRead:
    """Reverse a loan's disbursement, repayment or write-off: mark its event reversed,
    recompute the loan from its remaining events in date order, post the reversal and
    the differences as adjusting entries. The reversal is dated on the operation's own
    date (in an open month), so the loan register and the ledger agree on every date."""
    loan, _ = await load_for_write(ctx, operation.loan_id)
    if effective_date is not None and effective_date != original.effective_date:
        raise InvalidReversal(
            f"a loan operation's reversal is dated on the operation's own date"
            f" ({original.effective_date.isoformat()}), not {effective_date.isoformat()}",
            f"bút toán đảo nghiệp vụ khoản vay ghi đúng ngày của nghiệp vụ"
            f" ({original.effective_date.isoformat()}), không phải"
            f" {effective_date.isoformat()}")
    await check_reversible(ctx, original, operation)
    if operation.kind == "repayment":
        return await reverse_repayment(ctx, loan, original, description)
    if operation.kind == "disbursed":
        return await reverse_disbursement(ctx, loan, original, description)
    if operation.kind == "recovered":
        return await reverse_recovery(ctx, loan, original, description)
    return await reverse_write_off(ctx, loan, original, description)


async def reverse_recovery(
    ctx: RequestContext, loan: Loan, original: EntryRead, description: str | None
) -> EntryRead:
    """The recovery undone on its own date (Dr 711, Cr 111/112): the loan counts it no
    more."""
    reversal = reverse_entry(
        ledger_entry(original), str(original.id), original.effective_date,
        description or f"Hủy khoản thu hồi nợ đã xóa khoản vay số {loan.record['number']}")
    posted = await post_entry(ctx, loan.fund_id, reversal)
    amount = sum(p.amount for p in original.postings if p.side is Side.DEBIT)
    await record_change(
        ctx, loan, loan.status, "recovery_reversed", original.effective_date,
        {"recovery_entry_id": str(original.id), "amount": amount}, entry_id=posted.id)
    return posted


async def reverse_disbursement(
    ctx: RequestContext, loan: Loan, original: EntryRead, description: str | None
) -> EntryRead:
    """The disbursement undone on its own date (Dr 111/112, Cr 131.NNNN): the loan is
    approved again, owes nothing and may be disbursed again (its 131.NNNN account, at
    zero, serves the next disbursement)."""
    status = check_disbursement_reversible(loan.status, len(await bookings_of(ctx, loan)))
    reversal = reverse_entry(
        ledger_entry(original), str(original.id), original.effective_date,
        description or f"Hủy giải ngân khoản vay số {loan.record['number']}")
    posted = await post_entry(ctx, loan.fund_id, reversal)
    await record_change(
        ctx, loan, status, "disbursement_reversed", original.effective_date,
        {"disbursement_entry_id": str(original.id), "amount": loan.terms.principal},
        entry_id=posted.id, disbursed_on=None, account_id=None, outstanding_principal=0,
    )
    return posted


async def reverse_repayment(
    ctx: RequestContext, loan: Loan, original: EntryRead, description: str | None
) -> EntryRead:
    if loan.status not in (LoanStatus.DISBURSED, LoanStatus.REPAID):
        raise LoanTransitionRefused(
            f"a loan that is {loan.status.value} has its repayments reversed only once"
            " the pending write-off request is decided",
            f"khoản vay đang ở trạng thái {loan.status.value} chỉ được đảo khoản trả nợ sau"
            " khi đề nghị xóa nợ đang chờ được quyết định")
    bookings = await bookings_of(ctx, loan)
    target = next((b for b in bookings if b.entry_id == original.id), None)
    if target is None:
        raise AlreadyReversed(Text("the repayment of entry {entry} was already reversed",
                                   "khoản trả nợ của bút toán {entry} đã được đảo"),
                              entry=original.id)
    remaining = [b for b in bookings if b is not target]
    allocations, state = replay(loan, remaining)
    ids = await chart_accounts(ctx, loan.fund_id, [chart.INTEREST_INCOME, chart.OTHER_INCOME])
    money = next(p for p in original.postings if p.side is Side.DEBIT)
    undone = allocation_difference(Allocation(0, 0, 0), target.booked)
    currency = loan.record["currency"]
    entry = build_entry(
        target.on_date,
        description or f"Hủy khoản thu nợ {original.voucher_number or original.id}"
                       f" khoản vay số {loan.record['number']}",
        [Posting(str(money.account_id), Side.CREDIT, target.amount, currency),
         *allocation_postings(loan, ids, undone)],
        {"operation": "loan_repayment_reversal", "loan_id": str(loan.id),
         "loan_number": loan.record["number"], "repayment_sequence": target.sequence,
         "allocation": undone._asdict()},
        reverses_entry_id=str(original.id),
    )
    posted = await post_entry(ctx, loan.fund_id, entry)
    adjustments = await post_adjustments(
        ctx, loan, ids, remaining, allocations,
        f"hủy khoản thu nợ ngày {target.on_date.isoformat()}")
    await keep_schedule_in_force(ctx, loan, state_of(loan, bookings), state)
    await record_change(
        ctx, loan, LoanStatus.REPAID if state.closed else LoanStatus.DISBURSED,
        "repayment_reversed", target.on_date, {"amount": target.amount},
        entry_id=posted.id, allocation=undone, repayment_sequence=target.sequence,
        adjustments=adjustments,
        outstanding_principal=outstanding_principal(loan.schedule, state),
        closed_on=paid_off_on(state.closed, [b.on_date for b in remaining]),
    )
    return posted


async def reverse_write_off(
    ctx: RequestContext, loan: Loan, original: EntryRead, description: str | None
) -> EntryRead:
    if loan.status is not LoanStatus.WRITTEN_OFF:
        raise LoanTransitionRefused(f"a loan that is {loan.status.value} is not written off",
                                    f"khoản vay đang ở trạng thái {loan.status.value}, chưa"
                                    " bị xóa nợ")
    if loan.record["recovered"]:
        raise LoanTransitionRefused(
            f"{loan.record['recovered']} was recovered after the write-off: reverse the"
            " recoveries first, then the write-off",
            f"đã thu hồi {loan.record['recovered']} sau khi xóa nợ: hãy đảo các khoản thu"
            " hồi trước, rồi mới đảo khoản xóa nợ")
    reversal = reverse_entry(
        ledger_entry(original), str(original.id), original.effective_date,
        description or f"Hủy xóa nợ khoản vay số {loan.record['number']}")
    posted = await post_entry(ctx, loan.fund_id, reversal)
    await record_change(
        ctx, loan, LoanStatus.DISBURSED, "write_off_reversed", original.effective_date,
        {"write_off_entry_id": str(original.id)}, entry_id=posted.id,
        write_off_requested_by=None, closed_on=None,
        outstanding_principal=outstanding_principal(
            loan.schedule, state_of(loan, await bookings_of(ctx, loan))),
    )
    return posted


async def request_write_off(
    ctx: RequestContext, loan_id: uuid.UUID, body: WriteOffRequest
) -> LoanRead:
    loan, fund = await load_for_write(ctx, loan_id)
    status = next_status(loan.status, LoanAction.REQUEST_WRITE_OFF)
    day = event_date(ctx, LoanAction.REQUEST_WRITE_OFF, body.effective_date, loan, fund)
    await record_change(
        ctx, loan, status, "write_off_requested", day,
        {"reason": body.reason, "outstanding_principal": loan.record["outstanding_principal"]},
        write_off_requested_by=ctx.actor,
    )
    return await get_loan(ctx, loan_id)


async def decide_write_off(
    ctx: RequestContext, loan_id: uuid.UUID, body: LoanDecision
) -> LoanRead:
    """Approve (someone other than the requester): Dr 811 / Cr 131.NNNN for the
    outstanding principal. Reject: the loan is open again and takes repayments."""
    loan, fund = await load_for_write(ctx, loan_id)
    if body.decision is Decision.REJECT:
        status = next_status(loan.status, LoanAction.REJECT_WRITE_OFF)
        day = event_date(ctx, LoanAction.REJECT_WRITE_OFF, body.effective_date, loan, fund)
        await record_change(ctx, loan, status, "write_off_rejected", day, {"note": body.note},
                            write_off_requested_by=None)
        return await get_loan(ctx, loan_id)
    status = next_status(loan.status, LoanAction.APPROVE_WRITE_OFF)
    check_approver(loan.record["write_off_requested_by"], ctx.actor, ctx.acting_member_id,
                   loan.record["member_id"], "write-off request")
    day = event_date(ctx, LoanAction.APPROVE_WRITE_OFF, body.effective_date, loan, fund)
    amount: int = loan.record["outstanding_principal"]
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
        closed_on=day,
    )
    return await get_loan(ctx, loan_id)


async def recover(ctx: RequestContext, loan_id: uuid.UUID, body: RecoveryCreate) -> RecoveryRead:
    """Money received on a written-off loan: Dr 111/112 / Cr 711 (receipt voucher); the
    loan stays written off and counts what was recovered, at most what was written
    off."""
    loan, fund = await load_for_write(ctx, loan_id)
    status = next_status(loan.status, LoanAction.RECOVER)
    day = event_date(ctx, LoanAction.RECOVER, body.effective_date, loan, fund)
    written_off = await repository.written_off_amount(ctx.connection, loan.fund_id, loan.id)
    recovered: int = loan.record["recovered"]
    if recovered + body.amount > written_off:
        raise RecoveryTooLarge(
            Text("{written_off} was written off and {recovered} already recovered: at most"
                 " {left} more can be recovered, not {amount}",
                 "đã xóa nợ {written_off}, đã thu hồi {recovered}: chỉ còn thu hồi được tối"
                 " đa {left}, không phải {amount}"),
            written_off=written_off, recovered=recovered, left=written_off - recovered,
            amount=body.amount)
    money_code = body.payment_method.account_code
    ids = await chart_accounts(ctx, loan.fund_id, [money_code, chart.OTHER_INCOME])
    currency = loan.record["currency"]
    entry = build_entry(
        day, f"Thu hồi nợ đã xóa khoản vay số {loan.record['number']}",
        [Posting(str(ids[money_code]), Side.DEBIT, body.amount, currency),
         Posting(str(ids[chart.OTHER_INCOME]), Side.CREDIT, body.amount, currency)],
        {"operation": "loan_recovery", "loan_id": str(loan.id),
         "loan_number": loan.record["number"], "payment_method": body.payment_method.value},
    )
    posted = await post_entry(ctx, loan.fund_id, entry, voucher_kind=VoucherKind.RECEIPT)
    await record_change(
        ctx, loan, status, "recovered", day,
        {"amount": body.amount, "voucher_number": posted.voucher_number, "note": body.note,
         "payment_method": body.payment_method.value}, entry_id=posted.id)
    return RecoveryRead(
        entry_id=posted.id, voucher_number=posted.voucher_number, loan_id=loan.id,
        amount=body.amount, recovered=recovered + body.amount, written_off=written_off,
        status=status)


async def check_waiver(
    ctx: RequestContext, loan_id: uuid.UUID, body: WaiverCreate
) -> tuple[Loan, date]:
    """The loan and the waiver's date when `body` may be forgiven now: the loan is
    disbursed (`invalid_loan_state`), the date follows its events' rules, and no more
    than the penalty (or the interest due) unpaid on that date (`waiver_too_large`)."""
    loan, fund = await load_for_write(ctx, loan_id)
    next_status(loan.status, LoanAction.WAIVE)
    day = event_date(ctx, LoanAction.WAIVE, body.effective_date, loan, fund)
    waiver = RecordedRepayment(loan.record["events_count"] + 1, day, body.amount, body.part)
    replay(loan, await bookings_of(ctx, loan), [waiver])
    return loan, day


async def waive(
    ctx: RequestContext, loan_id: uuid.UUID, body: WaiverCreate, correction: dict[str, Any],
) -> None:
    """Forgive what a waiver approved by a second person says (checked again: the loan
    may have moved since the request). It posts nothing (unpaid interest and penalties
    are never booked); later repayments whose allocation it changes get adjusting
    entries on their dates."""
    loan, _ = await check_waiver(ctx, loan_id, body)
    assert body.effective_date is not None
    bookings = await bookings_of(ctx, loan)
    waiver = RecordedRepayment(
        loan.record["events_count"] + 1, body.effective_date, body.amount, body.part)
    allocations, state = replay(loan, bookings, [waiver])
    ids = await chart_accounts(ctx, loan.fund_id, [chart.INTEREST_INCOME, chart.OTHER_INCOME])
    adjustments = await post_adjustments(
        ctx, loan, ids, bookings, allocations,
        f"miễn giảm ngày {body.effective_date.isoformat()}")
    await keep_schedule_in_force(ctx, loan, state_of(loan, bookings), state)
    await record_change(
        ctx, loan, loan.status, "waived", body.effective_date,
        {"part": body.part.value, "amount": body.amount, "reason": body.reason, **correction},
        adjustments=adjustments, outstanding_principal=outstanding_principal(loan.schedule, state),
    )


# --------------------------------------------------------------------------- reads


def state_of(loan: Loan, bookings: list[Booking]) -> LoanState:
    """What has been paid on the loan: its repayments in force (and its waivers),
    allocated in date order."""
    _, state = replay(loan, bookings)
    return state


def state_on(loan: Loan, bookings: list[Booking], as_of: date) -> LoanState:
    """What had been paid on the loan by the end of `as_of`: its repayments in force
    (and its waivers) dated on or before it, allocated in date order."""
    _, state = replay(loan, bookings, as_of=as_of)
    return state


def open_on(loan: Loan, state: LoanState, as_of: date) -> bool:
    """Disbursed by `as_of`, and neither paid off nor written off by then."""
    disbursed_on: date | None = loan.record["disbursed_on"]
    if disbursed_on is None or disbursed_on > as_of or state.closed:
        return False
    written_off_on: date | None = loan.record["closed_on"]
    return not (loan.status is LoanStatus.WRITTEN_OFF and written_off_on is not None
                and written_off_on <= as_of)


def loan_read(
    loan: Loan, as_of: date, bookings: list[Booking], events: list[LoanEventRead] | None = None
) -> LoanRead:
    """The loan and its position at the end of `as_of`, computed from its events up to
    that date only."""
    record, schedule = loan.record, loan.schedule
    state = state_on(loan, bookings, as_of)
    outstanding = overdue = 0
    due: int | None = 0
    payoff: int | None = 0
    if open_on(loan, state, as_of):
        outstanding = outstanding_principal(schedule, state)
        # Overdue as the portfolio report counts it (ledger.reports.loan_figures): from
        # the oldest instalment that what was paid does not cover, oldest first.
        uncovered = oldest_uncovered_due(
            [(row.due_date, row.total) for row in installments_in_force(schedule, state)],
            sum(state.principal_paid) + sum(state.interest_paid))
        overdue = max((as_of - uncovered).days, 0) if uncovered else 0
        rate = loan.terms.penalty_rate_per_day
        due = amount_due(schedule, state, as_of, rate)
        payoff = payoff_amount(schedule, state, as_of, rate)
    at_risk = overdue > PAR_DAYS
    return LoanRead(
        **{k: record[k] for k in (
            "id", "fund_id", "number", "member_id", "status", "principal", "installments",
            "frequency", "interest_method", "amortization", "day_count", "grace_periods",
            "rounding_unit", "prepayment", "first_due_date", "purpose", "applied_on", "applied_by",
            "approved_by", "disbursed_on", "account_id", "account_code",
            "write_off_requested_by", "audit",
        )},
        rate_per_period=str(record["rate_per_period"]),
        penalty_rate_per_day=str(record["penalty_rate_per_day"]),
        as_of=as_of, outstanding_principal=outstanding,
        principal_repaid=principal_repaid(schedule, state),
        interest_paid=sum(state.interest_paid),
        penalty_paid=state.penalty_paid, interest_waived=state.interest_waived,
        penalty_forgiven=state.penalty_forgiven, interest_forgiven=state.interest_forgiven,
        recovered=record["recovered"],
        amount_due=due, payoff_amount=payoff, days_overdue=overdue, at_risk_30=at_risk,
        par30_principal=outstanding if at_risk else 0, events=events or [],
    )


# The events that move what a loan has paid (their allocation columns).
ALLOCATING_EVENTS = ("repayment", "repayment_adjusted", "repayment_reversed")


def event_read(record: asyncpg.Record) -> LoanEventRead:
    values = dict(record)
    parts = {part: values.pop(part) for part in ("penalty", "interest", "principal")}
    allocating = values["kind"] in ALLOCATING_EVENTS
    return LoanEventRead(**values, allocation=AllocationRead(**parts) if allocating else None)


async def get_loan(ctx: RequestContext, loan_id: uuid.UUID, as_of: date | None = None) -> LoanRead:
    record = await repository.get_loan(ctx.connection, loan_id)
    if record is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("loan", loan_id)
    events = [event_read(r) for r in await repository.list_events(
        ctx.connection, record["fund_id"], loan_id)]
    loan = loan_of(record)
    return loan_read(loan, ctx.past_date(as_of, "as_of"), await bookings_of(ctx, loan), events)


async def get_schedule(ctx: RequestContext, loan_id: uuid.UUID) -> ScheduleRead:
    record = await repository.get_loan(ctx.connection, loan_id)
    if record is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("loan", loan_id)
    loan = loan_of(record)
    state = state_of(loan, await bookings_of(ctx, loan))
    return ScheduleRead(
        loan_id=loan_id,
        installments=[
            InstallmentRead(**row._asdict(), principal_paid=principal, interest_paid=interest)
            for row, principal, interest in zip(
                installments_in_force(loan.schedule, state), state.principal_paid,
                state.interest_paid, strict=True,
            )
        ],
        total_principal=loan.schedule.total_principal,
        total_interest=sum(row.interest for row in installments_in_force(loan.schedule, state)),
        principal_prepaid=state.principal_prepaid,
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
    day = ctx.past_date(as_of, "as_of")
    loans = [loan_of(r) for r in rows]
    bookings = await bookings_by_loan(ctx, fund_id, [loan.id for loan in loans])
    return make_page([loan_read(loan, day, bookings[loan.id]) for loan in loans], limit,
                     lambda read: [read.number])


async def preview_repayment(
    ctx: RequestContext, loan_id: uuid.UUID, body: RepaymentCreate
) -> AllocationRead:
    """How `repay` would split this payment (penalties, interest, principal), by the same
    allocation of the core, writing nothing: the pages show it before the treasurer saves."""
    record = await repository.get_loan(ctx.connection, loan_id)
    if record is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("loan", loan_id)
    loan = loan_of(record)
    next_status(loan.status, LoanAction.REPAY)
    day = ctx.past_date(body.effective_date)
    _, key, allocations, _ = await replay_with(ctx, loan, day, body.amount)
    return AllocationRead(**allocations[key]._asdict())
