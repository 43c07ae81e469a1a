"""A club's existing books, brought in: the template's sheets and columns, and every
rule a row must keep, checked before anything is written.

The template (docs/import.md) has four sheets with Vietnamese headers:

    ThanhVien   members                       Mã thành viên, Họ và tên, Giới tính, ...
    SoDuDauKy   balances at the cut-over date Ngày chuyển sổ, Mã tài khoản, Số tiền
    KhoanVay    loans in progress, terms      Mã khoản vay, Mã thành viên, Số tiền vay, ...
    TraNo       repayments made so far        Mã khoản vay, Ngày trả, Số tiền, Hình thức

The books start on the cut-over date: its balances (cash, bank, capital by source) are
the balance sheet at the start of that day, and every loan in progress was paid out
before it. A loan's history before the cut-over (its disbursement and repayments) is
kept in the loan register; what the loan still owed at the start of the cut-over day is
in the opening entry (Dr 131.NNNN), and each repayment on or after the cut-over is a
receipt in the journal, allocated by the same replay as the API's (penalties, interest,
principal, in date order). The opening entry balances: cash + bank + what the loans
still owed = the capital sources.

`check_books` reads the rows (cells as a spreadsheet or a CSV file gives them) and
returns the checked books, or raises `BooksRefused` with every problem found (up to
`PROBLEMS_COUNT_MAX`), each naming its sheet, row and column in Vietnamese and English.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, Final, TypeVar

from ledger import chart
from ledger.dates import DATE_MAX, DATE_MIN
from ledger.entries import POSTINGS_COUNT_MAX, Posting
from ledger.errors import LedgerError, UnbalancedEntry
from ledger.input_limits import FORBIDDEN_CHARACTERS
from ledger.loan_lifecycle import paid_off_on
from ledger.loan_terms import LoanTermsOutOfBounds, TermRule, check_term_bounds
from ledger.loans import (
    Allocation,
    Frequency,
    InterestMethod,
    LoanTerms,
    RecordedRepayment,
    Schedule,
    outstanding_principal,
    replay_repayments,
)

PROBLEMS_COUNT_MAX: Final = 50
ROWS_COUNT_MAX: Final = 2_000_000  # per sheet
LOANS_COUNT_MAX: Final = 20_000
CODE_LENGTH_MAX: Final = 40
NAME_LENGTH_MAX: Final = 200
PURPOSE_LENGTH_MAX: Final = 500
INSTALLMENTS_MAX: Final = 360
AMOUNT_MAX: Final = 10**15
# Debit lines per opening entry: the credits that balance them fit in the rest.
OPENING_DEBITS_PER_ENTRY: Final = POSTINGS_COUNT_MAX - 2 * len(chart.CAPITAL_ACCOUNT_BY_SOURCE)

Word = TypeVar("Word")


class Sheet(StrEnum):
    MEMBERS = "ThanhVien"
    OPENING = "SoDuDauKy"
    LOANS = "KhoanVay"
    REPAYMENTS = "TraNo"


@dataclass(frozen=True, slots=True)
class Column:
    header: str  # Vietnamese, as in the template
    english: str
    required: bool = True


# Columns of each sheet, in the template's order.
MEMBER_CODE: Final = Column("Mã thành viên", "member code")
MEMBER_NAME: Final = Column("Họ và tên", "full name")
GENDER: Final = Column("Giới tính", "gender")
BIRTH_YEAR: Final = Column("Năm sinh", "birth year")
JOINED_ON: Final = Column("Ngày vào CLB", "joined on", required=False)
CUT_OVER_DATE: Final = Column("Ngày chuyển sổ", "cut-over date")
ACCOUNT_CODE: Final = Column("Mã tài khoản", "account code")
AMOUNT: Final = Column("Số tiền", "amount")
LOAN_CODE: Final = Column("Mã khoản vay", "loan code")
PRINCIPAL: Final = Column("Số tiền vay", "principal")
INSTALLMENTS: Final = Column("Số kỳ trả", "instalments")
FREQUENCY: Final = Column("Kỳ hạn trả", "frequency")
INTEREST_METHOD: Final = Column("Cách tính lãi", "interest method")
RATE_PERCENT: Final = Column("Lãi suất mỗi kỳ (%)", "rate per period (%)")
PENALTY_PERCENT: Final = Column("Lãi phạt mỗi ngày (%)", "penalty per day (%)", required=False)
DISBURSED_ON: Final = Column("Ngày giải ngân", "disbursed on")
FIRST_DUE_DATE: Final = Column("Ngày trả kỳ đầu", "first due date")
ROUNDING_UNIT: Final = Column("Làm tròn đến", "rounding unit", required=False)
PURPOSE: Final = Column("Mục đích", "purpose", required=False)
PAID_ON: Final = Column("Ngày trả", "paid on")
PAYMENT_METHOD: Final = Column("Hình thức", "payment method", required=False)

COLUMNS: Final[dict[Sheet, tuple[Column, ...]]] = {
    Sheet.MEMBERS: (MEMBER_CODE, MEMBER_NAME, GENDER, BIRTH_YEAR, JOINED_ON),
    Sheet.OPENING: (CUT_OVER_DATE, ACCOUNT_CODE, AMOUNT),
    Sheet.LOANS: (LOAN_CODE, MEMBER_CODE, PRINCIPAL, INSTALLMENTS, FREQUENCY, INTEREST_METHOD,
                  RATE_PERCENT, PENALTY_PERCENT, DISBURSED_ON, FIRST_DUE_DATE, ROUNDING_UNIT,
                  PURPOSE),
    Sheet.REPAYMENTS: (LOAN_CODE, PAID_ON, AMOUNT, PAYMENT_METHOD),
}

# The accounts an opening balance may be given for: money (debit) and capital (credit).
OPENING_MONEY_ACCOUNTS: Final = (chart.CASH, chart.BANK)
OPENING_CAPITAL_ACCOUNTS: Final = (
    chart.CAPITAL_DISTRICT_BUDGET, chart.CAPITAL_COMMUNE_PROVINCE_BUDGET, chart.CAPITAL_DONORS,
    chart.CAPITAL_MEMBERS, chart.RETAINED_SURPLUS,
)

# Words a cell may hold, Vietnamese or English, lower-cased.
GENDER_WORDS: Final = {"nữ": "female", "nu": "female", "female": "female",
                       "nam": "male", "male": "male", "khác": "other", "other": "other"}
FREQUENCY_WORDS: Final = {
    "hàng tuần": Frequency.WEEKLY, "weekly": Frequency.WEEKLY,
    "2 tuần": Frequency.BIWEEKLY, "hai tuần": Frequency.BIWEEKLY,
    "biweekly": Frequency.BIWEEKLY,
    "hàng tháng": Frequency.MONTHLY, "monthly": Frequency.MONTHLY,
    "hàng quý": Frequency.QUARTERLY, "quarterly": Frequency.QUARTERLY,
}
METHOD_WORDS: Final = {
    "cố định": InterestMethod.FLAT, "flat": InterestMethod.FLAT,
    "dư nợ giảm dần": InterestMethod.DECLINING_BALANCE,
    "declining_balance": InterestMethod.DECLINING_BALANCE,
}
PAYMENT_WORDS: Final = {"tiền mặt": chart.PaymentMethod.CASH, "cash": chart.PaymentMethod.CASH,
                        "chuyển khoản": chart.PaymentMethod.BANK,
                        "bank": chart.PaymentMethod.BANK}

_DAY_MONTH_YEAR: Final = re.compile(r"^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})$")
_ISO_DAY: Final = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")
_WHOLE: Final = re.compile(r"^[0-9]{1,3}(?:([.,  ])[0-9]{3})?(?:\1[0-9]{3})*$|^[0-9]+$")


# --------------------------------------------------------------------------- problems


@dataclass(frozen=True, slots=True)
class Problem:
    """What is wrong, where: `row` is the spreadsheet's row number (the headers are row
    1), None for the sheet as a whole; `column` the Vietnamese header, None for the row."""

    sheet: Sheet
    row: int | None
    column: Column | None
    detail: str
    detail_vi: str

    def where(self) -> str:
        parts = [f"sheet {self.sheet.value}"]
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column “{self.column.header}” ({self.column.english})")
        return ", ".join(parts)

    def where_vi(self) -> str:
        parts = [f"trang {self.sheet.value}"]
        if self.row is not None:
            parts.append(f"dòng {self.row}")
        if self.column is not None:
            parts.append(f"cột “{self.column.header}”")
        return ", ".join(parts)

    def line(self) -> str:
        """One line naming the place, in Vietnamese then English."""
        return f"{self.where_vi()}: {self.detail_vi} | {self.where()}: {self.detail}"


class BooksRefused(LedgerError):
    """The books were not brought in: nothing was written. `problems` lists every
    problem found, up to PROBLEMS_COUNT_MAX (`more` tells whether there were more)."""

    code = "books_refused"

    def __init__(self, problems: Sequence[Problem], more: bool = False) -> None:
        count = f"{len(problems)}{'+' if more else ''}"
        super().__init__(f"the books were not imported: {count} problems, nothing written",
                         f"chưa nhập sổ: có {count} lỗi, chưa ghi gì")
        self.problems = tuple(problems)
        self.more = more


class FundNotEmpty(LedgerError):
    """Books are brought into an empty club fund only."""

    code = "fund_not_empty"


def check_fund_empty(entries_count: int, members_count: int, loans_count: int) -> None:
    if entries_count or members_count or loans_count:
        raise FundNotEmpty(
            f"the fund already holds {entries_count} entries, {members_count} members and"
            f" {loans_count} loans: books are imported into an empty club fund only",
            f"quỹ đã có {entries_count} bút toán, {members_count} thành viên và {loans_count}"
            " khoản vay: chỉ nhập sổ vào quỹ câu lạc bộ còn trống",
        )


class _Problems:
    """Collects problems up to the limit."""

    def __init__(self) -> None:
        self.found: list[Problem] = []
        self.more = False

    def add(self, sheet: Sheet, row: int | None, column: Column | None, detail: str,
            detail_vi: str) -> None:
        if len(self.found) >= PROBLEMS_COUNT_MAX:
            self.more = True
            return
        self.found.append(Problem(sheet, row, column, detail, detail_vi))


class _CellError(Exception):
    def __init__(self, detail: str, detail_vi: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_vi = detail_vi


# --------------------------------------------------------------------------- rows


@dataclass(frozen=True, slots=True)
class SheetRows:
    """One sheet as read: its headers (row 1) and its rows of cells by header, each with
    its row number. A cell is what the file holds: text, a number, a date or None."""

    sheet: Sheet
    headers: tuple[str, ...]
    rows: tuple[tuple[int, Mapping[str, object]], ...]


@dataclass(frozen=True, slots=True)
class ImportedMember:
    code: str
    name: str
    gender: str
    birth_year: int
    joined_on: date | None


@dataclass(frozen=True, slots=True)
class ImportedRepayment:
    """A repayment, allocated. `key` is its loan event's sequence (4, 5, ... in date
    order: 1 applied, 2 approved, 3 disbursed); `in_journal` when dated on or after the
    cut-over (a receipt is posted for it); `closes` when it paid the loan off."""

    key: int
    on_date: date
    amount: int
    method: chart.PaymentMethod
    allocation: Allocation
    in_journal: bool
    closes: bool


@dataclass(frozen=True, slots=True)
class ImportedLoan:
    number: int
    code: str
    member_code: str
    terms: LoanTerms
    schedule: Schedule
    purpose: str | None
    repayments: tuple[ImportedRepayment, ...]
    owed_at_cut_over: int  # outstanding principal at the start of the cut-over day
    outstanding: int  # after every repayment
    closed_on: date | None


@dataclass(frozen=True, slots=True)
class Books:
    """Checked books, ready to be written."""

    cut_over: date
    members: tuple[ImportedMember, ...]
    opening: tuple[tuple[str, int], ...]  # (account code, amount) in the template's order
    loans: tuple[ImportedLoan, ...]
    journal_repayments: tuple[tuple[int, int], ...] = field(default=())
    # (loan index, repayment index) of every repayment in the journal, in date order



# --------------------------------------------------------------------------- cells


def _text(value: object) -> str | None:
    """A cell as stripped text; None when empty."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if not text:
        return None
    if FORBIDDEN_CHARACTERS.search(text):
        raise _CellError("holds a control character", "có ký tự điều khiển")
    return text


