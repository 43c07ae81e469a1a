"""A record cut around its sequence joins back into exactly its canonical JSON."""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from ledger.audit_records import canonical_record, record_parts

keys = st.text(min_size=1, max_size=12).filter(lambda k: k != "sequence")
values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=10,
)


@given(st.dictionaries(keys, values, max_size=8), st.integers(1, 10**12))
def test_parts_join_into_the_canonical_record(record, sequence):
    head, tail = record_parts(record)
    joined = head + str(sequence).encode() + tail
    assert joined == rfc8785.dumps({**record, "sequence": sequence})
    assert canonical_record(json.loads(joined)) == joined


def test_a_typical_record():
    record = {"fund_id": "f", "recorded_at": "t", "actor": "a", "action": "x.y",
              "data": {"é": 1}, "request_id": "r"}
    head, tail = record_parts(record)
    assert head + b"7" + tail == (
        '{"action":"x.y","actor":"a","data":{"é":1},"fund_id":"f","recorded_at":"t",'
        '"request_id":"r","sequence":7}'
    ).encode()


def test_keys_sorting_after_sequence_and_astral_keys():
    record = {"zeta": 1, "\U0001f600": 2, "\uffff": 3, "a": 0}
    head, tail = record_parts(record)
    assert head + b"1" + tail == rfc8785.dumps({**record, "sequence": 1})


def test_the_sequence_is_not_given_twice():
    with pytest.raises(ValueError):
        record_parts({"sequence": 1})
