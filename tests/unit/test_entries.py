"""Properties of the double-entry core."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.accounts import AccountType, Side, signed_balance
from ledger.entries import (
    POSTINGS_COUNT_MAX,
    AccountBalance,
    Posting,
    apply_postings,
    build_entry,
    check_invariants,
    reverse_entry,
    side_totals,
)
from ledger.errors import (
    AmountOutOfRange,
    InsufficientFunds,
    InvalidAmount,
    InvalidEntry,
    InvalidReversal,
    LedgerError,
    UnbalancedEntry,
    UnknownCurrency,
)
from ledger.money import AMOUNT_MINOR_MAX, Money

ACCOUNTS = [f"acc-{n}" for n in range(6)]
amounts = st.integers(min_value=1, max_value=AMOUNT_MINOR_MAX // POSTINGS_COUNT_MAX)


@st.composite
def balanced_postings(draw: st.DrawFn) -> list[Posting]:
    """A random balanced entry: split each side's total over several accounts."""
    postings: list[Posting] = []
    for currency in draw(st.lists(st.sampled_from(["VND", "USD"]), min_size=1, max_size=2,
                                  unique=True)):
        debits = draw(st.lists(amounts, min_size=1, max_size=4))
        total = sum(debits)
        cuts = sorted(draw(st.lists(st.integers(1, total - 1), max_size=3, unique=True))
                      if total > 1 else [])
        credits = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        postings += [Posting(draw(st.sampled_from(ACCOUNTS)), Side.DEBIT, a, currency)
                     for a in debits]
        postings += [Posting(draw(st.sampled_from(ACCOUNTS)), Side.CREDIT, a, currency)
                     for a in credits]
    return draw(st.permutations(postings))


def zero_balances(allow_negative: bool = True) -> dict[str, AccountBalance]:
    return {a: AccountBalance(a, Side.DEBIT, allow_negative) for a in ACCOUNTS}


@given(balanced_postings())
def test_any_valid_entry_balances_per_currency(postings):
    entry = build_entry(date(2026, 3, 5), "Góp vốn", postings)
    for debits, credits in side_totals(entry.postings).values():
        assert debits == credits


@given(balanced_postings())
def test_a_reversal_nets_every_account_to_zero(postings):
    entry = build_entry(date(2026, 3, 5), "Cho vay", postings)
    reversal = reverse_entry(entry, "entry-1", date(2026, 4, 1))
    after = apply_postings(apply_postings(zero_balances(), entry.postings), reversal.postings)
    assert all(b.balance == 0 for b in after.values())
    assert all(b.debits == b.credits for b in after.values())
    assert reversal.reverses_entry_id == "entry-1"


@given(balanced_postings(), st.integers(1, 10**6), st.data())
def test_an_unbalanced_entry_is_refused_and_changes_nothing(postings, skew, data):
    index = data.draw(st.integers(0, len(postings) - 1))
    broken = list(postings)
    p = broken[index]
    broken[index] = Posting(p.account_id, p.side, p.amount + skew, p.currency)
    before = zero_balances()
    snapshot = dict(before)
    with pytest.raises(UnbalancedEntry):
        build_entry(date(2026, 3, 5), "x", broken)
    with pytest.raises(UnbalancedEntry):
        apply_postings(before, broken)
    assert before == snapshot


@given(balanced_postings())
def test_insufficient_funds_raises_before_anything_is_returned(postings):
    balances = {a: AccountBalance(a, Side.DEBIT, allow_negative=False) for a in ACCOUNTS}
    snapshot = dict(balances)
    net: dict[str, int] = {}
    for p in postings:
        net[p.account_id] = net.get(p.account_id, 0) + (p.amount if p.side is Side.DEBIT
                                                          else -p.amount)
    if any(value < 0 for value in net.values()):
        with pytest.raises(InsufficientFunds):
            apply_postings(balances, postings)
    else:
        after = apply_postings(balances, postings)
        assert {a: b.balance for a, b in after.items() if a in net} == net
    assert balances == snapshot


@pytest.mark.parametrize(
    ("amount", "error"),
    [(0, InvalidAmount), (-5, InvalidAmount), (5.0, InvalidAmount), ("5", InvalidAmount),
     (True, InvalidAmount), (AMOUNT_MINOR_MAX + 1, AmountOutOfRange)],
)
def test_bad_amounts_raise_typed_errors(amount, error):
    postings = [Posting("a", Side.DEBIT, amount, "VND"), Posting("b", Side.CREDIT, amount, "VND")]
    with pytest.raises(error):
        check_invariants(postings)


def test_structural_errors():
    one = [Posting("a", Side.DEBIT, 5, "VND")]
    with pytest.raises(InvalidEntry):
        check_invariants(one)
    many = [Posting("a", Side.DEBIT, 1, "VND"), Posting("b", Side.CREDIT, 1, "VND")] * 51
    with pytest.raises(InvalidEntry):
        check_invariants(many)
    with pytest.raises(UnknownCurrency):
        check_invariants([Posting("a", Side.DEBIT, 5, "XXX"), Posting("b", Side.CREDIT, 5, "XXX")])
    with pytest.raises(InvalidEntry):
        build_entry(date(2026, 1, 1), "   ", [Posting("a", Side.DEBIT, 5, "VND"),
                                                Posting("b", Side.CREDIT, 5, "VND")])
    # Balanced overall but not per currency.
    with pytest.raises(UnbalancedEntry):
        check_invariants([Posting("a", Side.DEBIT, 5, "VND"), Posting("b", Side.CREDIT, 5, "USD")])


def test_a_reversal_is_not_reversed_and_not_backdated():
    entry = build_entry(date(2026, 3, 5), "x", [Posting("a", Side.DEBIT, 5, "VND"),
                                                Posting("b", Side.CREDIT, 5, "VND")])
    with pytest.raises(InvalidReversal):
        reverse_entry(entry, "e1", date(2026, 3, 4))
    reversal = reverse_entry(entry, "e1", date(2026, 3, 5))
    with pytest.raises(InvalidReversal):
        reverse_entry(reversal, "e2", date(2026, 3, 6))


def test_every_core_error_has_a_stable_code():
    codes = {cls.code for cls in LedgerError.__subclasses__()}
    assert "ledger_error" not in codes and len(codes) == len(LedgerError.__subclasses__())


@given(st.integers(-10**15, 10**15), st.integers(-10**15, 10**15))
def test_money_adds_within_one_currency_only(a, b):
    assert (Money.of(a, "VND") + Money.of(b, "VND")).amount == a + b
    assert (Money.of(a, "VND") - Money.of(b, "VND")).amount == a - b
    with pytest.raises(LedgerError):
        Money.of(a, "VND") + Money.of(b, "USD")


@given(st.integers(0, 10**12), st.integers(0, 10**12))
def test_normal_side_signs_the_balance(debits, credits):
    for account_type in AccountType:
        balance = signed_balance(account_type.normal_side, debits, credits)
        expected = debits - credits
        if account_type in (AccountType.ASSET, AccountType.EXPENSE):
            assert balance == expected
        else:
            assert balance == -expected
