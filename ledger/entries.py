"""Journal entries, their postings, the balancing rule and reversal.

`check_invariants` is the one place the core states what a valid entry is; the
database checks the same rule again with a deferred constraint trigger.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Final

from ledger.accounts import Side, signed_balance
from ledger.canonical_json import canonical_json
from ledger.errors import InsufficientFunds, InvalidEntry, InvalidReversal, UnbalancedEntry
from ledger.money import check_amount, check_currency

POSTINGS_COUNT_MIN: Final = 2
POSTINGS_COUNT_MAX: Final = 100
DESCRIPTION_LENGTH_MAX: Final = 500


@dataclass(frozen=True, slots=True)
class Posting:
    """One line of an entry: a positive amount on one side of one account."""

    account_id: str
    side: Side
    amount: int
    currency: str


@dataclass(frozen=True, slots=True)
class Entry:
    """A balanced set of postings on one business date. Immutable once built."""

    effective_date: date
    description: str
    postings: tuple[Posting, ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    reverses_entry_id: str | None = None


def side_totals(postings: Iterable[Posting]) -> dict[str, tuple[int, int]]:
    """Per currency: (sum of debits, sum of credits)."""
    totals: dict[str, tuple[int, int]] = {}
    for posting in postings:
        debits, credits = totals.get(posting.currency, (0, 0))
        if posting.side is Side.DEBIT:
            debits += posting.amount
        else:
            credits += posting.amount
        totals[posting.currency] = (debits, credits)
    return totals


def check_invariants(postings: Sequence[Posting]) -> None:
    """Raise unless the postings form a valid entry.

    Between 2 and POSTINGS_COUNT_MAX postings; each amount a positive integer
    of minor units within range; known currencies; and, per currency, the sum
    of debits equals the sum of credits.
    """
    if not POSTINGS_COUNT_MIN <= len(postings) <= POSTINGS_COUNT_MAX:
        raise InvalidEntry(
            f"an entry has between {POSTINGS_COUNT_MIN} and {POSTINGS_COUNT_MAX} postings,"
            f" got {len(postings)}",
            f"một bút toán có từ {POSTINGS_COUNT_MIN} đến {POSTINGS_COUNT_MAX} dòng,"
            f" ở đây có {len(postings)}",
        )
    for posting in postings:
        check_amount(posting.amount)
        check_currency(posting.currency)
        if not isinstance(posting.side, Side):
            raise InvalidEntry(f"posting side must be debit or credit, got {posting.side!r}",
                               f"mỗi dòng là Nợ (debit) hoặc Có (credit), không phải"
                               f" {posting.side!r}")
    for currency, (debits, credits) in sorted(side_totals(postings).items()):
        if debits != credits:
            raise UnbalancedEntry(
                f"{currency} debits {debits} do not equal credits {credits}",
                f"tổng Nợ {debits} {currency} không bằng tổng Có {credits} {currency}",
            )


def build_entry(
    effective_date: date,
    description: str,
    postings: Sequence[Posting],
    metadata: Mapping[str, Any] | None = None,
    reverses_entry_id: str | None = None,
) -> Entry:
    """Validate and freeze an entry. Raises a LedgerError; builds nothing on failure."""
    text = description.strip()
    if not text:
        raise InvalidEntry("an entry needs a description", "bút toán cần có diễn giải")
    if len(text) > DESCRIPTION_LENGTH_MAX:
        raise InvalidEntry(f"description is longer than {DESCRIPTION_LENGTH_MAX} characters",
                           f"diễn giải dài quá {DESCRIPTION_LENGTH_MAX} ký tự")
    check_invariants(postings)
    return Entry(
        effective_date=effective_date,
        description=text,
        postings=tuple(postings),
        metadata=dict(metadata or {}),
        reverses_entry_id=reverses_entry_id,
    )


def reverse_entry(
    original: Entry, original_id: str, effective_date: date, description: str | None = None
) -> Entry:
    """The entry that undoes `original`: same accounts and amounts, sides swapped."""
    if original.reverses_entry_id is not None:
        raise InvalidReversal("a reversal is not itself reversed; post a new entry instead",
                              "không đảo một bút toán đảo; hãy ghi một bút toán mới")
    if effective_date < original.effective_date:
        raise InvalidReversal("a reversal cannot be dated before the entry it reverses",
                              "bút toán đảo không thể ghi ngày trước bút toán gốc")
    postings = [
        Posting(p.account_id, p.side.opposite, p.amount, p.currency) for p in original.postings
    ]
    text = description or f"Reversal of {original_id}: {original.description}"
    return build_entry(
        effective_date,
        text[:DESCRIPTION_LENGTH_MAX],
        postings,
        metadata={"reverses_entry_id": original_id},
        reverses_entry_id=original_id,
    )


@dataclass(frozen=True, slots=True)
class AccountBalance:
    """Running totals of one account, as the store keeps them."""

    account_id: str
    normal_side: Side
    allow_negative: bool
    debits: int = 0
    credits: int = 0

    @property
    def balance(self) -> int:
        return signed_balance(self.normal_side, self.debits, self.credits)


def apply_postings(
    balances: Mapping[str, AccountBalance], postings: Sequence[Posting]
) -> dict[str, AccountBalance]:
    """The balances after the postings. Raises InsufficientFunds before returning
    anything if an account that forbids a negative balance would go below zero."""
    check_invariants(postings)
    updated = dict(balances)
    for posting in postings:
        current = updated.get(posting.account_id)
        if current is None:
            raise InvalidEntry(f"unknown account {posting.account_id}",
                               f"không có tài khoản {posting.account_id}")
        if posting.side is Side.DEBIT:
            current = AccountBalance(
                current.account_id, current.normal_side, current.allow_negative,
                current.debits + posting.amount, current.credits,
            )
        else:
            current = AccountBalance(
                current.account_id, current.normal_side, current.allow_negative,
                current.debits, current.credits + posting.amount,
            )
        updated[posting.account_id] = current
    for balance in updated.values():
        if not balance.allow_negative and balance.balance < 0:
            raise InsufficientFunds(
                f"account {balance.account_id} may not go below zero"
                f" (would be {balance.balance})",
                f"tài khoản {balance.account_id} không được âm (sẽ là {balance.balance})",
            )
    return updated


def account_deltas(postings: Iterable[Posting]) -> dict[str, tuple[int, int]]:
    """Per account: (debits added, credits added) by the postings."""
    deltas: dict[str, tuple[int, int]] = {}
    for posting in postings:
        debits, credits = deltas.get(posting.account_id, (0, 0))
        if posting.side is Side.DEBIT:
            debits += posting.amount
        else:
            credits += posting.amount
        deltas[posting.account_id] = (debits, credits)
    return deltas


def content_hash(document: Mapping[str, Any]) -> str:
    """Lowercase hex SHA-256 of the RFC 8785 canonical JSON of `document`."""
    return hashlib.sha256(canonical_json(dict(document))).hexdigest()


@dataclass(frozen=True, slots=True)
class DayTotals:
    """An account's cumulative debits and credits at the end of one day."""

    day: date
    debits: int
    credits: int


