"""What the service accepts as input: the size and depth of a request body and of an
entry's metadata, and which characters stored text may hold.

Pure rules, no I/O: the HTTP layer measures the body and calls these; request schemas
apply `check_text` and `check_metadata` to every string and metadata document they store.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any, Final

from ledger.errors import LedgerError

BODY_SIZE_MAX_BYTES: Final = 1024 * 1024
# Brackets a body may nest: an entry's metadata sits two levels down (body, metadata).
BODY_DEPTH_MAX: Final = 32
METADATA_SIZE_MAX_BYTES: Final = 16 * 1024
METADATA_DEPTH_MAX: Final = 8
# Numbers every JSON reader agrees on (RFC 8785 / I-JSON: IEEE 754 doubles).
METADATA_INTEGER_MAX: Final = 2**53 - 1

# NUL and every other control character but tab and newline (C0, DEL, C1), and lone
# surrogates (UTF-16 halves, which no UTF-8 text can carry).
FORBIDDEN_CHARACTERS: Final = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# The same rule as a JSON Schema (ECMA-262) pattern, for the OpenAPI document.
TEXT_PATTERN: Final = "^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f]*$"
# Brackets and strings of a JSON text: strings are skipped whole, brackets counted.
_JSON_TOKENS: Final = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class InvalidText(LedgerError):
    code = "invalid_text"


class MetadataTooLarge(LedgerError):
    code = "metadata_too_large"


class MetadataTooDeep(LedgerError):
    code = "metadata_too_deep"


class InvalidMetadata(LedgerError):
    """A value JSON cannot carry faithfully (NaN, infinities, integers beyond 2^53)."""

    code = "invalid_metadata"


def check_text(value: str) -> str:
    """`value` unchanged, or InvalidText naming the first forbidden character."""
    found = FORBIDDEN_CHARACTERS.search(value)
    if found is not None:
        raise InvalidText(
            f"text may not hold U+{ord(found.group()):04X} (at character {found.start()}):"
            " no NUL, lone surrogate or control character other than tab and newline",
            f"văn bản không được chứa U+{ord(found.group()):04X} (ở ký tự {found.start()}):"
            " không có NUL, ký tự thay thế đơn lẻ hay ký tự điều khiển nào ngoài tab và xuống"
            " dòng",
        )
    return value


def json_depth_exceeds(document: bytes, depth_max: int) -> bool:
    """Whether a JSON text nests arrays and objects deeper than `depth_max`, found
    without parsing it (a parser would recurse once per level)."""
    if document.count(b"[") + document.count(b"{") <= depth_max:
        return False  # fewer openings in all (strings' included) than levels allowed
    depth = 0
    for token in _JSON_TOKENS.finditer(document):
        bracket = token.group()
        if bracket in (b"[", b"{"):
            depth += 1
            if depth > depth_max:
                return True
        elif bracket in (b"]", b"}"):
            depth -= 1
    return False


def check_metadata(metadata: Mapping[str, Any]) -> Mapping[str, Any]:
    """`metadata` unchanged, or the error it breaks: at most METADATA_DEPTH_MAX levels
    ({"a": 1} is one), at most METADATA_SIZE_MAX_BYTES as compact UTF-8 JSON, text
    keys and strings, finite numbers, integers within ±METADATA_INTEGER_MAX."""
    _check_value(metadata, 1)
    size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":"),
                          allow_nan=False).encode("utf-8", "surrogatepass"))
    if size > METADATA_SIZE_MAX_BYTES:
        raise MetadataTooLarge(
            f"metadata is {size} bytes as JSON; at most {METADATA_SIZE_MAX_BYTES}",
            f"siêu dữ liệu dạng JSON dài {size} byte; tối đa {METADATA_SIZE_MAX_BYTES}",
        )
    return metadata


def _check_value(value: Any, depth: int) -> None:
    if isinstance(value, Mapping | list):
        if depth > METADATA_DEPTH_MAX:
            raise MetadataTooDeep(f"metadata nests deeper than {METADATA_DEPTH_MAX} levels",
                                  f"siêu dữ liệu lồng sâu quá {METADATA_DEPTH_MAX} cấp")
        items = value.items() if isinstance(value, Mapping) else enumerate(value)
        for key, item in items:
            if isinstance(key, str):
                check_text(key)
            _check_value(item, depth + 1)
    elif isinstance(value, str):
        check_text(value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > METADATA_INTEGER_MAX:
            raise InvalidMetadata(
                f"metadata integers lie within ±{METADATA_INTEGER_MAX}; send larger ones as text",
                f"số nguyên trong siêu dữ liệu nằm trong ±{METADATA_INTEGER_MAX}; số lớn hơn"
                " hãy gửi dạng văn bản",
            )
    elif isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise InvalidMetadata("metadata numbers are finite",
                                  "số trong siêu dữ liệu phải hữu hạn")
    else:
        raise InvalidMetadata(f"metadata cannot hold a {type(value).__name__}",
                              f"siêu dữ liệu không chứa được kiểu {type(value).__name__}")
