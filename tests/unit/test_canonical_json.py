"""The fast canonical JSON writes exactly the bytes of RFC 8785 (the `rfc8785` package):
entry hashes, audit records and request fingerprints must not change by one byte."""

from __future__ import annotations

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger.canonical_json import canonical_json

# Every kind of text, including characters above U+FFFF (sorted differently by UTF-16),
# control characters and lone surrogates (refused by both).
texts = st.text(alphabet=st.characters(), max_size=12)
scalars = (st.none() | st.booleans() | st.integers(-(2**60), 2**60)
           | st.floats(allow_nan=False, allow_infinity=False) | texts)
values = st.recursive(
    scalars,
    lambda inner: (st.lists(inner, max_size=4) | st.tuples(inner, inner)
                   | st.dictionaries(texts, inner, max_size=4)),
    max_leaves=20,
)


def jcs_or_error(value: object) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, UnicodeEncodeError) as error:
        # rfc8785 refuses a lone surrogate in a key with UnicodeEncodeError (sorting).
        return type(error)


@given(values)
def test_the_same_bytes_or_the_same_refusal_as_rfc8785(value):
    expected = jcs_or_error(value)
    if isinstance(expected, bytes):
        assert canonical_json(value) == expected
    else:
        with pytest.raises(expected):
            canonical_json(value)


def test_keys_are_ordered_by_utf16_code_units():
    # U+1F600 is D83D DE00 in UTF-16: before U+FB01 there, after it by code point.
    document = {"\ufb01": 1, "\U0001f600": 2, "a": {"\n\u001f\"\\": [True, None, -5]}}
    assert canonical_json(document) == rfc8785.dumps(document)
    assert canonical_json(document).startswith(b'{"a":')
    assert canonical_json(document).index("\U0001f600".encode()) < (
        canonical_json(document).index("\ufb01".encode()))


def test_a_typical_entry_document():
    document = {"id": "e", "sequence": 7, "postings": [{"amount": 9_007_199_254_740_991}],
                "description": "Thu tiền — tháng 3", "metadata": {}, "voucher_number": None}
    assert canonical_json(document) == rfc8785.dumps(document)
