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


def canonical_plain(document: Mapping[str, Any]) -> bytes:
    """RFC 8785 bytes of a *plain* document, by the json module's C encoder: one made only
    of text, integers of at most 15 digits, booleans, null, and lists and objects with
    ASCII keys — what the service's records are (money is an integer, rates are text).
    For such a document the sorted, compact output is byte for byte JCS (code point order
    is UTF-16 order for ASCII keys; the same escapes of quotes, backslashes and control
    characters; other text as UTF-8). The caller guarantees the document is plain
    (`canonical_record` takes any document)."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False).encode()