def _required_text(value: object, length_max: int) -> str:
    text = _text(value)
    if text is None:
        raise _CellError("is empty", "đang để trống")
    if len(text) > length_max:
        raise _CellError(f"is longer than {length_max} characters",
                         f"dài quá {length_max} ký tự")
    return text


def _whole(value: object, minimum: int, maximum: int) -> int:
    """A whole number: a number cell, or text such as 1500000, 1.500.000 or 1,500,000."""
    if isinstance(value, bool):
        raise _CellError("is not a whole number", "không phải số nguyên")
    if isinstance(value, float):
        if not value.is_integer():
            raise _CellError(f"{value} is not a whole number", f"{value} không phải số nguyên")
        value = int(value)
    if isinstance(value, int):
        number = value
    else:
        text = _text(value)
        if text is None:
            raise _CellError("is empty", "đang để trống")
        match = _WHOLE.match(text)
        if match is None:
            raise _CellError(f"{text!r} is not a whole number",
                             f"{text!r} không phải số nguyên")
        number = int(re.sub(r"[^0-9]", "", text))
    if not minimum <= number <= maximum:
        raise _CellError(f"{number} is outside {minimum}..{maximum}",
                         f"{number} nằm ngoài khoảng {minimum}..{maximum}")
    return number


def _percent(value: object) -> Decimal:
    """A percentage (0,8 or 0.8 or 0.8%) as a fraction: Decimal("0.008")."""
    if isinstance(value, bool):
        raise _CellError("is not a number", "không phải số")
    if isinstance(value, int | float):
        text = repr(value) if isinstance(value, float) else str(value)
    else:
        given = _text(value)
        if given is None:
            raise _CellError("is empty", "đang để trống")
        text = given.rstrip("%").strip().replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _CellError(f"{text!r} is not a percentage", f"{text!r} không phải tỷ lệ phần trăm"
                         ) from None
    if not number.is_finite() or number < 0 or number > 100:
        raise _CellError(f"{text} is outside 0..100 %", f"{text} nằm ngoài 0..100 %")
    return number / 100


