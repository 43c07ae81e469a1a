"""A loan's schedule as a file (CSV or XLSX, `service.reports.exports`): each
instalment, what was paid on it and what remains, and a totals row."""

from __future__ import annotations

from typing import Final

from service.context import RequestContext
from service.errors import NotFound
from service.loans import repository
from service.loans.schemas import ScheduleRead
from service.reports.exports import Cell, DownloadName, Table, column_indices
from service.reports.labels import Language, label
from service.reports.titles import fund_title

SCHEDULE_COLUMNS: Final = [
    "installment_number", "due_date", "principal", "interest", "total", "principal_paid",
    "interest_paid", "remaining",
]


async def schedule_table(
    ctx: RequestContext, schedule: ScheduleRead, language: Language
) -> tuple[Table, DownloadName]:
    record = await repository.get_loan(ctx.connection, schedule.loan_id)
    if record is None:
        raise NotFound("loan", schedule.loan_id)
    borrower = await repository.member_name(ctx.connection, record["member_id"]) or ""
    rows: list[list[Cell]] = [
        [i.number, i.due_date, i.principal, i.interest, i.total, i.principal_paid,
         i.interest_paid, i.total - i.principal_paid - i.interest_paid]
        for i in schedule.installments
    ]
    principal_paid = sum(i.principal_paid for i in schedule.installments) + (
        schedule.principal_prepaid)
    interest_paid = sum(i.interest_paid for i in schedule.installments)
    total = schedule.total_principal + schedule.total_interest
    rows.append([None, label("total", language), schedule.total_principal,
                 schedule.total_interest, total, principal_paid, interest_paid,
                 total - principal_paid - interest_paid])
    subject = label("loan_schedule", language).format(number=record["number"], member=borrower)
    block, owner = await fund_title(ctx, record["fund_id"], subject, language,
                                    ctx.business_date)
    table = Table(
        title=label("schedule", language),
        headers=[label(c, language) for c in SCHEDULE_COLUMNS], rows=rows, title_block=block,
        identifier_columns=column_indices(SCHEDULE_COLUMNS, {"installment_number"}),
    )
    return table, DownloadName("lich-tra-no", owner, f"khoan-vay-{record['number']}")
