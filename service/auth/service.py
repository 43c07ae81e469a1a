"""Authentication and authorisation of every request, before its handler runs.

`authorise_request` is called by the TransactionMiddleware right after it opened
the request's transaction:

1. find the route (method, path template) and its rule in `service.auth.rules`;
   a route with no rule is refused (fail closed);
2. public routes go through with no scope (they see no fund-scoped row);
3. otherwise the bearer token is looked up by its SHA-256 hash and, in the same
   statement, the transaction's fund scope is set (`clubfund_authenticate`);
   no token, or an unknown, revoked or expired one: 401 with
   `WWW-Authenticate: Bearer`;
4. a token whose role may not call the route: 403 `forbidden` (also for writes
   by auditors and read-only integrations). Resources outside the token's scope
   are invisible through row-level security and answer 404 in the handlers.

Tokens are never logged: a refused request is logged with the token's id when
it is known, or a short hash of what was presented.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from typing import Any

import asyncpg
from starlette.requests import cookie_parser
from starlette.routing import compile_path
from starlette.types import Scope

from service.auth import repository
from service.auth.principal import Principal
from service.auth.rules import Rule, rule_for
from service.errors import ClubfundError, Forbidden, Unauthenticated
from service.language import Text
from service.routes import served_routes

log = logging.getLogger("clubfund.auth")
TOKEN_LENGTH_MAX = 200
CHALLENGE = 'Bearer realm="clubfund"'
# The web session's cookie: HttpOnly, SameSite=Strict (see service/pages).
SESSION_COOKIE = "clubfund_session"
INVALID_TOKEN_CHALLENGE = 'Bearer realm="clubfund", error="invalid_token"'


class MissingRule(ClubfundError):
    """A route that nobody declared in the rule table: a bug, refused."""

    title = "Internal error: this route has no access rule"
    title_vi = "Lỗi nội bộ: đường dẫn này chưa có quy tắc truy cập"


@dataclass(frozen=True)
class Access:
    """The outcome: a principal (None on public or unknown routes) or a refusal."""

    principal: Principal | None = None
    refusal: ClubfundError | None = None
    token_hash: str | None = None
    # The answer stored for the request's Idempotency-Key, when it was looked up with
    # the token (`looked_up`) and found.
    stored: asyncpg.Record | None = None
    looked_up: bool = False

    @property
    def principal_id(self) -> str:
        return self.principal.token_id if self.principal else "anonymous"

    @property
    def actor(self) -> str:
        return self.principal.actor if self.principal else "anonymous"


def hash_token(token: str) -> str:
    """What is stored and looked up: SHA-256 of the token (tokens carry 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class RouteTemplate:
    method: str
    path: str  # the template, e.g. /v1/funds/{fund_id}
    pattern: re.Pattern[str]


def route_templates(app: Any) -> list[RouteTemplate]:
    """Every (method, path template) the app serves, in the router's order (cached)."""
    cached: list[RouteTemplate] | None = getattr(app.state, "route_templates", None)
    if cached is not None:
        return cached
    templates: list[RouteTemplate] = []
    for route in served_routes(app):
        path, methods = getattr(route, "path", None), getattr(route, "methods", None)
        if path is None or not methods:
            continue
        pattern, _, _ = compile_path(path)
        served = set(methods) - {"HEAD"} or set(methods)
        templates.extend(RouteTemplate(method, path, pattern) for method in sorted(served))
    app.state.route_templates = templates
    return templates


def routed_path(scope: Scope) -> str:
    """The request's path below the app's root path."""
    path: str = scope["path"]
    root_path: str = scope.get("root_path", "")
    if root_path and path.startswith(root_path):
        path = path[len(root_path):]
    return path


def route_of(scope: Scope) -> tuple[str, str] | None:
    """(method, path template) of the route that will handle this request, if any."""
    method = "GET" if scope["method"] == "HEAD" else scope["method"]
    path = routed_path(scope)
    for template in route_templates(scope["app"]):
        if template.method == method and template.pattern.match(path):
            return template.method, template.path
    return None


def allowed_methods(scope: Scope) -> list[str]:
    """The methods the app serves on this request's path (for a 405's `Allow`)."""
    path = routed_path(scope)
    return sorted({t.method for t in route_templates(scope["app"]) if t.pattern.match(path)})


def presented_token(scope: Scope) -> str | None:
    """The bearer token; None when there is no Authorization header, "" when it is malformed.

    A GET without an Authorization header may present the web session's cookie instead
    (a signed-in page's download links); never a write."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            header: str = value.decode("latin-1")
            scheme, _, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token or len(token) > TOKEN_LENGTH_MAX:
                return ""
            return token
    if scope["method"] in ("GET", "HEAD"):
        return session_cookie(scope)
    return None


def session_cookie(scope: Scope) -> str | None:
    """The web session's secret from its cookie (see service/signin), if sent."""
    for name, value in scope.get("headers", ()):
        if name == b"cookie":
            cookies = cookie_parser(value.decode("latin-1"))
            secret = cookies.get(SESSION_COOKIE)
            if secret and len(secret) <= TOKEN_LENGTH_MAX:
                return secret
    return None


async def session_principal(connection: asyncpg.Connection, scope: Scope) -> Access:
    """A page's caller: the person of the session cookie, or nobody (no refusal)."""
    secret = session_cookie(scope)
    if secret is None:
        return Access()
    token_hash = hash_token(secret)
    found = await repository.authenticate(connection, token_hash)
    if found["failure"] is not None:
        return Access()
    return Access(principal=principal_of(found), token_hash=token_hash)


def principal_of(found: asyncpg.Record) -> Principal:
    club_ids, fund_ids = found["club_ids"], found["fund_ids"]
    return Principal(
        token_id=found["token_id"], person_id=found["person_id"], role=found["role"],
        scope=found["scope"], can_write=found["can_write"], member_id=found["member_id"],
        club_ids=None if club_ids is None else frozenset(club_ids),
        fund_ids=None if fund_ids is None else frozenset(fund_ids),
    )


async def authorise_request(
    connection: asyncpg.Connection, scope: Scope, idempotency_key: str | None = None,
) -> Access:
    """Authenticate the request and set its transaction's scope. With a bearer token and
    `idempotency_key`, the answer stored for the key is read in the same round trip."""
    route = route_of(scope)
    if route is None:  # no such route: the router answers 404 or 405
        return Access()
    method, template = route
    where = f"{method} {template}"
    rule: Rule | None = rule_for(method, template)
    if rule is None:
        log.error("refused: route %s has no authorisation rule", where)
        return Access(refusal=MissingRule(Text("route {where} has no authorisation rule",
                                               "đường dẫn {where} chưa có quy tắc phân quyền"),
                                          where=where))
    if rule.public:
        return Access()
    if rule.page:
        return await session_principal(connection, scope)

    token = presented_token(scope)
    if not token:
        reason = "no bearer token" if token is None else "malformed Authorization header"
        log.warning("authentication failed: actor=anonymous route=%s reason=%s", where, reason)
        return Access(refusal=Unauthenticated(
            Text("send `Authorization: Bearer <token>`",
                 "hãy gửi kèm mã truy cập: `Authorization: Bearer <token>`"),
            headers={"WWW-Authenticate": CHALLENGE},
        ))
    token_hash = hash_token(token)
    found = await repository.authenticate(connection, token_hash, idempotency_key)
    if found["failure"] is not None:
        actor = found["token_id"] or f"presented:{token_hash[:12]}"
        log.warning("authentication failed: actor=%s route=%s reason=%s",
                    actor, where, found["failure"])
        return Access(refusal=Unauthenticated(
            Text("the bearer token is unknown, expired or revoked",
                 "mã truy cập không đúng, đã hết hạn hoặc đã bị thu hồi"),
            headers={"WWW-Authenticate": INVALID_TOKEN_CHALLENGE},
        ))
    principal = principal_of(found)
    if not rule.allows(principal.access):
        log.warning("authorisation refused: actor=%s token=%s route=%s reason=%s may not call"
                    " this route", principal.actor, principal.token_id, where, principal.access)
        return Access(refusal=Forbidden(
            Text("a {access} token may not call {route}",
                 "mã truy cập loại {access} không được gọi {route}"),
            access=principal.access, route=where,
        ))
    stored = found if found["request_hash"] is not None else None
    return Access(principal=principal, token_hash=token_hash, stored=stored,
                  looked_up=idempotency_key is not None)


async def restore_scope(connection: asyncpg.Connection, access: Access) -> None:
    """Set the same scope again in a new transaction on this connection."""
    if access.token_hash is not None:
        await repository.authenticate(connection, access.token_hash)
