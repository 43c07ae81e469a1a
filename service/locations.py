"""Every 201 answer carries `Location`: the URL of what it created.

Each model a 201 route answers with declares `location`, a path template filled
from the answer's own fields (`"/v1/entries/{id}"`). One middleware, outside the
transaction (so an idempotent replay carries it too), adds the header; one pass
over the routes declares it in OpenAPI.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.routes import api_routes

LOCATION_HEADER = {
    "description": "the URL of the created resource",
    "schema": {"type": "string", "format": "uri-reference"},
}


def location_template(route: APIRoute) -> str | None:
    template: str | None = getattr(route.response_model, "location", None)
    return template


def created_routes(app: FastAPI) -> list[APIRoute]:
    return [route for route in api_routes(app) if route.status_code == 201]


def document_locations(app: FastAPI) -> None:
    """Declare `Location` on every 201 answer in OpenAPI."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                created = operation.get("responses", {}).get("201")
                if created is not None:
                    created.setdefault("headers", {})["Location"] = LOCATION_HEADER
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def location_for(app: FastAPI, scope: Scope, body: bytes) -> str | None:
    for route in created_routes(app):
        if route.matches(scope)[0] is Match.FULL:
            template = location_template(route)
            if template is None:
                return None
            fields: dict[str, Any] = json.loads(body)
            return template.format(**fields)
    return None


class LocationMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def locating_send(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 201:
                held.append(message)
                return
            if held and message["type"] == "http.response.body":
                held.append(message)
                if message.get("more_body", False):
                    return
                start, *bodies = held
                body = b"".join(m.get("body", b"") for m in bodies)
                location = location_for(scope["app"], scope, body)
                if location is not None:
                    start = {**start, "headers": [*start.get("headers", []),
                                                  (b"location", location.encode())]}
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, locating_send)
