"""The one pagination helper: keyset cursors, `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

import base64
import json
import re
import uuid
from collections.abc import Callable
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from ledger.input_limits import InvalidText, check_text
from service.errors import InvalidCursor
from service.language import Text

CURSOR_UNREADABLE = Text("the cursor could not be decoded", "không đọc được con trỏ phân trang")
CURSOR_FOREIGN = Text("the cursor does not belong to this list",
                      "con trỏ phân trang không thuộc danh sách này")

T = TypeVar("T")
LIMIT_DEFAULT = 50
LIMIT_MAX = 500


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageRequest(BaseModel):
    limit: int
    after: list[Any] | None


# What a cursor's key may hold: the list's own key columns, each decoded strictly.
SEQUENCE_KEY_MAX = 2**63 - 1  # a PostgreSQL bigint
TEXT_KEY_LENGTH_MAX = 200
TIMESTAMP_KEY_LENGTH_MAX = 40
DATE_KEY_PATTERN = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
PERIOD_KEY_PATTERN = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")


def sequence_key(value: Any) -> int:
    """A JSON integer from 0 to a bigint's maximum (not a boolean, not a float)."""
    if type(value) is not int or not 0 <= value <= SEQUENCE_KEY_MAX:
        raise ValueError(f"{value!r} is not a sequence")
    return value


def uuid_key(value: Any) -> uuid.UUID:
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an id")
    return uuid.UUID(value)


def text_key(value: Any) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= TEXT_KEY_LENGTH_MAX:
        raise ValueError(f"{value!r} is not a code")
    try:
        return check_text(value)
    except InvalidText as error:
        raise ValueError(error.detail) from error


def date_key(value: Any) -> date:
    if not isinstance(value, str) or not DATE_KEY_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a date")
    return date.fromisoformat(value)


def timestamp_key(value: Any) -> datetime:
    """An ISO 8601 instant with its offset, as `datetime.isoformat` writes it."""
    if not isinstance(value, str) or len(value) > TIMESTAMP_KEY_LENGTH_MAX:
        raise ValueError(f"{value!r} is not a timestamp")
    instant = datetime.fromisoformat(value)
    if instant.tzinfo is None:
        raise ValueError(f"{value!r} has no offset")
    return instant


def period_key(value: Any) -> str:
    """A month, yyyy-mm."""
    if not isinstance(value, str) or not PERIOD_KEY_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a month")
    return value


def encode_cursor(key: list[Any]) -> str:
    """Ids and dates travel as strings; `decode_cursor` reads them back with the same fields."""
    document = json.dumps(key, separators=(",", ":"), default=str)
    return base64.urlsafe_b64encode(document.encode()).decode()


def decode_cursor(cursor: str | None, *fields: Callable[[Any], Any]) -> tuple[Any, ...] | None:
    """The key a cursor holds, one value per field decoder, or 400 `invalid_cursor` for
    anything else: not base64url, not JSON, not a list of exactly these values."""
    if not cursor:
        return None
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        key = json.loads(raw)
    except (ValueError, RecursionError) as error:
        raise InvalidCursor(CURSOR_UNREADABLE) from error
    if not isinstance(key, list) or len(key) != len(fields):
        raise InvalidCursor(CURSOR_FOREIGN)
    try:
        return tuple(decode(value) for decode, value in zip(fields, key, strict=True))
    except (TypeError, ValueError, OverflowError) as error:
        raise InvalidCursor(CURSOR_FOREIGN) from error


async def page_params(
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = LIMIT_DEFAULT,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> tuple[int, str | None]:
    return limit, cursor


def make_page(rows: list[T], limit: int, key_of: Any) -> Page[T]:
    """`rows` was fetched with LIMIT limit + 1; the extra row says there is more."""
    more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(key_of(items[-1])) if more and items else None
    return Page[T](items=items, next_cursor=next_cursor)
