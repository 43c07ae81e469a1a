"""The app's routes as served: included routers flattened, prefixes applied."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi.routing import APIRoute


def served_routes(app: Any) -> list[Any]:
    """Every route, in the router's order (FastAPI versions that flatten included
    routers lazily give route contexts; older ones the routes themselves)."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:
        return list(app.routes)
    contexts: Iterable[Any] = iter_route_contexts(app.routes)
    return [getattr(context, "route", context) for context in contexts]


def api_routes(app: Any) -> list[APIRoute]:
    cached: list[APIRoute] | None = getattr(app.state, "api_routes", None)
    if cached is None:
        cached = [route for route in served_routes(app) if isinstance(route, APIRoute)]
        app.state.api_routes = cached
    return cached
