"""A member's passbook: her contributions, her loans paid out and her repayments in
date order, with the running total of her contributions and the principal she owes.
JSON, or a file (CSV or XLSX, `service.reports.exports`)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any, Final

from service.clubs import repository
from service.clubs.schemas import MemberRead, PassbookLineRead, PassbookRead
from service.clubs.service import get_club
from service.context import RequestContext
from service.errors import ExportTooLarge, NotFound
from service.language import Text
from service.loans import repository as loans
from service.reports.exports import Cell, DownloadName, Table
from service.reports.labels import Language, columns, label
from service.reports.titles import fund_title

PASSBOOK_LINES_MAX: Final = 10_000
PASSBOOK_COLUMNS: Final = [
    "effective_date", "operation", "loan_number", "contribution", "disbursed", "principal",
    "interest", "penalty", "contributions_total", "outstanding_principal",
]
OPERATION_LABELS: Final = {"contribution": "contribution", "disbursement": "disbursed",
                           "repayment": "repayment"}
# Same date: contributions, then disbursements, then repayments (then recording order).
OPERATION_ORDER: Final = {"contribution": 0, "disbursement": 1, "repayment": 2}


async def passbook(
    ctx: RequestContext, club_id: uuid.UUID, member_id: uuid.UUID, language: Language
) -> PassbookRead:
    club = await get_club(ctx, club_id)
    member = await repository.get_member(ctx.connection, member_id)
    if member is None or member["club_id"] != club_id or club.fund_id is None:
        raise NotFound("member", member_id)
    fund_id = club.fund_id
    moves: list[tuple[date, int, int, dict[str, Any]]] = []
    contributions = await repository.member_contributions(
        ctx.connection, fund_id, member_id, PASSBOOK_LINES_MAX + 1)
    for c in contributions:
        moves.append((c["effective_date"], 0, c["sequence"], {
            "operation": "contribution", "entry_id": c["entry_id"], "contribution": c["amount"]}))
    loan_rows = await loans.loans_of_member(ctx.connection, fund_id, member_id)
    numbers = {r["id"]: r["number"] for r in loan_rows}
    for r in loan_rows:
        if r["disbursed_on"] is not None:
            moves.append((r["disbursed_on"], 1, r["number"], {
                "operation": "disbursement", "loan_id": r["id"], "disbursed": r["principal"]}))
    for b in await loans.repayment_bookings(ctx.connection, fund_id, list(numbers)):
        moves.append((b["effective_date"], 2, b["sequence"], {
            "operation": "repayment", "loan_id": b["loan_id"], "entry_id": b["entry_id"],
            "principal": b["principal"], "interest": b["interest"], "penalty": b["penalty"]}))
    if len(moves) > PASSBOOK_LINES_MAX:
        raise ExportTooLarge(Text("the passbook has more than {count} lines",
                                  "sổ thành viên có hơn {count} dòng"),
                             count=PASSBOOK_LINES_MAX)
    moves.sort(key=lambda m: (m[0], m[1], m[2]))
    contributed = owed = 0
    items = []
    for day, _, _, move in moves:
        line = {"contribution": 0, "disbursed": 0, "principal": 0, "interest": 0,
                "penalty": 0, "loan_id": None, "entry_id": None, **move}
        contributed += line["contribution"]
        owed += line["disbursed"] - line["principal"]
        items.append(PassbookLineRead(
            **line, effective_date=day, loan_number=numbers.get(line["loan_id"]),
            contributions_total=contributed, outstanding_principal=owed,
        ))
    return PassbookRead(
        member=MemberRead(**dict(member)), fund_id=fund_id, items=items,
        contributions_total=contributed, outstanding_principal=owed,
        columns=columns(PASSBOOK_COLUMNS, language),
    )


async def passbook_table(
    ctx: RequestContext, book: PassbookRead, language: Language
) -> tuple[Table, DownloadName]:
    rows: list[list[Cell]] = [
        [i.effective_date, label(OPERATION_LABELS[i.operation], language), i.loan_number,
         i.contribution, i.disbursed, i.principal, i.interest, i.penalty,
         i.contributions_total, i.outstanding_principal]
        for i in book.items
    ]
    end = book.items[-1].effective_date if book.items else ctx.business_date
    start = book.items[0].effective_date if book.items else None
    block, owner = await fund_title(
        ctx, book.fund_id, label("member_passbook", language).format(member=book.member.name),
        language, end, start)
    table = Table(title=label("passbook", language),
                  headers=[label(c, language) for c in PASSBOOK_COLUMNS], rows=rows,
                  title_block=block)
    return table, DownloadName("so-thanh-vien", f"{owner} {book.member.name}",
                               end.isoformat())
