"""The outermost layer: what every answer carries, the count of every answer, and the
last net under the app.

Every response says `X-Content-Type-Options: nosniff`; API answers (all but the
documentation pages) say `Cache-Control: no-store` unless they chose otherwise. Every
answer is counted by status class for /metrics. An exception that got past the handlers
and the other middleware still becomes problem+json (503 `database_unavailable` while the
database is unreachable, a logged 500 otherwise) instead of plain text and a reset
connection, with these headers and counted like any other answer.
"""

from __future__ import annotations

from collections import Counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import problem_for

DOCUMENTATION_PATHS = ("/docs", "/openapi.json")
NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")


class ResponseGuardMiddleware:
    def __init__(self, app: ASGIApp, stats: Counter[str]) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [NOSNIFF]
        if not scope["path"].startswith(DOCUMENTATION_PATHS):
            extra.append(NO_STORE)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self.stats[f"{message['status'] // 100}xx"] += 1
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception as error:
            if started:  # half an answer sent: only closing the connection tells the client
                raise
            await problem_for(error)(scope, receive, guarded_send)
