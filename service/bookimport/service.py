"""Bringing a club's existing books into its empty fund, in one transaction.

The core checks every row first (`ledger.opening_books.check_books`): nothing is
written when any row is wrong. Then, under the fund's lock, the rows the API would have
written are built here with the same functions and written through COPY
(`repository.write_rows`):

- each member, as `POST /v1/clubs/{club_id}/members` writes her (`member.created`);
- each loan as applied, approved and paid out on its disbursement date (`loan.applied`,
  `loan.approved`, its account 131.NNNN `account.created`, `loan.disbursed`), its
  schedule fixed by that disbursement, and its repayments as `loan.repayment` events
  with the typed allocation of the core's replay (`replay_repayments`, as the API's);
- the opening entry on the cut-over date (`entry.posted`): Dr 111, 112 and each loan's
  131.NNNN for what it still owed, Cr the capital sources 411x;
- each repayment on or after the cut-over as the API's repayment posts it: a receipt
  (PT voucher) Dr 111/112, Cr 131.NNNN, 515, 711 (`entry.posted`, then its event).

Loan events before the cut-over have no entry: the books start on that day, and what
the loan owed then is in the opening entry. Every record is appended to the fund's
audit log as `record_write` would (same fields, canonical bytes, leaf hashes, Merkle
nodes and frontier), numbered after the records already there.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any, cast

import orjson

from ledger import chart, periods
from ledger.accounts import AccountType, Side
from ledger.audit_records import canonical_record
from ledger.entries import Entry, Posting, build_entry, content_hash
from ledger.merkle import append_leaf, canonical_leaf_hash
from ledger.opening_books import Books, ImportedLoan, check_fund_empty, split_opening
from service.audit.service import subject_of
from service.bookimport import repository
from service.clubs.schemas import MemberRead
from service.context import RequestContext
from service.entries.service import entry_document
from service.funds.service import open_fund_write
from service.ids import new_id
from service.loans.schemas import LoanCreate
from service.loans.service import Loan, allocation_postings, chart_accounts

IMPORT_NOTE = "Chuyển từ sổ sách của câu lạc bộ (nhập sổ)"


@dataclass(frozen=True)
class ImportSummary:
    fund_id: uuid.UUID
    cut_over: date
    members_count: int
    loans_count: int
    entries_count: int
    audit_records_count: int

    def lines(self) -> list[str]:
        return [
            f"fund {self.fund_id}: books imported, cut-over {self.cut_over.isoformat()}"
            f" / đã nhập sổ, ngày chuyển sổ {self.cut_over:%d/%m/%Y}",
            f"members / thành viên: {self.members_count}",
            f"loans / khoản vay: {self.loans_count}",
            f"entries / bút toán: {self.entries_count}",
            f"audit records / bản ghi nhật ký: {self.audit_records_count}",
        ]


@dataclass
class _Writing:
    """The rows of every table and the audit records, in the order they are written."""

    fund_id: uuid.UUID
    currency: str
    ctx: RequestContext
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    audit: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    sequence: int = 0
    vouchers: dict[tuple[str, int], int] = field(default_factory=dict)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        self.rows.setdefault(table, []).append(row)

    def record(self, action: str, data: dict[str, Any]) -> None:
        self.audit.append((action, data))

    def post(self, entry: Entry, kind: chart.VoucherKind | None) -> tuple[uuid.UUID, str | None]:
        """An entry as `post_entry` writes it (its voucher number the next of its year):
        its id and voucher number."""
        voucher_number = None
        if kind is not None:
            year = entry.effective_date.year
            number = self.vouchers.get((kind.value, year), 0) + 1
            self.vouchers[(kind.value, year)] = number
            voucher_number = chart.voucher_number(kind, year, number)
        self.sequence += 1
        entry_id = new_id()
        ctx = self.ctx
        document = entry_document(self.fund_id, entry_id, self.sequence, voucher_number, entry,
                                  self.currency, ctx.now.isoformat(), ctx.actor)
        self.add("entries", (
            self.fund_id, entry_id, self.sequence, voucher_number, entry.effective_date,
            ctx.now, entry.description, self.currency, _json_text(dict(entry.metadata)),
            None, ctx.actor, content_hash(document)))
        for line, posting in enumerate(entry.postings, start=1):
            self.add("postings", (
                self.fund_id, entry_id, line, uuid.UUID(posting.account_id),
                posting.side.value, posting.amount, posting.currency, entry.effective_date,
                self.sequence))
        self.record("entry.posted", document)
        return entry_id, voucher_number


async def import_books(ctx: RequestContext, fund_id: uuid.UUID, books: Books) -> ImportSummary:
    """Write checked books into the empty club fund `fund_id` (FundNotEmpty otherwise)."""
    fund = await open_fund_write(ctx, fund_id)
    if fund.club_id is None:
        raise NotAClubFund(fund_id)
    check_fund_empty(*await repository.fund_contents(ctx.connection, fund_id, fund.club_id))
    periods.check_open(books.cut_over, fund.closed_period)
    ids = await chart_accounts(ctx, fund_id, [account.code for account in chart.DEFAULT_CHART])
    writing = _Writing(fund_id, fund.currency, ctx)
    member_ids = _members(writing, fund.club_id, books)
    loan_accounts = [_loan(writing, loan, member_ids[loan.member_code]) for loan in books.loans]
    _opening_entry(writing, books, ids, loan_accounts)
    for loan_index, repayment_index in books.journal_repayments:
        _journal_repayment(writing, books.loans[loan_index], loan_accounts[loan_index],
                           repayment_index, ids)
    size, frontier, feed_key = await repository.lock_audit_tree(ctx.connection, fund_id)
    # The audit records' bytes, hashes and nodes are computed on a thread of their own
    # while PostgreSQL writes the other tables (the two use the machine's two cores).
    audit_rows = asyncio.create_task(asyncio.to_thread(
        _audit_rows, writing, size, frontier, feed_key))
    try:
        await repository.write_rows(ctx.connection, writing.rows)
    finally:
        size, frontier, audit_tables = await audit_rows
    await repository.write_rows(ctx.connection, audit_tables)
    await repository.finish(
        ctx.connection, fund_id=fund_id, entry_count=writing.sequence,
        vouchers=writing.vouchers, tree_size=size, frontier=frontier, feed_key=feed_key)
    return ImportSummary(fund_id, books.cut_over, len(books.members), len(books.loans),
                         writing.sequence, len(writing.audit))


class NotAClubFund(Exception):
    def __init__(self, fund_id: uuid.UUID) -> None:
        super().__init__(f"fund {fund_id} is not a club's fund: books are imported into a"
                         " club's income fund / quỹ này không phải quỹ của câu lạc bộ")


def _members(writing: _Writing, club_id: uuid.UUID, books: Books) -> dict[str, uuid.UUID]:
    ids = {}
    for member in books.members:
        member_id = new_id()
        ids[member.code] = member_id
        read = MemberRead(id=member_id, club_id=club_id, name=member.name,
                          gender=member.gender, birth_year=member.birth_year,  # type: ignore[arg-type]
                          status="active", joined_on=member.joined_on,  # type: ignore[arg-type]
                          created_at=writing.ctx.now)
        writing.add("members", (member_id, club_id, member.name, member.gender,
                                member.birth_year, "active", member.joined_on, writing.ctx.now))
        writing.record("member.created", read.model_dump(mode="json", exclude={"audit"}))
    return ids


def _loan(writing: _Writing, loan: ImportedLoan, member_id: uuid.UUID) -> Loan:
    """The loan row, its events, schedule and account, as the API's application, approval,
    disbursement and repayments leave them; the loan with its account, for postings."""
    ctx, fund_id, terms = writing.ctx, writing.fund_id, loan.terms
    disbursed_on = terms.disbursed_on
    assert disbursed_on is not None
    loan_id, account_id = new_id(), new_id()
    application = LoanCreate(
        member_id=member_id, principal=terms.principal, installments=terms.installments,
        frequency=terms.frequency, interest_method=terms.interest_method,
        rate_per_period=f"{terms.rate_per_period:f}", first_due_date=terms.first_due_date,
        rounding_unit=terms.rounding_unit,
        penalty_rate_per_day=f"{terms.penalty_rate_per_day:f}", purpose=loan.purpose,
        applied_on=disbursed_on,
    ).model_dump(mode="json")
    status = "repaid" if loan.closed_on else "disbursed"
    writing.add("loans", (
        fund_id, loan_id, loan.number, member_id, status, terms.principal, terms.installments,
        terms.frequency.value, terms.interest_method.value, terms.amortization.value,
        terms.rate_per_period, terms.day_count.value, terms.grace_periods, terms.rounding_unit,
        terms.penalty_rate_per_day, terms.first_due_date, loan.purpose, disbursed_on,
        ctx.actor, ctx.actor, disbursed_on, account_id, loan.outstanding,
        3 + len(loan.repayments), ctx.now, ctx.now, loan.closed_on))
    writing.record("loan.applied", {"loan_id": str(loan_id), "number": loan.number,
                                    **application})
    _event(writing, loan_id, 1, "applied", "applied", disbursed_on, None, application)
    _event(writing, loan_id, 2, "approved", "approved", disbursed_on, None,
           {"note": IMPORT_NOTE})
    code = chart.loan_account_code(loan.number)
    writing.add("accounts", (
        fund_id, account_id, code, f"Cho vay thành viên — khoản vay số {loan.number}",
        AccountType.ASSET.value, AccountType.ASSET.normal_side.value, False, writing.currency,
        ctx.now))
    writing.record("account.created", {
        "id": str(account_id), "code": code, "type": AccountType.ASSET.value,
        "allow_negative": False, "loan_id": str(loan_id)})
    for row in loan.schedule.installments:
        writing.add("loan_installments", (fund_id, loan_id, 3, row.number, row.due_date,
                                          row.principal, row.interest))
    _event(writing, loan_id, 3, "disbursed", "disbursed", disbursed_on, None,
           {"amount": terms.principal, "voucher_number": None, "payment_method": None,
            "note": IMPORT_NOTE})
    for index, repayment in enumerate(loan.repayments):
        if not repayment.in_journal:
            _repayment_event(writing, loan_id, index, loan, None, None)
    return Loan(cast(Any, {"id": loan_id, "account_id": account_id,
                           "currency": writing.currency}), terms, loan.schedule)


def _event(writing: _Writing, loan_id: uuid.UUID, sequence: int, kind: str, status: str,
           day: date, entry_id: uuid.UUID | None, data: dict[str, Any],
           allocation: dict[str, int] | None = None) -> None:
    """A loan event row and its audit record, as `record_change` writes them."""
    parts = allocation or {"penalty": 0, "interest": 0, "principal": 0}
    writing.add("loan_events", (
        writing.fund_id, loan_id, sequence, kind, day, writing.ctx.now, writing.ctx.actor,
        entry_id, _json_text(data), parts["penalty"], parts["interest"], parts["principal"],
        None))
    if kind == "applied":
        return  # recorded as loan.applied with the loan's number
    writing.record(f"loan.{kind}", {
        "loan_id": str(loan_id), "sequence": sequence, "kind": kind, "status": status,
        "effective_date": day.isoformat(), "entry_id": str(entry_id) if entry_id else None,
        "data": data, "allocation": allocation, "repayment_sequence": None,
    })


def _repayment_event(writing: _Writing, loan_id: uuid.UUID, repayment_index: int,
                     loan: ImportedLoan, entry_id: uuid.UUID | None,
                     voucher_number: str | None) -> None:
    repayment = loan.repayments[repayment_index]
    data: dict[str, Any] = {"amount": repayment.amount, "voucher_number": voucher_number}
    if entry_id is None:
        data["note"] = IMPORT_NOTE
    _event(writing, loan_id, repayment.key, "repayment",
           "repaid" if repayment.closes else "disbursed", repayment.on_date, entry_id, data,
           repayment.allocation._asdict())


def _opening_entry(writing: _Writing, books: Books, ids: dict[str, uuid.UUID],
                   loans: list[Loan]) -> None:
    currency = writing.currency
    debits = [Posting(str(ids[code]), Side.DEBIT, amount, currency)
              for code, amount in books.opening
              if amount and code in (chart.CASH, chart.BANK)]
    debits += [Posting(str(account.record["account_id"]), Side.DEBIT, loan.owed_at_cut_over,
                       currency)
               for loan, account in zip(books.loans, loans, strict=True)
               if loan.owed_at_cut_over]
    credits = [Posting(str(ids[code]), Side.CREDIT, amount, currency)
               for code, amount in books.opening
               if amount and code not in (chart.CASH, chart.BANK)]
    for number, postings in enumerate(split_opening(debits, credits), start=1):
        entry = build_entry(
            books.cut_over, f"Số dư đầu kỳ ngày chuyển sổ {books.cut_over:%d/%m/%Y}"
                            f" (phần {number})",
            postings,
            {"operation": "opening_balances", "cut_over_date": books.cut_over.isoformat(),
             "part": number},
        )
        writing.post(entry, None)


def _journal_repayment(writing: _Writing, loan: ImportedLoan, account: Loan,
                       repayment_index: int, ids: dict[str, uuid.UUID]) -> None:
    """A repayment on or after the cut-over, posted as `repay` posts it."""
    repayment = loan.repayments[repayment_index]
    loan_id: uuid.UUID = account.record["id"]
    money = ids[repayment.method.account_code]
    allocation = repayment.allocation._asdict()
    entry = build_entry(
        repayment.on_date, f"Thu nợ khoản vay số {loan.number}",
        [Posting(str(money), Side.DEBIT, repayment.amount, writing.currency),
         *allocation_postings(account, ids, repayment.allocation)],
        {"operation": "loan_repayment", "loan_id": str(loan_id), "loan_number": loan.number,
         "allocation": allocation, "payment_method": repayment.method.value},
    )
    entry_id, voucher_number = writing.post(entry, chart.VoucherKind.RECEIPT)
    _repayment_event(writing, loan_id, repayment_index, loan, entry_id, voucher_number)


def _json_text(value: Any) -> str:
    """A jsonb column's value as COPY takes it (text)."""
    return orjson.dumps(value).decode()


