"""Accounting periods (calendar months) and the rules for closing them.

Rules:
- A period is a calendar month, written `yyyy-mm`, held as its first day.
- A month can be closed only after it has ended (its last day is before today).
- Months close in order: once a fund has closed a month, the next close must be
  the month right after it. The first close may be any ended month; it closes
  every earlier month too (nothing may be dated before it afterwards).
- A date is in a closed period when its month is on or before the latest closed
  month. No entry may be dated there; corrections are reversals dated in an
  open period.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from ledger.dates import DATE_MAX, DATE_MIN, InvalidDate
from ledger.errors import LedgerError

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidPeriod(LedgerError):
    code = "invalid_period"


class PeriodClosed(LedgerError):
    code = "period_closed"


class PeriodAlreadyClosed(LedgerError):
    code = "period_already_closed"


class PeriodOutOfOrder(LedgerError):
    code = "period_out_of_order"


class PeriodNotEnded(LedgerError):
    code = "period_not_ended"


def parse_period(text: str) -> date:
    """'2026-03' → date(2026, 3, 1). Raises InvalidPeriod, or InvalidDate for a month
    outside the bounds of dates (1900-01..2999-12)."""
    match = _PERIOD.match(text)
    if match is None:
        raise InvalidPeriod(f"a period is written yyyy-mm (e.g. 2026-03), got {text!r}",
                            f"tháng viết dạng yyyy-mm (ví dụ 2026-03), không phải {text!r}")
    if not DATE_MIN.year <= int(match.group(1)) <= DATE_MAX.year:
        raise InvalidDate(
            f"period {text} is outside {format_period(DATE_MIN)}..{format_period(DATE_MAX)}",
            f"tháng {text} nằm ngoài khoảng {format_period(DATE_MIN)}..{format_period(DATE_MAX)}",
        )
    return date(int(match.group(1)), int(match.group(2)), 1)


def format_period(period: date) -> str:
    return f"{period.year:04d}-{period.month:02d}"


def period_of(day: date) -> date:
    """The period (first day of the month) that `day` falls in."""
    return day.replace(day=1)


def next_period(period: date) -> date:
    return (period.replace(day=28) + timedelta(days=4)).replace(day=1)


def period_end(period: date) -> date:
    """The last day of the month."""
    return next_period(period) - timedelta(days=1)


def is_closed(day: date, latest_closed: date | None) -> bool:
    """True when `day` lies in a closed period, given the latest closed month."""
    return latest_closed is not None and period_of(day) <= latest_closed


def check_open(day: date, latest_closed: date | None) -> None:
    """Raise PeriodClosed when `day` lies in a closed period."""
    if is_closed(day, latest_closed):
        assert latest_closed is not None
        raise PeriodClosed(
            f"{day.isoformat()} is in a closed period (closed through"
            f" {format_period(latest_closed)}); date the entry or its reversal in an open period",
            f"ngày {day.isoformat()} thuộc tháng đã khóa sổ (đã khóa đến hết tháng"
            f" {format_period(latest_closed)}); hãy ghi bút toán hoặc bút toán đảo vào một"
            " tháng chưa khóa",
        )


def check_close(period: date, latest_closed: date | None, today: date) -> None:
    """Raise unless `period` may be closed now, given the latest closed month."""
    if period.day != 1:
        raise InvalidPeriod("a period is held as the first day of its month",
                            "tháng được lưu bằng ngày đầu tiên của tháng")
    if latest_closed is not None and period <= latest_closed:
        raise PeriodAlreadyClosed(
            f"{format_period(period)} is already closed (closed through"
            f" {format_period(latest_closed)})",
            f"tháng {format_period(period)} đã khóa sổ rồi (đã khóa đến hết tháng"
            f" {format_period(latest_closed)})",
        )
    if latest_closed is not None and period != next_period(latest_closed):
        raise PeriodOutOfOrder(
            f"periods close in order: the next one to close is"
            f" {format_period(next_period(latest_closed))}, not {format_period(period)}",
            f"khóa sổ lần lượt từng tháng: tháng tiếp theo cần khóa là"
            f" {format_period(next_period(latest_closed))}, không phải {format_period(period)}",
        )
    if period_end(period) >= today:
        raise PeriodNotEnded(
            f"{format_period(period)} has not ended yet (it ends {period_end(period).isoformat()})",
            f"tháng {format_period(period)} chưa kết thúc (kết thúc ngày"
            f" {period_end(period).isoformat()})",
        )