@dataclass(frozen=True, slots=True)
class AccountDays:
    """A never-negative account's totals from an entry's date on: the last day on or
    before that date (if the account moved by then), and every later day it moved."""

    account_id: str
    code: str
    normal_side: Side
    days: tuple[DayTotals, ...]


def check_never_negative(
    postings: Sequence[Posting], effective_date: date, accounts: Iterable[AccountDays]
) -> None:
    """Raise InsufficientFunds when the postings, dated `effective_date`, would leave an
    account that may not go negative below zero at the end of that day or of any later
    day it moved; the detail names the account, the first such day and the balance.

    Only the days of `accounts` are judged: a balance changes only on days with
    postings, so the end of `effective_date` and of each later day it moved are every
    day on which it could be negative."""
    deltas = account_deltas(postings)
    for account in accounts:
        debits, credits = deltas.get(account.account_id, (0, 0))
        delta = signed_balance(account.normal_side, debits, credits)
        if delta >= 0:
            continue  # what does not lower a balance cannot make it negative
        base = 0
        moved_by_then = False
        later: list[DayTotals] = []
        for totals in account.days:
            if totals.day <= effective_date:
                base = signed_balance(account.normal_side, totals.debits, totals.credits)
                moved_by_then = True
            else:
                later.append(totals)
        later.sort(key=lambda t: t.day)
        checks = [(effective_date, base + delta)] + [
            (t.day, signed_balance(account.normal_side, t.debits, t.credits) + delta)
            for t in later
        ]
        # An account that had not moved by the entry's date (a loan's account opened by
        # the books' cut-over, cash before the first receipt): say when it first did.
        why, why_vi = ("", "") if moved_by_then or not later else (
            f"; nothing was recorded in it on or before {effective_date.isoformat()}:"
            f" its first movement is dated {later[0].day.isoformat()}",
            f"; đến ngày {effective_date.isoformat()} tài khoản chưa có phát sinh nào,"
            f" phát sinh đầu tiên ghi ngày {later[0].day.isoformat()}",
        )
        for day, balance in checks:
            if balance < 0:
                raise InsufficientFunds(
                    f"account {account.code} may not go below zero: dated"
                    f" {effective_date.isoformat()}, this entry would leave it at {balance}"
                    f" at the end of {day.isoformat()}{why}",
                    f"tài khoản {account.code} không được âm: ghi ngày"
                    f" {effective_date.isoformat()}, bút toán này làm số dư cuối ngày"
                    f" {day.isoformat()} còn {balance}{why_vi}",
                )


def days_after_entry(
    accounts: Iterable[AccountDays], postings: Sequence[Posting], effective_date: date
) -> tuple[AccountDays, ...]:
    """The accounts' days once the postings, dated `effective_date`, are written: the
    entry's day (added when the account had not moved on it) and every later day grow by
    the postings' debits and credits. Lets entries written together be judged one after
    the other by `check_never_negative` from one read of the days."""
    deltas = account_deltas(postings)
    moved = []
    for account in accounts:
        debits, credits = deltas.get(account.account_id, (0, 0))
        if debits == credits == 0:
            moved.append(account)
            continue
        days: list[DayTotals] = []
        base = DayTotals(effective_date, 0, 0)
        for totals in account.days:
            if totals.day < effective_date:
                days.append(totals)
                base = DayTotals(effective_date, totals.debits, totals.credits)
            elif totals.day == effective_date:
                base = totals
        days.append(DayTotals(effective_date, base.debits + debits, base.credits + credits))
        days.extend(DayTotals(t.day, t.debits + debits, t.credits + credits)
                    for t in account.days if t.day > effective_date)
        moved.append(AccountDays(account.account_id, account.code, account.normal_side,
                                 tuple(days)))
    return tuple(moved)
