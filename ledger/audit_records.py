"""Audit records as the exact bytes that are hashed.

A record is a JSON object; its bytes are its RFC 8785 (JCS) canonical form,
and its leaf hash is SHA-256(0x00 || those bytes). The record's `sequence` is
only known once the log is locked (inside the database), so the canonical form
is cut into the bytes before the sequence's digits and the bytes after them:
`head + str(sequence) + tail` is exactly JCS of the record.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

import rfc8785

SEQUENCE_KEY: Final = "sequence"


def _jcs_order(key: str) -> bytes:
    """JCS sorts object keys by their UTF-16 code units."""
    return key.encode("utf-16-be")


def canonical_record(record: Mapping[str, Any]) -> bytes:
    """The bytes a record is hashed as: its RFC 8785 canonical JSON."""
    return rfc8785.dumps(dict(record))


def record_parts(record: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """(head, tail) with head + decimal(sequence) + tail == JCS(record | {"sequence": n}).

    `record` holds every field but `sequence`.
    """
    if SEQUENCE_KEY in record:
        raise ValueError("the record must not hold its sequence yet")
    pivot = _jcs_order(SEQUENCE_KEY)
    before = {k: v for k, v in record.items() if _jcs_order(k) < pivot}
    after = {k: v for k, v in record.items() if _jcs_order(k) > pivot}
    head = rfc8785.dumps(before)[:-1]
    if before:
        head += b","
    head += b'"sequence":'
    tail = b"," + rfc8785.dumps(after)[1:] if after else b"}"
    return head, tail


_SAFE_INTEGER_MAX: Final = 2**53 - 1


def _plain(value: Any) -> bool:
    """Text, a safe integer, a boolean, null, or lists and objects (ASCII keys) of them."""
    if value is None or isinstance(value, str | bool):
        return True
    if isinstance(value, int):
        return -_SAFE_INTEGER_MAX <= value <= _SAFE_INTEGER_MAX
    if isinstance(value, list):
        return all(_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and k.isascii() and _plain(v) for k, v in value.items())
    return False


def canonical_plain(document: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of `document`, fast when it is plain (no float, ASCII keys: what the
    service's records are): the json module's sorted, compact output is then byte for
    byte JCS (code point order is UTF-16 order for ASCII keys; the same escapes of
    quotes, backslashes and control characters; other text as UTF-8). Anything else goes
    through rfc8785."""
    if _plain(dict(document)):
        return json.dumps(document, sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False).encode()
    return rfc8785.dumps(dict(document))