def _day(value: object, today: date) -> date:
    """A date: a date cell, or text dd/mm/yyyy or yyyy-mm-dd; within the bounds and not
    after today."""
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise _CellError("holds a time of day, not a date", "có giờ, không phải ngày")
        day = value.date()
    elif isinstance(value, date):
        day = value
    else:
        text = _text(value)
        if text is None:
            raise _CellError("is empty", "đang để trống")
        match = _DAY_MONTH_YEAR.match(text)
        parts = (match.group(3), match.group(2), match.group(1)) if match else None
        if parts is None and (iso := _ISO_DAY.match(text)):
            parts = (iso.group(1), iso.group(2), iso.group(3))
        if parts is None:
            raise _CellError(f"{text!r} is not a date (dd/mm/yyyy)",
                             f"{text!r} không phải ngày (dd/mm/yyyy)")
        try:
            day = date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError:
            raise _CellError(f"{text!r} is not a day of the calendar",
                             f"{text!r} không phải một ngày có thật") from None
    if not DATE_MIN <= day <= DATE_MAX:
        raise _CellError(f"{day.isoformat()} is outside {DATE_MIN}..{DATE_MAX}",
                         f"{day.isoformat()} nằm ngoài khoảng {DATE_MIN}..{DATE_MAX}")
    if day > today:
        raise _CellError(f"{day.isoformat()} is after today ({today.isoformat()})",
                         f"ngày {day:%d/%m/%Y} sau ngày hôm nay ({today:%d/%m/%Y})")
    return day


