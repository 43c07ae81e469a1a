"""The one pagination helper: keyset cursors, `{"items": [...], "next_cursor": ...}`."""

from __future__ import annotations

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

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


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_cursor(cursor: str | None, arity: int) -> list[Any] | None:
    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode() + b"=" * (-len(cursor) % 4)))
    except ValueError as error:
        raise InvalidCursor(CURSOR_UNREADABLE) from error
    if not isinstance(key, list) or len(key) != arity:
        raise InvalidCursor(CURSOR_FOREIGN)
    return key


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
