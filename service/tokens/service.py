"""Issuing, listing and revoking bearer tokens.

A token is `cf_` + 43 characters of URL-safe base64 (256 random bits). Only
its SHA-256 hash is stored; the token itself is shown once, in the response
that creates it (or on the command line's last output line). A token belongs
to a person and takes her role and scope; `write` matters for integrations only.
Its creation and revocation are recorded in its person's audit log (her club's
fund, or the service-wide log).
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from service.audit.service import record_write
from service.auth.service import hash_token
from service.context import RequestContext
from service.errors import LastAdminToken, NotFound, UnknownPerson
from service.language import Text
from service.pagination import Page, decode_cursor, make_page, text_key
from service.people import repository as people
from service.people.schemas import PersonCreate
from service.people.service import add_person, audit_log_of
from service.tokens import repository
from service.tokens.schemas import TokenCreate, TokenCreated, TokenRead

TOKEN_PREFIX = "cf_"


def new_token_secret() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_token_id() -> str:
    return "tok_" + secrets.token_hex(8)


def token_read(record: asyncpg.Record) -> dict[str, Any]:
    return {k: v for k, v in dict(record).items() if k != "scope_club_id"}


async def issue_token(
    connection: asyncpg.Connection, body: TokenCreate, created_by: str, now: datetime
) -> tuple[TokenCreated, uuid.UUID | None]:
    """Create a token on `connection` (inside the caller's transaction); the token and
    the audit log of its person."""
    person = await people.get_person(connection, body.person_id)
    if person is None:
        raise UnknownPerson(Text("person {person} does not exist", "không có người {person}"),
                            person=body.person_id)
    secret = new_token_secret()
    record = await repository.insert_token(
        connection, token_id=new_token_id(), token_hash=hash_token(secret),
        person_id=body.person_id, can_write=body.write and person["role"] == "integration",
        label=body.label, created_at=now, created_by=created_by,
        expires_at=now + timedelta(days=body.expires_days) if body.expires_days else None,
    )
    created = TokenCreated(**token_read(record), token=secret)
    return created, await audit_log_of(connection, record["scope_club_id"])


async def issue_token_to_new_person(
    connection: asyncpg.Connection, person: PersonCreate, created_by: str, now: datetime,
    write: bool = False,
) -> TokenCreated:
    """A new person and a token of hers, unrecorded in the audit log: for setting up
    tests and benchmarks, never for a request or a command."""
    added, _ = await add_person(connection, person, created_by, now)
    created, _ = await issue_token(connection, TokenCreate(person_id=added.id, write=write),
                                   created_by, now)
    return created


async def create_token(ctx: RequestContext, body: TokenCreate) -> TokenCreated:
    ctx.keeps_out_of_replay("token")
    created, log_id = await issue_token(ctx.connection, body, ctx.actor, ctx.now)
    if log_id is not None:
        ctx.writes_to_fund(log_id)
    await record_write(ctx, log_id, "token.created",
                       created.model_dump(mode="json", exclude={"token"}))
    return created


async def list_tokens(ctx: RequestContext, limit: int, cursor: str | None) -> Page[TokenRead]:
    after = decode_cursor(cursor, text_key)
    rows = await repository.list_tokens(ctx.connection, after[0] if after else None,
                                        limit + 1)
    return make_page([TokenRead(**token_read(r)) for r in rows], limit, lambda t: [t.id])


async def revoke_token(ctx: RequestContext, token_id: str) -> TokenRead:
    """Revoke a token, unless it is the last usable admin token: nobody could then issue
    or revoke tokens (409 `last_admin_token`, nothing written)."""
    if await repository.usable_admin_token_ids(ctx.connection, ctx.now) == [token_id]:
        raise LastAdminToken(Text("token {token} is the last usable admin token",
                                  "mã {token} là mã quản trị cuối cùng còn dùng được"),
                             token=token_id)
    record = await repository.revoke_token(ctx.connection, token_id, ctx.now, ctx.actor)
    if record is None:
        raise NotFound("token", token_id)
    token = TokenRead(**token_read(record))
    log_id = await audit_log_of(ctx.connection, record["scope_club_id"])
    await record_write(ctx, log_id, "token.revoked", token.model_dump(mode="json"))
    return token