def _word(value: object, words: Mapping[str, Word], default: Word | None = None) -> Word:
    text = _text(value)
    if text is None:
        if default is not None:
            return default
        raise _CellError("is empty", "đang để trống")
    found = words.get(text.lower())
    if found is None:
        allowed = ", ".join(sorted(words))
        raise _CellError(f"{text!r} is not one of: {allowed}",
                         f"{text!r} không thuộc: {allowed}")
    return found


# --------------------------------------------------------------------------- checking


class _Reader:
    """Reads the cells of one sheet, noting each problem where it is."""

    def __init__(self, rows: SheetRows, problems: _Problems) -> None:
        self.sheet = rows.sheet
        self.rows = rows
        self.problems = problems
        self.row = 0

    def cell(self, cells: Mapping[str, object], column: Column, parse: Any,
             *args: object) -> Any:
        try:
            return parse(cells.get(column.header), *args)
        except _CellError as error:
            self.problems.add(self.sheet, self.row, column, error.detail, error.detail_vi)
            return None

    def problem(self, column: Column | None, detail: str, detail_vi: str) -> None:
        self.problems.add(self.sheet, self.row, column, detail, detail_vi)


def _check_headers(sheets: Mapping[Sheet, SheetRows], problems: _Problems) -> bool:
    complete = True
    for sheet, columns in COLUMNS.items():
        rows = sheets.get(sheet)
        if rows is None:
            problems.add(sheet, None, None, "the sheet is missing", "thiếu trang này")
            complete = False
            continue
        if len(rows.rows) > ROWS_COUNT_MAX:
            problems.add(sheet, None, None, f"more than {ROWS_COUNT_MAX} rows",
                         f"nhiều hơn {ROWS_COUNT_MAX} dòng")
            complete = False
        for column in columns:
            if column.required and column.header not in rows.headers:
                problems.add(sheet, 1, column, "the column is missing", "thiếu cột này")
                complete = False
    return complete


