"""RFC 8785 (JCS) canonical JSON, fast for the plain values the service hashes.

JCS of a value made only of dicts with string keys, lists, tuples, strings, booleans,
None and integers within ±(2⁵³ − 1) is exactly what `orjson` writes with sorted keys (no
spaces, UTF-8, no ASCII escaping): JCS escapes in strings only `"`, `\\` and the control
characters below U+0020 (`\\b \\f \\n \\r \\t`, the others as lowercase `\\u00xx`), as
`orjson` does. Keys are sorted by UTF-16 code units in JCS and by UTF-8 bytes (code
points) in `orjson`; the two orders agree unless a key holds a character above U+FFFF.
Any other value (floats, larger integers, such keys, subclasses of the plain types) goes
through the `rfc8785` package, as does a string that is not valid UTF-8,
so that it is refused in the same way.
"""

from __future__ import annotations

from typing import Any, Final

import orjson
import rfc8785

INTEGER_MAGNITUDE_MAX: Final = 2**53 - 1
BMP_LAST: Final = "\uffff"
NESTING_DEPTH_MAX: Final = 64


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical bytes of a JSON value (as `rfc8785.dumps`)."""
    if is_plain(value, 0):
        try:
            return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
        except orjson.JSONEncodeError:
            pass  # a lone surrogate: rfc8785 refuses it with its own error
    return rfc8785.dumps(value)


def is_plain(value: Any, depth: int) -> bool:
    """Whether the fast encoder writes exactly JCS for `value` (a container's leaves are
    judged in its own loop: this runs for every record the service hashes)."""
    kind = type(value)
    if kind is dict or kind is list or kind is tuple:
        if depth >= NESTING_DEPTH_MAX:
            return False
        items: Any = value
        if kind is dict:
            for key in items:
                if type(key) is not str or not (key.isascii() or max(key) <= BMP_LAST):
                    return False
            items = items.values()
        for item in items:
            item_kind = type(item)
            if item_kind is str or item is None or item_kind is bool:
                continue
            if item_kind is int:
                if -INTEGER_MAGNITUDE_MAX <= item <= INTEGER_MAGNITUDE_MAX:
                    continue
                return False
            if not is_plain(item, depth + 1):
                return False
        return True
    if kind is str or value is None or kind is bool:
        return True
    if kind is int:
        number: int = value
        return -INTEGER_MAGNITUDE_MAX <= number <= INTEGER_MAGNITUDE_MAX
    return False
