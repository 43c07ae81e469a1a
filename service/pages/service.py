"""What the pages show, gathered from the same domain services the API calls.

No rule is decided here: a write goes through the domain service (which refuses what
the rules refuse), a figure comes from the service that computes it for the API. This
module only reads typed form input, puts figures in the treasurer's words and formats
amounts (1.500.000 ₫) and dates (dd/mm/yyyy).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import asyncpg
from pydantic import ValidationError

from ledger import chart
from ledger.errors import LedgerError
from ledger.loan_lifecycle import LoanStatus
from service.accounts.service import list_accounts
from service.clubs.schemas import ClubRead, MemberRead
from service.clubs.service import get_club, list_members
from service.context import RequestContext
from service.errors import ClubfundError, ValidationFailed, problem_for
from service.language import Language
from service.loans.schemas import LoanRead
from service.loans.service import get_schedule, list_loans
from service.pages.words import REFUSALS, WORDS

T = TypeVar("T")
LIST_PAGE_SIZE = 200
LIST_PAGES_MAX = 50  # a club's members or loans: at most 10 000 shown
AMOUNT_DIGITS_MAX = 15
INPUT_LENGTH_MAX = 500


def word(language: Language, key: str, **values: Any) -> str:
    vi, en = WORDS[key]
    return (vi if language == "vi" else en).format(**values)


def money(amount: int | None) -> str:
    """1.500.000 ₫"""
    value = amount or 0
    sign = "-" if value < 0 else ""
    return f"{sign}{abs(value):,}".replace(",", ".") + " ₫"


def day_text(day: date | None) -> str:
    """dd/mm/yyyy"""
    return day.strftime("%d/%m/%Y") if day else ""


class FieldError(Exception):
    """A typed value the page cannot read: the field and what to say next to it."""

    def __init__(self, field_name: str, word_key: str) -> None:
        super().__init__(field_name)
        self.field_name = field_name
        self.word_key = word_key


@dataclass
class FormProblems:
    """What went wrong with a form: messages next to fields, and one for the whole form."""

    fields: dict[str, str] = field(default_factory=dict)
    general: str | None = None

    def __bool__(self) -> bool:
        return bool(self.fields) or self.general is not None


def typed(form: dict[str, str], name: str) -> str:
    return form.get(name, "").strip()[:INPUT_LENGTH_MAX]


def amount_of(form: dict[str, str], name: str) -> int:
    """An amount typed as 1.500.000, 1 500 000 or 1500000 (đồng)."""
    text = re.sub(r"[\s.,₫đ]", "", typed(form, name))
    if not text:
        raise FieldError(name, "required")
    if not text.isdigit() or len(text) > AMOUNT_DIGITS_MAX:
        raise FieldError(name, "amount_format")
    if int(text) <= 0:
        raise FieldError(name, "amount_positive")
    return int(text)


def whole_number_of(form: dict[str, str], name: str) -> int:
    text = typed(form, name)
    if not text:
        raise FieldError(name, "required")
    if not text.isdigit() or len(text) > 9:
        raise FieldError(name, "number_format")
    return int(text)


def rate_of(form: dict[str, str], name: str) -> str:
    """A monthly rate typed in percent (0,5 or 0.5) as the API's decimal string (0.005)."""
    text = typed(form, name).replace(",", ".")
    if not text:
        raise FieldError(name, "required")
    try:
        percent = Decimal(text)
    except InvalidOperation as error:
        raise FieldError(name, "rate_format") from error
    if not percent.is_finite() or percent < 0 or percent > 100:
        raise FieldError(name, "rate_format")
    return str(percent / 100)


DAY_PATTERN = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")


def date_of(form: dict[str, str], name: str) -> str | None:
    """A date typed as dd/mm/yyyy (or 5/3/2026, 05.03.2026) as the API's yyyy-mm-dd;
    None when left empty."""
    text = typed(form, name)
    if not text:
        return None
    found = DAY_PATTERN.fullmatch(text)
    if found is None:
        raise FieldError(name, "date_format")
    day, month, year = (int(part) for part in found.groups())
    try:
        return date(year, month, day).isoformat()
    except ValueError as error:
        raise FieldError(name, "date_format") from error


def optional(form: dict[str, str], name: str) -> str | None:
    return typed(form, name) or None


VALIDATION_WORDS = {"missing": "required", "int_parsing": "number_format",
                    "greater_than": "amount_positive", "less_than_equal": "year_range",
                    "greater_than_equal": "year_range"}


# A refused date, said next to the form's date field too (by the problem's stable code).
DATE_REFUSALS = {"period_closed": "closed_month_date", "future_date": "future_date_field"}


