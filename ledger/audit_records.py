"""Audit records as the exact bytes that are hashed.

A record is a JSON object; its bytes are its RFC 8785 (JCS) canonical form,
and its leaf hash is SHA-256(0x00 || those bytes). The record's `sequence` is
only known once the log is locked (inside the database), so the canonical form
is cut into the bytes before the sequence's digits and the bytes after them:
`head + str(sequence) + tail` is exactly JCS of the record.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from ledger.canonical_json import canonical_json

SEQUENCE_KEY: Final = "sequence"


def _jcs_order(key: str) -> bytes:
    """JCS sorts object keys by their UTF-16 code units."""
    return key.encode("utf-16-be")


def canonical_record(record: Mapping[str, Any]) -> bytes:
    """The bytes a record is hashed as: its RFC 8785 canonical JSON."""
    return canonical_json(dict(record))


def record_parts(record: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """(head, tail) with head + decimal(sequence) + tail == JCS(record | {"sequence": n}).

    `record` holds every field but `sequence`.
    """
    if SEQUENCE_KEY in record:
        raise ValueError("the record must not hold its sequence yet")
    pivot = _jcs_order(SEQUENCE_KEY)
    before = {k: v for k, v in record.items() if _jcs_order(k) < pivot}
    after = {k: v for k, v in record.items() if _jcs_order(k) > pivot}
    head = canonical_json(before)[:-1]
    if before:
        head += b","
    head += b'"sequence":'
    tail = b"," + canonical_json(after)[1:] if after else b"}"
    return head, tail
