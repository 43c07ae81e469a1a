"""Business dates: what a date in the books may be.

Rules (the service reads the clock and hands `today` in; the core reads no clock):
- A date is written `yyyy-mm-dd` (ISO 8601, the calendar date only). A bare number is
  not a date: `0` is not 1970-01-01.
- Every date lies between DATE_MIN and DATE_MAX (`invalid_date`), the same bounds as
  the reports.
- Nothing that happened is dated after today (Asia/Ho_Chi_Minh): cash cannot be received
  tomorrow (`future_date`). Dates of what is agreed for later (a loan's first due date)
  keep only the bounds.
- A loan's events keep their order: applied ≤ approved ≤ disbursed ≤ repaid / written
  off (`invalid_date`, the rule and both dates named).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Final

from ledger.errors import LedgerError

DATE_MIN: Final = date(1900, 1, 1)
DATE_MAX: Final = date(2999, 12, 31)
_ISO_DATE: Final = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


class InvalidDate(LedgerError):
    code = "invalid_date"


class FutureDate(LedgerError):
    code = "future_date"


def check_in_range(day: date, what: str = "date") -> date:
    """`day` when it lies within DATE_MIN..DATE_MAX, else InvalidDate."""
    if not DATE_MIN <= day <= DATE_MAX:
        raise InvalidDate(
            f"{what} {day.isoformat()} is outside {DATE_MIN.isoformat()}..{DATE_MAX.isoformat()}",
            f"{what} {day.isoformat()} nằm ngoài khoảng"
            f" {DATE_MIN.isoformat()}..{DATE_MAX.isoformat()}",
        )
    return day


def parse_date(text: object, what: str = "date") -> date:
    """A date written yyyy-mm-dd within the bounds; InvalidDate for anything else
    (a number, a timestamp, a date that does not exist)."""
    if isinstance(text, date):
        return check_in_range(text, what)
    if not isinstance(text, str) or _ISO_DATE.match(text) is None:
        raise InvalidDate(f"{what} must be written yyyy-mm-dd, got {text!r}",
                          f"{what} phải viết dạng yyyy-mm-dd, không phải {text!r}")
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidDate(f"{what} {text!r} is not a day of the calendar",
                          f"{what} {text!r} không phải một ngày có thật") from None
    return check_in_range(day, what)


def check_not_future(day: date, today: date, what: str = "date") -> date:
    """`day` when it is within the bounds and not after `today`; else FutureDate (or
    InvalidDate for a date outside the bounds)."""
    check_in_range(day, what)
    if day > today:
        raise FutureDate(
            f"{what} {day.isoformat()} is after today ({today.isoformat()}): nothing is"
            " recorded before it happens",
            f"{what} {day.isoformat()} sau ngày hôm nay ({today.isoformat()}): không ghi sổ"
            " việc chưa xảy ra",
        )
    return day


def check_not_before(day: date, earlier: date, what: str, earlier_what: str) -> date:
    """`day` unless it falls before `earlier` (InvalidDate naming both events)."""
    if day < earlier:
        raise InvalidDate(
            f"{what} is dated {day.isoformat()}, before {earlier_what} on"
            f" {earlier.isoformat()}: a loan's events keep their order"
            " (applied ≤ approved ≤ disbursed ≤ repaid / written off)",
            f"{what} ghi ngày {day.isoformat()}, trước {earlier_what} ngày"
            f" {earlier.isoformat()}: các bước của khoản vay giữ đúng thứ tự"
            " (đề nghị ≤ duyệt ≤ giải ngân ≤ trả nợ / xóa nợ)",
        )
    return day
