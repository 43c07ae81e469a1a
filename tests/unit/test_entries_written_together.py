"""Entries written together are judged one after the other from one read of the days:
`days_after_entry` carries the earlier entries' postings into the later ones' check,
giving exactly the days a fresh read after each entry would give."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ledger.accounts import Side
from ledger.entries import (
    AccountDays,
    DayTotals,
    Posting,
    check_never_negative,
    days_after_entry,
)
from ledger.errors import InsufficientFunds

ACCOUNTS = {"cash": Side.DEBIT, "capital": Side.CREDIT}
FIRST_DAY = date(2026, 1, 1)

entries = st.lists(
    st.tuples(st.integers(0, 20), st.sampled_from(["cash", "capital"]),
              st.sampled_from(list(Side)), st.integers(1, 1_000)),
    min_size=1, max_size=12,
)


def days_from(written: list[tuple[date, list[Posting]]]) -> tuple[AccountDays, ...]:
    """Every account's cumulative totals on each day it moved, as the database keeps them."""
    accounts = []
    for account_id, normal_side in ACCOUNTS.items():
        moved = sorted({day for day, postings in written
                        if any(p.account_id == account_id for p in postings)})
        days = []
        for day in moved:
            totals = [p for when, postings in written if when <= day for p in postings
                      if p.account_id == account_id]
            days.append(DayTotals(
                day, sum(p.amount for p in totals if p.side is Side.DEBIT),
                sum(p.amount for p in totals if p.side is Side.CREDIT)))
        accounts.append(AccountDays(account_id, account_id, normal_side, tuple(days)))
    return tuple(accounts)


def refused(postings: list[Posting], day: date, days: tuple[AccountDays, ...]) -> bool:
    try:
        check_never_negative(postings, day, days)
    except InsufficientFunds:
        return True
    return False


@given(entries)
def test_carried_days_judge_like_a_fresh_read(drawn):
    written: list[tuple[date, list[Posting]]] = []
    carried = days_from([])
    for offset, account_id, side, amount in drawn:
        day = FIRST_DAY + timedelta(days=offset)
        postings = [Posting(account_id, side, amount, "VND")]
        assert carried == days_from(written)
        assert refused(postings, day, carried) == refused(postings, day, days_from(written))
        if not refused(postings, day, carried):
            written.append((day, postings))
            carried = days_after_entry(carried, postings, day)
    assert carried == days_from(written)


def test_a_later_entry_sees_an_earlier_one_of_the_same_batch():
    income = [Posting("cash", Side.DEBIT, 100, "VND"), Posting("capital", Side.CREDIT, 100, "VND")]
    spend = [Posting("cash", Side.CREDIT, 100, "VND"), Posting("capital", Side.DEBIT, 100, "VND")]
    days = days_from([])
    assert refused(spend, FIRST_DAY, days)
    days = days_after_entry(days, income, FIRST_DAY)
    assert not refused(spend, FIRST_DAY, days)
    days = days_after_entry(days, spend, FIRST_DAY)
    assert refused(spend, FIRST_DAY, days)