def _members(rows: SheetRows, today: date, problems: _Problems) -> list[ImportedMember]:
    read = _Reader(rows, problems)
    members: list[ImportedMember] = []
    seen: set[str] = set()
    for read.row, cells in rows.rows:
        code = read.cell(cells, MEMBER_CODE, _required_text, CODE_LENGTH_MAX)
        name = read.cell(cells, MEMBER_NAME, _required_text, NAME_LENGTH_MAX)
        gender = read.cell(cells, GENDER, _word, GENDER_WORDS)
        birth_year = read.cell(cells, BIRTH_YEAR, _whole, DATE_MIN.year, today.year)
        joined_on = None
        if _text(cells.get(JOINED_ON.header)) is not None:
            joined_on = read.cell(cells, JOINED_ON, _day, today)
        if code is not None and code in seen:
            read.problem(MEMBER_CODE, f"member code {code!r} appears twice",
                         f"mã thành viên {code!r} bị trùng")
            continue
        if code is not None:
            seen.add(code)
        if code is None or name is None or gender is None or birth_year is None:
            continue
        members.append(ImportedMember(code, name, gender, birth_year, joined_on))
    return members


def _opening(rows: SheetRows, today: date, problems: _Problems
             ) -> tuple[date | None, dict[str, int]]:
    read = _Reader(rows, problems)
    cut_over: date | None = None
    amounts: dict[str, int] = {}
    allowed = (*OPENING_MONEY_ACCOUNTS, *OPENING_CAPITAL_ACCOUNTS)
    for read.row, cells in rows.rows:
        day = read.cell(cells, CUT_OVER_DATE, _day, today)
        code = read.cell(cells, ACCOUNT_CODE, _required_text, CODE_LENGTH_MAX)
        amount = read.cell(cells, AMOUNT, _whole, 0, AMOUNT_MAX)
        if day is not None:
            if cut_over is None:
                cut_over = day
            elif day != cut_over:
                read.problem(CUT_OVER_DATE,
                             f"every row has one cut-over date: {cut_over:%d/%m/%Y}, not"
                             f" {day:%d/%m/%Y}",
                             f"mọi dòng cùng một ngày chuyển sổ: {cut_over:%d/%m/%Y}, không"
                             f" phải {day:%d/%m/%Y}")
        if code is None:
            continue
        if code not in allowed:
            read.problem(ACCOUNT_CODE, f"{code!r} is not one of {', '.join(allowed)}",
                         f"{code!r} không thuộc {', '.join(allowed)}")
        elif code in amounts:
            read.problem(ACCOUNT_CODE, f"account {code} appears twice",
                         f"tài khoản {code} bị trùng")
        elif amount is not None:
            amounts[code] = amount
    if not rows.rows:
        problems.add(Sheet.OPENING, None, None, "no row: the cut-over date is missing",
                     "chưa có dòng nào: thiếu ngày chuyển sổ")
    return cut_over, amounts


@dataclass(frozen=True, slots=True)
class _LoanRow:
    row: int
    code: str
    member_code: str
    terms: LoanTerms
    purpose: str | None


# The bounds' wording in Vietnamese, filled from the error's values.
TERM_RULES_VI: Final = {
    TermRule.ANNUAL_RATE_MAX:
        "lãi suất năm {annual_rate_percent} % (lãi suất mỗi kỳ × {periods_per_year} kỳ một"
        " năm) vượt {limit_percent} % (Bộ luật Dân sự điều 468)",
    TermRule.PENALTY_RATE_MAX:
        "lãi phạt {penalty_percent} % một năm vượt 150 % lãi suất năm"
        " {annual_rate_percent} %, tức {limit_percent} % (Bộ luật Dân sự điều 466)",
    TermRule.PRINCIPAL_MIN:
        "số tiền vay {principal} nhỏ hơn một đơn vị làm tròn ({rounding_unit}) mỗi kỳ"
        " ({installments} kỳ): ít nhất {principal_min}",
    TermRule.ROUNDING_UNIT_MAX:
        "đơn vị làm tròn {rounding_unit} lớn hơn kỳ trả {installment} ({installment_total})",
}
TERM_COLUMNS: Final = {
    "rate_per_period": RATE_PERCENT, "penalty_rate_per_day": PENALTY_PERCENT,
    "principal": PRINCIPAL, "rounding_unit": ROUNDING_UNIT, "installments": INSTALLMENTS,
    "first_due_date": FIRST_DUE_DATE, "disbursed_on": DISBURSED_ON,
}


