"""The request body, read within its limits before anything else sees it.

The body may hold at most `BODY_SIZE_MAX_BYTES`: a larger Content-Length is refused at
once, and a body sent without one (chunked) is refused as soon as it grows past the
limit, so no more than that is ever held in memory. A JSON body may nest at most
`BODY_DEPTH_MAX` levels, checked before any parser recurses into it. Both refusals
come before authentication and the request's transaction: nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.input_limits import BODY_DEPTH_MAX, BODY_SIZE_MAX_BYTES, json_depth_exceeds
from service.errors import (
    BadRequest,
    ClubfundError,
    JsonTooDeep,
    MalformedJson,
    PayloadTooLarge,
    add_problems,
    problem_for,
)
from service.language import Text

# What any operation that takes a body may answer before its handler runs.
BODY_PROBLEMS: tuple[type[ClubfundError], ...] = (MalformedJson, JsonTooDeep, PayloadTooLarge)


class RequestLimitsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            body = await read_body_within_limits(scope, receive)
        except ClubfundError as refusal:
            await problem_for(refusal)(scope, receive, send)
            return
        await self.app(scope, replay_body(body), send)


BODY_TOO_LARGE = Text("the body may hold at most {size} bytes",
                      "nội dung gửi lên tối đa {size} byte")


async def read_body_within_limits(scope: Scope, receive: Receive) -> bytes:
    declared = declared_length(scope)
    if declared is not None and declared > BODY_SIZE_MAX_BYTES:
        raise PayloadTooLarge(BODY_TOO_LARGE, size=BODY_SIZE_MAX_BYTES)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > BODY_SIZE_MAX_BYTES:
            raise PayloadTooLarge(BODY_TOO_LARGE, size=BODY_SIZE_MAX_BYTES)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    if json_depth_exceeds(body, BODY_DEPTH_MAX):
        raise JsonTooDeep(Text("a JSON body may nest at most {depth} levels",
                               "nội dung JSON lồng nhau tối đa {depth} cấp"),
                          depth=BODY_DEPTH_MAX)
    return body


def declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            if not value.isdigit():
                raise BadRequest(Text("Content-Length is not a number",
                                      "Content-Length không phải là số"))
            return int(value)
    return None


def replay_body(body: bytes) -> Receive:
    """A `receive` that hands the already read body over once, then a disconnect."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


def document_body_problems(app: FastAPI) -> None:
    """Every operation with a request body declares BODY_PROBLEMS in the OpenAPI document."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                if "requestBody" in operation:
                    add_problems(operation.setdefault("responses", {}), BODY_PROBLEMS)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
