"""The books-import core: cells read as a treasurer writes them, the opening balances cut
into entries that each balance, and problems named where they are."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.accounts import Side
from ledger.entries import POSTINGS_COUNT_MAX, Posting, check_invariants
from ledger.opening_books import (
    BooksRefused,
    Sheet,
    check_books,
    rows_of,
    split_opening,
)
from service.bookimport.template import SAMPLE_TODAY, headers, sample_sheets

TODAY = date(2026, 11, 30)


def checked(sheets):
    return check_books({sheet: rows_of(sheet, headers(sheet), table)
                        for sheet, table in sheets.items()}, TODAY)


def test_cells_are_read_as_written_in_vietnamese_or_english() -> None:
    sheets = sample_sheets()
    sheets[Sheet.MEMBERS][0][2:5] = ["nữ", "1956", "02/03/2023"]
    sheets[Sheet.LOANS][0][2:10] = ["6.000.000", "12", "monthly", "flat", "0.8%", "",
                                    "2025-06-05", "05/07/2025"]
    books = checked(sheets)
    member, loan = books.members[0], books.loans[0]
    assert (member.gender, member.birth_year, member.joined_on) == (
        "female", 1956, date(2023, 3, 2))
    assert (loan.terms.principal, str(loan.terms.rate_per_period),
            loan.terms.disbursed_on) == (6_000_000, "0.008", date(2025, 6, 5))
    assert books == checked(sample_sheets())  # the same books as the sample's own cells


def test_every_problem_is_named_at_once() -> None:
    sheets = sample_sheets()
    sheets[Sheet.MEMBERS][1][3] = 1850                 # birth year
    sheets[Sheet.OPENING][0][0] = date(2026, 12, 1)    # after today
    sheets[Sheet.LOANS][2][3] = 0                      # instalments
    sheets[Sheet.REPAYMENTS][0][0] = "KV99"            # unknown loan
    sheets[Sheet.REPAYMENTS][1][2] = "1,5"             # not whole
    with pytest.raises(BooksRefused) as refused:
        checked(sheets)
    assert [(p.sheet, p.row, p.column.header if p.column else None)
            for p in refused.value.problems] == [
        (Sheet.MEMBERS, 3, "Năm sinh"), (Sheet.OPENING, 2, "Ngày chuyển sổ"),
        (Sheet.LOANS, 4, "Số kỳ trả"), (Sheet.REPAYMENTS, 2, "Mã khoản vay"),
        (Sheet.REPAYMENTS, 3, "Số tiền"),
    ]
    assert "sau ngày hôm nay (30/11/2026)" in refused.value.problems[1].detail_vi


def test_a_missing_sheet_or_column_is_named() -> None:
    sheets = {sheet: rows_of(sheet, headers(sheet), table)
              for sheet, table in sample_sheets().items() if sheet is not Sheet.REPAYMENTS}
    sheets[Sheet.LOANS] = rows_of(Sheet.LOANS, headers(Sheet.LOANS)[:-3], [])
    with pytest.raises(BooksRefused) as refused:
        check_books(sheets, SAMPLE_TODAY)
    assert [(p.sheet, p.row, p.column.header if p.column else None)
            for p in refused.value.problems] == [
        (Sheet.LOANS, 1, "Ngày trả kỳ đầu"), (Sheet.REPAYMENTS, None, None)]


def test_problems_stop_at_the_limit() -> None:
    sheets = sample_sheets()
    sheets[Sheet.MEMBERS] = [[f"M{n}", "", "?", 1, None] for n in range(40)]
    with pytest.raises(BooksRefused) as refused:
        checked(sheets)
    assert len(refused.value.problems) == 50
    assert refused.value.more is True


amounts = st.integers(1, 10**12)


@given(st.lists(amounts, min_size=1, max_size=400), st.lists(amounts, min_size=1, max_size=5),
       st.data())
def test_the_opening_balances_are_cut_into_balanced_entries(debit_amounts, weights, data):
    total = sum(debit_amounts)
    # Credits with the debits' total, split by the weights.
    shares = [total * w // sum(weights) for w in weights]
    shares[0] += total - sum(shares)
    credits = [Posting(f"c{n}", Side.CREDIT, amount, "VND")
               for n, amount in enumerate(shares) if amount]
    debits = [Posting(f"d{n}", Side.DEBIT, amount, "VND")
              for n, amount in enumerate(debit_amounts)]
    entries = split_opening(debits, credits,
                            data.draw(st.integers(1, POSTINGS_COUNT_MAX - 2 * len(credits))))
    for postings in entries:
        check_invariants(postings)  # balanced, at most 100 postings, amounts positive
        assert len(postings) <= POSTINGS_COUNT_MAX
    lines = [p for postings in entries for p in postings]
    assert [p for p in lines if p.side is Side.DEBIT] == debits
    for credit in credits:
        assert sum(p.amount for p in lines if p.account_id == credit.account_id) == credit.amount
