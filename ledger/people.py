"""People: the phone number a person is known (and will sign in) by.

A phone is a Vietnamese mobile number: `0` and 9 digits (`0912345678`), or the same
number in international form, `+84` and the 9 digits (`+84912345678`). Spaces, dots
and hyphens between digits are ignored (`0912 345 678`). Mobile numbers start, after
the `0`, with 3, 5, 7, 8 or 9. It is stored in the international form, so one number
written two ways is one number.
"""

from __future__ import annotations

import re
from typing import Final

from ledger.errors import LedgerError

PHONE_LENGTH_MAX: Final = 20  # as typed, separators included
PHONE_PATTERN: Final = re.compile(r"(?:0|\+84)([35789][0-9]{8})")
PHONE_SEPARATORS: Final = re.compile(r"[ .\-]")


class InvalidPhone(LedgerError):
    code = "invalid_phone"


def normalise_phone(typed: str) -> str:
    """`+84` and the 9 digits of a Vietnamese mobile number; InvalidPhone otherwise."""
    if len(typed) > PHONE_LENGTH_MAX:
        raise InvalidPhone(f"a phone number has at most {PHONE_LENGTH_MAX} characters",
                           f"số điện thoại có tối đa {PHONE_LENGTH_MAX} ký tự")
    match = PHONE_PATTERN.fullmatch(PHONE_SEPARATORS.sub("", typed))
    if match is None:
        raise InvalidPhone(
            f"{typed!r} is not a Vietnamese mobile number: 0 and 9 digits (0912345678) "
            "or +84 and 9 digits (+84912345678)",
            f"{typed!r} không phải số di động Việt Nam: 0 và 9 chữ số (0912345678) "
            "hoặc +84 và 9 chữ số (+84912345678)",
        )
    return "+84" + match.group(1)