def problems_of(error: Exception, language: Language,
                date_field: str = "effective_date") -> FormProblems:
    """A refused input or rule, in words next to the field it is about (when known; a
    refused date next to `date_field`)."""
    if isinstance(error, FieldError):
        return FormProblems(fields={error.field_name: word(language, error.word_key)})
    if isinstance(error, ValidationError):
        found = FormProblems()
        for detail in error.errors():
            name = str(detail["loc"][0]) if detail["loc"] else ""
            key = VALIDATION_WORDS.get(detail["type"], "invalid_value")
            found.fields.setdefault(name, word(language, key))
        return found
    problem = json.loads(bytes(problem_for(error, language).body))
    code = problem.get("code", "")
    if code in REFUSALS:
        vi, en = REFUSALS[code]
        refused = FormProblems(general=vi if language == "vi" else en)
        if code in DATE_REFUSALS:
            refused.fields[date_field] = word(language, DATE_REFUSALS[code])
        return refused
    found = FormProblems(general=problem.get("detail") or problem.get("title"))
    if isinstance(error, ValidationFailed):
        for item in error.errors or ():
            name = str(item.get("loc", [""])[-1])
            key = VALIDATION_WORDS.get(str(item.get("type")), "invalid_value")
            found.fields.setdefault(name, found.general or word(language, key))
    return found


REFUSED_ERRORS = (ClubfundError, LedgerError, ValidationError, FieldError,
                  asyncpg.PostgresError)


async def attempt(ctx: RequestContext, write: Callable[[], Awaitable[T]]) -> T | Exception:
    """Run a domain write in a savepoint: on a refusal the savepoint is rolled back and
    the refusal returned, so the page can still read what it shows next to it (the
    request's transaction is rolled back anyway: a form with a problem answers 422)."""
    try:
        async with ctx.connection.transaction():
            return await write()
    except REFUSED_ERRORS as error:
        return error


async def every(fetch: Callable[[str | None], Awaitable[Any]]) -> list[Any]:
    """All items of a paged list service (up to LIST_PAGES_MAX pages)."""
    items: list[Any] = []
    cursor: str | None = None
    for _ in range(LIST_PAGES_MAX):
        page = await fetch(cursor)
        items.extend(page.items)
        cursor = page.next_cursor
        if cursor is None:
            break
    return items


async def club_members(ctx: RequestContext, club_id: uuid.UUID) -> list[MemberRead]:
    members: list[MemberRead] = await every(
        lambda cursor: list_members(ctx, club_id, LIST_PAGE_SIZE, cursor))
    return sorted(members, key=lambda m: m.name)


async def club_loans(
    ctx: RequestContext, club: ClubRead, status: LoanStatus | None = None
) -> list[LoanRead]:
    loans: list[LoanRead] = await every(
        lambda cursor: list_loans(ctx, club.fund_id, status, None, LIST_PAGE_SIZE, cursor))
    return loans


@dataclass(frozen=True)
class DueLine:
    loan: LoanRead
    member_name: str
    amount: int
    due_on: date | None
    days_overdue: int


@dataclass(frozen=True)
class ClubOverview:
    club: ClubRead
    cash: int
    bank: int
    loans_outstanding: int
    loans_count: int
    due: list[DueLine]
    waiting: list[LoanRead]


async def due_line(ctx: RequestContext, loan: LoanRead, name: str, today: date) -> DueLine | None:
    """What the borrower owes up to today (overdue or due today), or else the instalment
    falling due later this month, unpaid; None when nothing is due this month."""
    if loan.amount_due:
        return DueLine(loan, name, loan.amount_due, None, loan.days_overdue)
    schedule = await get_schedule(ctx, loan.id)
    for row in schedule.installments:
        owed = row.total - row.principal_paid - row.interest_paid
        same_month = (row.due_date.year, row.due_date.month) == (today.year, today.month)
        if same_month and row.due_date >= today and owed > 0:
            return DueLine(loan, name, owed, row.due_date, 0)
    return None


async def club_overview(ctx: RequestContext, club_id: uuid.UUID) -> ClubOverview:
    club = await get_club(ctx, club_id)
    accounts = await every(lambda cursor: list_accounts(ctx, club.fund_id, LIST_PAGE_SIZE,
                                                        cursor))
    balance = {a.code: a.balance for a in accounts}
    names = {m.id: m.name for m in await club_members(ctx, club_id)}
    lent = await club_loans(ctx, club, LoanStatus.DISBURSED)
    today = ctx.business_date
    due = [line for loan in lent
           if (line := await due_line(ctx, loan, names.get(loan.member_id, "?"), today))]
    due.sort(key=lambda line: (-line.days_overdue, line.due_on or today))
    waiting = [loan for loan in await club_loans(ctx, club)
               if loan.status in (LoanStatus.APPLIED, LoanStatus.APPROVED)]
    return ClubOverview(
        club=club, cash=balance.get(chart.CASH, 0), bank=balance.get(chart.BANK, 0),
        loans_outstanding=sum(loan.outstanding_principal for loan in lent),
        loans_count=len(lent), due=due, waiting=waiting,
    )
