"""Cash-book operations: seed grants, donations, member contributions, expenses.

Each posts one balanced entry through `post_entry`, numbered as a receipt (PT) or
a payment (PC):

    seed grant     Dr 111/112   Cr 4111 (district budget) | 4112 (commune or province
                                   budget) | 4113 (donor) | 4114 (members)
    donation       Dr 111/112   Cr 711
    contribution   Dr 111/112   Cr 4114
    expense        Dr 642       Cr 111/112   (refused `insufficient_funds` beyond the cash)
"""

from __future__ import annotations

import uuid
from enum import StrEnum

from ledger import chart
from ledger.accounts import Side
from ledger.chart import FundingSource, VoucherKind
from ledger.entries import Posting, build_entry
from service.accounts import repository as accounts
from service.cashbook.schemas import CashOperationCreate
from service.clubs import repository as clubs
from service.context import RequestContext
from service.entries.schemas import EntryRead
from service.entries.service import post_entry
from service.errors import UnknownAccount, UnknownMember, ValidationFailed
from service.funds.service import open_fund_write
from service.language import Text


class CashOperation(StrEnum):
    SEED_GRANT = "seed_grant"
    DONATION = "donation"
    CONTRIBUTION = "contribution"
    EXPENSE = "expense"


SOURCE_LABELS = {
    FundingSource.DISTRICT_BUDGET: "ngân sách huyện",
    FundingSource.COMMUNE_BUDGET: "ngân sách xã",
    FundingSource.PROVINCE_BUDGET: "ngân sách tỉnh",
    FundingSource.DONOR: "nhà tài trợ",
    FundingSource.MEMBERS: "thành viên",
}


def counter_account(operation: CashOperation, source: FundingSource | None) -> str:
    """The account on the other side of cash: capital, income or expense."""
    if operation is CashOperation.SEED_GRANT:
        assert source is not None
        return chart.CAPITAL_ACCOUNT_BY_SOURCE[source]
    if operation is CashOperation.DONATION:
        return chart.OTHER_INCOME
    if operation is CashOperation.CONTRIBUTION:
        return chart.CAPITAL_MEMBERS
    return chart.OPERATING_EXPENSES


def default_description(operation: CashOperation, body: CashOperationCreate) -> str:
    source = SOURCE_LABELS[body.source] if body.source else None
    if operation is CashOperation.SEED_GRANT:
        text = f"Cấp vốn từ {source}"
        return text + (f" theo {body.decision_number}" if body.decision_number else "")
    if operation is CashOperation.DONATION:
        return "Nhận tài trợ" + (f" của {body.counterparty}" if body.counterparty else "")
    if operation is CashOperation.CONTRIBUTION:
        return "Thành viên góp vốn" + (f": {body.counterparty}" if body.counterparty else "")
    return "Chi hoạt động" + (f": {body.counterparty}" if body.counterparty else "")


def check_source(operation: CashOperation, body: CashOperationCreate) -> FundingSource | None:
    source = body.source
    if operation is CashOperation.SEED_GRANT:
        if source is None:
            raise ValidationFailed(
                Text("a seed grant needs its source", "vốn ban đầu cần ghi nguồn vốn"),
                errors=[{"loc": ["body", "source"], "msg": "a seed grant needs its source",
                         "type": "missing"}])
        if source.is_budget and body.decision_number is None:
            raise ValidationFailed(
                Text("a seed grant from a budget needs its decision_number",
                     "vốn ban đầu từ ngân sách cần số quyết định cấp vốn"),
                errors=[{"loc": ["body", "decision_number"],
                         "msg": "a seed grant from a budget needs its decision_number",
                         "type": "missing"}])
    if operation is CashOperation.DONATION and source is None:
        source = FundingSource.DONOR
    if operation is CashOperation.CONTRIBUTION:
        if source not in (None, FundingSource.MEMBERS):
            raise ValidationFailed(Text(
                "contributions come from members; use a seed grant or a donation for other"
                " sources",
                "vốn góp là của thành viên; nguồn khác hãy ghi là vốn cấp hoặc tài trợ"))
        source = FundingSource.MEMBERS
    return source


async def check_member(
    ctx: RequestContext, operation: CashOperation, club_id: uuid.UUID | None,
    member_id: uuid.UUID | None,
) -> None:
    """A contribution may name the member who paid: one of the fund's club."""
    if member_id is None:
        return
    if operation is not CashOperation.CONTRIBUTION:
        raise ValidationFailed(Text("member_id is for contributions only",
                                    "member_id chỉ dùng cho khoản góp vốn"))
    member = await clubs.get_member(ctx.connection, member_id)
    if member is None or club_id is None or member["club_id"] != club_id:
        raise UnknownMember(Text("member {member} is not a member of this fund's club",
                                 "{member} không phải thành viên câu lạc bộ của quỹ này"),
                            member=member_id)


async def post_cash_operation(
    ctx: RequestContext, fund_id: uuid.UUID, operation: CashOperation, body: CashOperationCreate
) -> EntryRead:
    source = check_source(operation, body)
    fund = await open_fund_write(ctx, fund_id)
    await check_member(ctx, operation, fund.club_id, body.member_id)
    money_account = body.payment_method.account_code
    other_account = counter_account(operation, source)
    ids = await accounts.account_ids_by_code(ctx.connection, fund_id,
                                             [money_account, other_account])
    missing = sorted({money_account, other_account} - set(ids))
    if missing:
        raise UnknownAccount(Text("fund {fund} has no account {codes} (a club's fund has the"
                                  " default chart)",
                                  "quỹ {fund} không có tài khoản {codes} (quỹ của câu lạc"
                                  " bộ có hệ thống tài khoản mặc định)"),
                             fund=fund_id, codes=", ".join(missing))
    receipt = operation is not CashOperation.EXPENSE
    debit, credit = (money_account, other_account) if receipt else (other_account, money_account)
    currency = fund.currency
    metadata = {
        "operation": operation.value,
        **({"source": source.value} if source else {}),
        **({"decision_number": body.decision_number} if body.decision_number else {}),
        **({"counterparty": body.counterparty} if body.counterparty else {}),
        **({"member_id": str(body.member_id)} if body.member_id else {}),
        "payment_method": body.payment_method.value,
    }
    entry = build_entry(
        ctx.past_date(body.effective_date),
        body.description or default_description(operation, body),
        [Posting(str(ids[debit]), Side.DEBIT, body.amount, currency),
         Posting(str(ids[credit]), Side.CREDIT, body.amount, currency)],
        metadata,
    )
    kind = VoucherKind.RECEIPT if receipt else VoucherKind.PAYMENT
    return await post_entry(ctx, fund_id, entry, voucher_kind=kind)
