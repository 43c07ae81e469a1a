"""What every answer carries, and the last net under the app.

Every response says `X-Content-Type-Options: nosniff`; API answers (all but the
documentation pages) say `Cache-Control: no-store` unless they chose otherwise. An
exception that no handler mapped on purpose becomes a logged 500 problem+json here,
so that no answer leaves without these headers or in another shape.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import problem_for

DOCUMENTATION_PATHS = ("/docs", "/redoc", "/openapi.json")
NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = (b"cache-control", b"no-store")


class ResponseGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(header for header in extra if header[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception as error:
            if started:
                raise
            await problem_for(error)(scope, receive, guarded_send)
