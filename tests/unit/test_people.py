"""People in the core: the phone number one is known by, and who may approve."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.loan_lifecycle import BorrowerApproval, SameActorApproval, check_approver
from ledger.people import InvalidPhone, normalise_phone

subscriber = st.builds(lambda first, rest: first + rest, st.sampled_from("35789"),
                       st.text("0123456789", min_size=8, max_size=8))
separator = st.sampled_from(["", " ", ".", "-"])


@given(subscriber, st.sampled_from(["0", "+84"]), st.lists(separator, min_size=9, max_size=9))
def test_a_mobile_number_written_any_usual_way_is_stored_in_one_form(digits, prefix, gaps):
    typed = prefix + "".join(d + g for d, g in zip(digits, gaps, strict=True))
    assert normalise_phone(typed.strip(" .-")) == "+84" + digits


@pytest.mark.parametrize("typed", [
    "", "091234567", "09123456789", "0212345678", "0012345678", "84912345678",
    "+8491234567", "+849123456789", "+14155550123", "09123456a8", "0912_345_678",
    "0912345678\n", "0" * 21, "０９１２３４５６７８",
])
def test_anything_else_is_not_a_phone(typed):
    with pytest.raises(InvalidPhone) as refused:
        normalise_phone(typed)
    assert refused.value.code == "invalid_phone"


def test_an_approver_is_neither_the_recorder_nor_the_borrower():
    borrower, chair_member = uuid.uuid4(), uuid.uuid4()
    with pytest.raises(SameActorApproval):
        check_approver("person:a", "person:a", None, borrower)
    with pytest.raises(BorrowerApproval) as refused:
        check_approver("person:a", "person:b", borrower, borrower)
    assert refused.value.code == "borrower_approval"
    check_approver("person:a", "person:b", None, borrower)
    check_approver("person:a", "person:b", chair_member, borrower)
