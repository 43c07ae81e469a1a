"""The rule table, shown in the OpenAPI document: every protected operation
declares the bearer scheme, its 401 (and 403 when not every token may call
it), and `x-clubfund-access`: the kinds of token that may call it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from service.auth.rules import ACCESS_KINDS, rule_for
from service.errors import problem_response


def document_access(app: FastAPI) -> None:
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            for method, operation in operations.items():
                rule = rule_for(method.upper(), path)
                if rule is None or rule.public:
                    continue
                operation["security"] = [{"bearer": []}]
                operation["x-clubfund-access"] = sorted(rule.roles)
                responses = operation.setdefault("responses", {})
                responses["401"] = problem_response(
                    "Problem: unauthenticated (no token, or an unknown, expired or revoked one)"
                )
                if rule.roles != ACCESS_KINDS:
                    responses["403"] = problem_response(
                        "Problem: forbidden (this kind of token may not call this route)"
                    )
                operation["responses"] = dict(sorted(responses.items()))
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http", "scheme": "bearer",
            "description": "`Authorization: Bearer <token>`; see `POST /v1/tokens`",
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
