"""The core's input rules: text, metadata and the depth of a JSON text."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.input_limits import (
    METADATA_DEPTH_MAX,
    METADATA_INTEGER_MAX,
    METADATA_SIZE_MAX_BYTES,
    InvalidMetadata,
    InvalidText,
    MetadataTooDeep,
    MetadataTooLarge,
    check_metadata,
    check_text,
    json_depth_exceeds,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=30,
)


def depth_of(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    return 0


@given(json_values, st.integers(min_value=0, max_value=8))
def test_the_depth_scan_agrees_with_the_parsed_document(value, depth_max):
    text = json.dumps(value, ensure_ascii=False).encode()
    assert json_depth_exceeds(text, depth_max) == (depth_of(value) > depth_max)


def test_brackets_inside_strings_do_not_count():
    assert not json_depth_exceeds(json.dumps({"a": "[[[[{{{{\\\"[["}).encode(), 1)
    assert json_depth_exceeds(b"[[[" + b"]" * 3, 2)


def forbidden(character: str) -> bool:
    category = unicodedata.category(character)
    return (category == "Cc" and character not in "\t\n") or category == "Cs"


@given(st.text(alphabet=st.characters(codec=None, min_codepoint=0, max_codepoint=0xFFFF)))
def test_text_is_refused_exactly_when_it_holds_a_forbidden_character(text):
    if any(forbidden(c) for c in text):
        with pytest.raises(InvalidText):
            check_text(text)
    else:
        assert check_text(text) == text


def test_metadata_limits():
    deep: object = 1
    for _ in range(METADATA_DEPTH_MAX):
        deep = {"n": deep}
    assert check_metadata(deep) == deep  # type: ignore[arg-type]
    with pytest.raises(MetadataTooDeep):
        check_metadata({"n": deep})
    with pytest.raises(MetadataTooDeep):
        check_metadata({"n": [[[[[[[[1]]]]]]]]})
    fits = {"b": "x" * (METADATA_SIZE_MAX_BYTES - len('{"b":""}'))}
    assert check_metadata(fits) == fits
    with pytest.raises(MetadataTooLarge):
        check_metadata({"b": fits["b"] + "x"})
    with pytest.raises(MetadataTooLarge):  # bytes, not characters
        check_metadata({"b": "ồ" * (METADATA_SIZE_MAX_BYTES // 2)})
    for bad in (float("nan"), float("inf"), METADATA_INTEGER_MAX + 1, -METADATA_INTEGER_MAX - 1):
        with pytest.raises(InvalidMetadata):
            check_metadata({"x": [bad]})
    assert check_metadata({"x": METADATA_INTEGER_MAX, "y": 0.5, "z": None}) is not None
    for bad_text in ({"a\u0000": 1}, {"a": {"b": ["\ud800"]}}):
        with pytest.raises(InvalidText):
            check_metadata(bad_text)