def _loans(rows: SheetRows, today: date, cut_over: date | None, member_codes: set[str],
           problems: _Problems) -> list[_LoanRow]:
    read = _Reader(rows, problems)
    loans: list[_LoanRow] = []
    seen: set[str] = set()
    if len(rows.rows) > LOANS_COUNT_MAX:
        problems.add(Sheet.LOANS, None, None, f"more than {LOANS_COUNT_MAX} loans",
                     f"nhiều hơn {LOANS_COUNT_MAX} khoản vay")
        return loans
    for read.row, cells in rows.rows:
        code = read.cell(cells, LOAN_CODE, _required_text, CODE_LENGTH_MAX)
        member = read.cell(cells, MEMBER_CODE, _required_text, CODE_LENGTH_MAX)
        principal = read.cell(cells, PRINCIPAL, _whole, 1, AMOUNT_MAX)
        installments = read.cell(cells, INSTALLMENTS, _whole, 1, INSTALLMENTS_MAX)
        frequency = read.cell(cells, FREQUENCY, _word, FREQUENCY_WORDS)
        method = read.cell(cells, INTEREST_METHOD, _word, METHOD_WORDS)
        rate = read.cell(cells, RATE_PERCENT, _percent)
        penalty: Decimal | None = Decimal(0)
        if _text(cells.get(PENALTY_PERCENT.header)) is not None:
            penalty = read.cell(cells, PENALTY_PERCENT, _percent)
        disbursed_on = read.cell(cells, DISBURSED_ON, _day, today)
        first_due = read.cell(cells, FIRST_DUE_DATE, _day, DATE_MAX)
        unit: int | None = 1
        if _text(cells.get(ROUNDING_UNIT.header)) is not None:
            unit = read.cell(cells, ROUNDING_UNIT, _whole, 1, AMOUNT_MAX)
        purpose = None
        if _text(cells.get(PURPOSE.header)) is not None:
            purpose = read.cell(cells, PURPOSE, _required_text, PURPOSE_LENGTH_MAX)
        if code is not None:
            if code in seen:
                read.problem(LOAN_CODE, f"loan code {code!r} appears twice",
                             f"mã khoản vay {code!r} bị trùng")
                continue
            seen.add(code)
        if member is not None and member not in member_codes:
            read.problem(MEMBER_CODE, f"no member {member!r} in sheet {Sheet.MEMBERS.value}",
                         f"không có thành viên {member!r} trong trang {Sheet.MEMBERS.value}")
            continue
        if (code is None or member is None or principal is None or installments is None
                or frequency is None or method is None or rate is None or penalty is None
                or disbursed_on is None or first_due is None or unit is None):
            continue
        if cut_over is not None and disbursed_on >= cut_over:
            read.problem(DISBURSED_ON,
                         f"a loan in progress was paid out before the cut-over date"
                         f" {cut_over:%d/%m/%Y}, not on {disbursed_on:%d/%m/%Y} (record a"
                         " later loan in the service)",
                         f"khoản vay đang còn phải giải ngân trước ngày chuyển sổ"
                         f" {cut_over:%d/%m/%Y}, không phải ngày {disbursed_on:%d/%m/%Y}"
                         " (khoản vay sau đó ghi trực tiếp trong phần mềm)")
            continue
        terms = LoanTerms(principal=principal, installments=installments, frequency=frequency,
                          interest_method=method, rate_per_period=rate,
                          first_due_date=first_due, disbursed_on=disbursed_on,
                          rounding_unit=unit, penalty_rate_per_day=penalty)
        try:
            check_term_bounds(terms)
        except LoanTermsOutOfBounds as error:
            read.problem(TERM_COLUMNS.get(error.field), error.detail,
                         TERM_RULES_VI[error.rule].format(**error.values))
            continue
        except LedgerError as error:
            read.problem(FIRST_DUE_DATE if "due" in error.detail else None, error.detail,
                         error.detail_vi or error.detail)
            continue
        loans.append(_LoanRow(read.row, code, member, terms, purpose))
    return loans