def _audit_rows(writing: _Writing, size: int, frontier: list[bytes], feed_key: int
                ) -> tuple[int, list[bytes], dict[str, list[tuple[Any, ...]]]]:
    """The audit records as `record_write` appends them, numbered after the `size` already
    in the log: their canonical bytes, leaf hashes and the Merkle nodes they complete
    (the tree's new size and frontier, and the rows of both tables)."""
    ctx = writing.ctx
    fund = str(writing.fund_id)
    recorded_at = ctx.now.isoformat()
    stack = tuple(frontier)
    records: list[tuple[Any, ...]] = []
    nodes: list[tuple[Any, ...]] = []
    for action, data in writing.audit:
        record = {"fund_id": fund, "recorded_at": recorded_at, "actor": ctx.actor,
                  "action": action, "request_id": ctx.request_id, "data": data,
                  "sequence": size + 1}
        canonical = canonical_record(record)
        leaf = canonical_leaf_hash(canonical)
        appended = append_leaf(stack, size, leaf)
        records.append((writing.fund_id, size + 1, action, subject_of(data), canonical, leaf,
                        feed_key))
        nodes.extend((writing.fund_id, node.level, node.index, node.hash)
                     for node in appended.new_nodes[1:])
        stack, size = appended.frontier, appended.tree_size
    return size, list(stack), {"audit_records": records, "audit_nodes": nodes}


async def import_files(url: str, fund_id: uuid.UUID, paths: list[Any], actor: str
                       ) -> ImportSummary:
    """Read, check and import the files into the fund on the server at `url` as `actor`,
    in one transaction on a connection of its own (the service's role)."""
    from datetime import UTC, datetime

    import asyncpg

    from ledger.opening_books import check_books
    from service.auth.repository import grant_all_funds
    from service.bookimport.reading import read_books
    from service.context import operator_context
    from service.database import init_connection

    now = datetime.now(UTC)
    sheets = read_books(paths)
    connection = await asyncpg.connect(url, server_settings={"timezone": "UTC"})
    try:
        await init_connection(connection)
        async with connection.transaction():
            await grant_all_funds(connection)
            ctx = operator_context(connection, actor, now, f"import-{uuid.uuid4()}")
            books = check_books(sheets, ctx.business_date)
            return await import_books(ctx, fund_id, books)
    finally:
        await connection.close()
