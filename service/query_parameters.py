"""Every route refuses a query parameter it does not declare (400 unknown_query_parameter).

One app-wide dependency: the accepted names are the query parameters the matched
route and its dependencies declare (the same list OpenAPI shows). A misspelt
`limt=` or `as-of=` is refused instead of being silently ignored.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from service.errors import UnknownQueryParameter


def accepted_query_parameters(route: APIRoute) -> tuple[str, ...]:
    names: list[str] = []

    def collect(dependant: Dependant) -> None:
        names.extend(p.alias for p in dependant.query_params if p.alias not in names)
        for sub_dependant in dependant.dependencies:
            collect(sub_dependant)

    collect(route.dependant)
    return tuple(names)


async def refuse_unknown_query_parameters(request: Request) -> None:
    if not request.scope.get("query_string"):  # most requests: no parameter to refuse
        return
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    accepted = accepted_query_parameters(route)
    for name in request.query_params:
        if name not in accepted:
            raise UnknownQueryParameter(name, sorted(accepted))