@dataclass(frozen=True, slots=True)
class _RepaymentRow:
    row: int
    on_date: date
    amount: int
    method: chart.PaymentMethod


def _repayments(rows: SheetRows, today: date, loans: Mapping[str, _LoanRow],
                loan_codes: set[str], problems: _Problems) -> dict[str, list[_RepaymentRow]]:
    read = _Reader(rows, problems)
    found: dict[str, list[_RepaymentRow]] = {code: [] for code in loans}
    for read.row, cells in rows.rows:
        code = read.cell(cells, LOAN_CODE, _required_text, CODE_LENGTH_MAX)
        day = read.cell(cells, PAID_ON, _day, today)
        amount = read.cell(cells, AMOUNT, _whole, 1, AMOUNT_MAX)
        method = read.cell(cells, PAYMENT_METHOD, _word, PAYMENT_WORDS,
                           chart.PaymentMethod.CASH)
        if code is not None and code not in loan_codes:
            read.problem(LOAN_CODE, f"no loan {code!r} in sheet {Sheet.LOANS.value}",
                         f"không có khoản vay {code!r} trong trang {Sheet.LOANS.value}")
            continue
        if code is None or code not in loans or day is None or amount is None or method is None:
            continue
        disbursed_on = loans[code].terms.disbursed_on
        assert disbursed_on is not None
        if day < disbursed_on:
            read.problem(PAID_ON, f"paid on {day:%d/%m/%Y}, before the loan was paid out on"
                                  f" {disbursed_on:%d/%m/%Y}",
                         f"trả ngày {day:%d/%m/%Y}, trước ngày giải ngân"
                         f" {disbursed_on:%d/%m/%Y}")
            continue
        found[code].append(_RepaymentRow(read.row, day, amount, method))
    return found


def _allocate(loan: _LoanRow, number: int, paid: list[_RepaymentRow], cut_over: date,
              problems: _Problems) -> ImportedLoan | None:
    """The loan's repayments allocated by the core's replay, in date order (file order
    within a day); a repayment above what was owed on its day is named."""
    schedule = check_term_bounds(loan.terms)
    rate = loan.terms.penalty_rate_per_day
    ordered = sorted(paid, key=lambda r: (r.on_date, r.row))
    recorded = [RecordedRepayment(key, r.on_date, r.amount)
                for key, r in enumerate(ordered, start=4)]
    try:
        allocations, state = replay_repayments(schedule, recorded, rate)
    except LedgerError:
        for count in range(1, len(recorded) + 1):  # the first repayment the replay refuses
            try:
                replay_repayments(schedule, recorded[:count], rate)
            except LedgerError as error:
                row = ordered[count - 1]
                problems.add(Sheet.REPAYMENTS, row.row, AMOUNT,
                             f"loan {loan.code}: {error.detail}",
                             f"khoản vay {loan.code}: {error.detail_vi or error.detail}")
                return None
        raise
    _, before = replay_repayments(
        schedule, [r for r in recorded if r.on_date < cut_over], rate)
    repayments = tuple(
        ImportedRepayment(
            key=r.key, on_date=r.on_date, amount=r.amount, method=row.method,
            allocation=allocations[r.key], in_journal=r.on_date >= cut_over,
            closes=state.closed and r is recorded[-1])
        for r, row in zip(recorded, ordered, strict=True))
    return ImportedLoan(
        number=number, code=loan.code, member_code=loan.member_code, terms=loan.terms,
        schedule=schedule, purpose=loan.purpose, repayments=repayments,
        owed_at_cut_over=outstanding_principal(schedule, before),
        outstanding=outstanding_principal(schedule, state),
        closed_on=paid_off_on(state.closed, [r.on_date for r in recorded]),
    )


