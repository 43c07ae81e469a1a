"""Issuing, listing and revoking bearer tokens.

A token is `cf_` + 43 characters of URL-safe base64 (256 random bits). Only
its SHA-256 hash is stored; the token itself is shown once, in the response
that creates it (or on the command line's last output line).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

import asyncpg

from service.audit.service import record_write
from service.auth.service import hash_token
from service.context import RequestContext
from service.errors import InvalidScope, NotFound
from service.pagination import Page, decode_cursor, make_page, text_key
from service.tokens import repository
from service.tokens.schemas import TokenCreate, TokenCreated, TokenRead

TOKEN_PREFIX = "cf_"
CLUB_ROLES = ("treasurer", "chair")


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(8)


async def parse_scope(
    connection: asyncpg.Connection, role: str, scope: str | None
) -> tuple[uuid.UUID | None, str | None]:
    """(club id, area code) of a scope, checked against the role and the reference data."""
    if role == "admin":
        if scope is not None:
            raise InvalidScope("an admin token has no scope (it sees every fund)")
        return None, None
    if scope is None:
        needed = "`club:<club_id>`" if role in CLUB_ROLES else "`club:<club_id>` or `area:<code>`"
        raise InvalidScope(f"a {role} token needs a scope: {needed}")
    kind, _, value = scope.partition(":")
    if kind == "club":
        try:
            club_id = uuid.UUID(value)
        except ValueError as error:
            raise InvalidScope(f"{value!r} is not a club id") from error
        if not await repository.club_exists(connection, club_id):
            raise InvalidScope(f"club {club_id} does not exist")
        return club_id, None
    if role in CLUB_ROLES:
        raise InvalidScope(f"a {role} token is scoped to one club: `club:<club_id>`")
    if not await repository.area_exists(connection, value):
        raise InvalidScope(f"area {value!r} does not exist")
    return None, value


async def issue_token(
    connection: asyncpg.Connection, body: TokenCreate, created_by: str, now: datetime
) -> TokenCreated:
    """Create a token on `connection` (inside the caller's transaction)."""
    club_id, area_code = await parse_scope(connection, body.role, body.scope)
    secret = new_token_secret()
    record = await repository.insert_token(
        connection, token_id=new_token_id(), token_hash=hash_token(secret), role=body.role,
        scope_club_id=club_id, scope_area_code=area_code,
        can_write=body.write and body.role == "integration", label=body.label,
        created_at=now, created_by=created_by,
        expires_at=now + timedelta(days=body.expires_days) if body.expires_days else None,
    )
    return TokenCreated(**dict(record), token=secret)


async def create_token(ctx: RequestContext, body: TokenCreate) -> TokenCreated:
    ctx.keeps_out_of_replay("token")
    created = await issue_token(ctx.connection, body, ctx.actor, ctx.now)
    await record_write(ctx, None, "token.created", created.model_dump(mode="json",
                                                                      exclude={"token"}))
    return created


async def list_tokens(ctx: RequestContext, limit: int, cursor: str | None) -> Page[TokenRead]:
    after = decode_cursor(cursor, text_key)
    rows = await repository.list_tokens(ctx.connection, after[0] if after else None,
                                        limit + 1)
    return make_page([TokenRead(**dict(r)) for r in rows], limit, lambda t: [t.id])


async def revoke_token(ctx: RequestContext, token_id: str) -> TokenRead:
    record = await repository.revoke_token(ctx.connection, token_id, ctx.now, ctx.actor)
    if record is None:
        raise NotFound(f"token {token_id} not found")
    token = TokenRead(**dict(record))
    await record_write(ctx, None, "token.revoked", token.model_dump(mode="json"))
    return token