def check_books(sheets: Mapping[Sheet, SheetRows], today: date, balanced: bool = True
                ) -> Books:
    """The checked books, or BooksRefused with every problem (up to the limit).
    `balanced=False` skips the rule that the opening balances balance (to compute the
    figure that balances them)."""
    problems = _Problems()
    if not _check_headers(sheets, problems):
        raise BooksRefused(problems.found, problems.more)
    members = _members(sheets[Sheet.MEMBERS], today, problems)
    cut_over, opening = _opening(sheets[Sheet.OPENING], today, problems)
    loan_rows = _loans(sheets[Sheet.LOANS], today, cut_over,
                       {m.code for m in members} | _codes(sheets[Sheet.MEMBERS], MEMBER_CODE),
                       problems)
    by_code = {loan.code: loan for loan in loan_rows}
    paid = _repayments(sheets[Sheet.REPAYMENTS], today, by_code,
                       _codes(sheets[Sheet.LOANS], LOAN_CODE), problems)
    loans: list[ImportedLoan] = []
    if cut_over is not None:
        for number, loan in enumerate(loan_rows, start=1):
            allocated = _allocate(loan, number, paid[loan.code], cut_over, problems)
            if allocated is not None:
                loans.append(allocated)
    if balanced and cut_over is not None and not problems.found:
        money = sum(opening.get(code, 0) for code in OPENING_MONEY_ACCOUNTS)
        owed = sum(loan.owed_at_cut_over for loan in loans)
        capital = sum(opening.get(code, 0) for code in OPENING_CAPITAL_ACCOUNTS)
        if money + owed != capital:
            problems.add(
                Sheet.OPENING, None, AMOUNT,
                f"the opening balances do not balance: cash and bank {money} + loans owed at"
                f" the cut-over {owed} = {money + owed}, capital {capital}",
                f"số dư đầu kỳ không cân: tiền mặt và tiền gửi {money} + dư nợ cho vay tại"
                f" ngày chuyển sổ {owed} = {money + owed}, nguồn vốn {capital}")
    if problems.found:
        raise BooksRefused(problems.found, problems.more)
    assert cut_over is not None
    journal = sorted(
        ((r.on_date, loan_index, r.key, repayment_index)
         for loan_index, loan in enumerate(loans)
         for repayment_index, r in enumerate(loan.repayments) if r.in_journal))
    return Books(
        cut_over=cut_over, members=tuple(members),
        opening=tuple((code, opening[code])
                      for code in (*OPENING_MONEY_ACCOUNTS, *OPENING_CAPITAL_ACCOUNTS)
                      if code in opening),
        loans=tuple(loans),
        journal_repayments=tuple((loan_index, index) for _, loan_index, _, index in journal),
    )


def split_opening(debits: Sequence[Posting], credits: Sequence[Posting],
                  debits_per_entry: int = OPENING_DEBITS_PER_ENTRY) -> list[list[Posting]]:
    """The opening balances as entries of at most `debits_per_entry` debit lines each
    (an entry holds at most POSTINGS_COUNT_MAX postings), each balanced by the credits in
    their order, a credit split across two entries where an entry ends inside it.
    Debits and credits have the same total."""
    if sum(p.amount for p in debits) != sum(p.amount for p in credits):
        raise UnbalancedEntry("the opening debits and credits differ",
                              "tổng nợ và tổng có của số dư đầu kỳ khác nhau")
    entries: list[list[Posting]] = []
    waiting = list(credits)
    left = waiting[0].amount if waiting else 0
    for start in range(0, len(debits), debits_per_entry):
        lines = list(debits[start:start + debits_per_entry])
        owed = sum(p.amount for p in lines)
        while owed:
            taken = min(owed, left)
            lines.append(replace(waiting[0], amount=taken))
            owed -= taken
            left -= taken
            if not left:
                waiting.pop(0)
                left = waiting[0].amount if waiting else 0
        entries.append(lines)
    return entries


def _codes(rows: SheetRows, column: Column) -> set[str]:
    """Every code a sheet names (rows with a problem included), so that a row referring
    to one is not also reported as naming an unknown code."""
    codes = set()
    for _, cells in rows.rows:
        try:
            text = _text(cells.get(column.header))
        except _CellError:
            continue
        if text is not None:
            codes.add(text)
    return codes


def rows_of(sheet: Sheet, headers: Sequence[object], rows: Iterable[Sequence[object]],
            first_row: int = 2) -> SheetRows:
    """A sheet from its header row and its data rows (fully empty rows skipped)."""
    names = tuple(str(h).strip() if h is not None else "" for h in headers)
    kept = []
    for number, row in enumerate(rows, start=first_row):
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in row):
            continue
        kept.append((number, dict(zip(names, row, strict=False))))
    return SheetRows(sheet, names, tuple(kept))
