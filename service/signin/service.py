"""Web sign-in: a phone number and a PIN, first set with a one-time setup code.

- An admin creates a setup code for a person (`POST /v1/people/{id}/setup-code` or
  `clubfund person setup-code`): 8 digits, valid for `SETUP_CODE_DAYS`, stored as an
  argon2id hash, shown once. A new code replaces the old one and lifts a lock-out.
- With her phone and the code the person sets a PIN of `PIN_DIGITS_MIN` to
  `PIN_DIGITS_MAX` digits (argon2id-hashed); the code is used up.
- Signing in: phone and PIN. After `FAILED_ATTEMPTS_MAX` wrong PINs (or setup codes) in
  a row the person's sign-in is locked for `LOCK_MINUTES`; a right PIN resets the count.
- A session is a bearer token of the person (so it has exactly her role and scope, as
  `service.auth` decides for every token) whose secret lives only in an HttpOnly cookie,
  and a `web_sessions` row with the form (CSRF) token; it lasts `SESSION_HOURS`.
  Signing out ends the row and revokes the token.
"""

from __future__ import annotations

import hmac
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ledger.people import InvalidPhone, normalise_phone
from service.audit.service import record_write
from service.auth.service import hash_token
from service.context import RequestContext
from service.errors import FormTokenMissing, NotFound
from service.ids import new_id
from service.language import Text
from service.people import repository as people
from service.people.service import audit_log_of
from service.signin import repository
from service.signin.schemas import SetupCodeCreated
from service.tokens import repository as tokens
from service.tokens.service import new_token_id, new_token_secret

PIN_DIGITS_MIN = 4
PIN_DIGITS_MAX = 8
SETUP_CODE_DIGITS = 8
SETUP_CODE_DAYS = 7
FAILED_ATTEMPTS_MAX = 5
LOCK_MINUTES = 15
SESSION_HOURS = 12
SESSION_LABEL = "web sign-in"
CSRF_TOKEN_BYTES = 32
PIN_PATTERN = re.compile(rf"[0-9]{{{PIN_DIGITS_MIN},{PIN_DIGITS_MAX}}}")
hasher = PasswordHasher()  # argon2id with the library's recommended cost
# Verified against when the phone is unknown, so that both cases cost the same.
UNKNOWN_PERSON_HASH = hasher.hash(secrets.token_hex(16))


class Refusal(StrEnum):
    """Why a sign-in (or setting the PIN) did not happen; the pages explain each."""

    WRONG = "wrong"  # unknown phone, wrong PIN or code: the same answer, no oracle
    LOCKED = "locked"
    INVALID_PIN = "invalid_pin"
    PIN_MISMATCH = "pin_mismatch"


@dataclass(frozen=True)
class Session:
    """A new session: the cookie's secret (shown to the browser only) and its form token."""

    secret: str
    csrf_token: str
    expires_at: datetime


@dataclass(frozen=True)
class SignInOutcome:
    session: Session | None = None
    refusal: Refusal | None = None
    locked_until: datetime | None = None


def new_setup_code() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(SETUP_CODE_DIGITS))


def digits_of(typed: str) -> str:
    """What was typed, without the spaces a printed code or a phone keypad adds."""
    return re.sub(r"[\s.\-]", "", typed)[:100]


def verifies(stored_hash: str | None, typed: str) -> bool:
    try:
        return hasher.verify(stored_hash or UNKNOWN_PERSON_HASH, typed) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def issue_setup_code(
    connection: asyncpg.Connection, person_id: uuid.UUID, now: datetime
) -> SetupCodeCreated:
    """A new one-time code for the person (visible on `connection`), replacing any other."""
    person = await people.get_person(connection, person_id)
    if person is None:
        raise NotFound("person", person_id)
    code = new_setup_code()
    expires_at = now + timedelta(days=SETUP_CODE_DAYS)
    await repository.save_setup_code(connection, person_id, hasher.hash(code), expires_at, now)
    return SetupCodeCreated(person_id=person_id, setup_code=f"{code[:4]} {code[4:]}",
                            expires_at=expires_at)


async def give_pin(
    connection: asyncpg.Connection, person_id: uuid.UUID, pin: str, now: datetime
) -> None:
    """Set a person's PIN directly (the demo's known sign-ins), no setup code."""
    await repository.save_setup_code(connection, person_id, hasher.hash(new_setup_code()),
                                     now, now)
    await repository.save_pin(connection, person_id, hasher.hash(pin), now)


async def create_setup_code(ctx: RequestContext, person_id: uuid.UUID) -> SetupCodeCreated:
    ctx.keeps_out_of_replay("setup_code")
    created = await issue_setup_code(ctx.connection, person_id, ctx.now)
    record = await people.get_person(ctx.connection, person_id)
    log_id = await audit_log_of(ctx.connection, record["scope_club_id"] if record else None)
    if log_id is not None:
        ctx.writes_to_fund(log_id)
    await record_write(ctx, log_id, "person.setup_code_created",
                       created.model_dump(mode="json", exclude={"setup_code"}))
    return created


async def start_session(ctx: RequestContext, person_id: uuid.UUID) -> Session:
    await repository.act_as_person(ctx.connection, person_id)
    secret = new_token_secret()
    expires_at = ctx.now + timedelta(hours=SESSION_HOURS)
    token_id = new_token_id()
    await tokens.insert_token(
        ctx.connection, token_id=token_id, token_hash=hash_token(secret), person_id=person_id,
        can_write=False, label=SESSION_LABEL, created_at=ctx.now, created_by=f"person:{person_id}",
        expires_at=expires_at,
    )
    csrf_token = secrets.token_urlsafe(CSRF_TOKEN_BYTES)
    await repository.insert_session(
        ctx.connection, session_id=new_id(), token_id=token_id, person_id=person_id,
        csrf_token=csrf_token, created_at=ctx.now, expires_at=expires_at,
    )
    return Session(secret=secret, csrf_token=csrf_token, expires_at=expires_at)


async def checked_credential(
    ctx: RequestContext, phone_typed: str
) -> tuple[asyncpg.Record | None, SignInOutcome | None]:
    """The person's credential row (locked), or the refusal when she is locked out."""
    try:
        phone = normalise_phone(phone_typed)
    except InvalidPhone:
        return None, None
    person_id = await repository.person_by_phone(ctx.connection, phone)
    if person_id is None:
        return None, None
    credential = await repository.credential_for_update(ctx.connection, person_id)
    if credential is not None and credential["locked_until"] is not None \
            and credential["locked_until"] > ctx.now:
        return credential, SignInOutcome(refusal=Refusal.LOCKED,
                                         locked_until=credential["locked_until"])
    return credential, None


async def count_failure(ctx: RequestContext, credential: asyncpg.Record) -> SignInOutcome:
    """One more wrong attempt; the FAILED_ATTEMPTS_MAX-th locks the sign-in. The caller
    must let this write commit (the pages answer a refused sign-in with 200)."""
    failures = credential["failed_attempts_count"] + 1
    locked_until = None
    if failures >= FAILED_ATTEMPTS_MAX:
        locked_until, failures = ctx.now + timedelta(minutes=LOCK_MINUTES), 0
    await repository.save_attempt(ctx.connection, credential["person_id"], failures,
                                  locked_until, ctx.now)
    if locked_until is not None:
        return SignInOutcome(refusal=Refusal.LOCKED, locked_until=locked_until)
    return SignInOutcome(refusal=Refusal.WRONG)


async def sign_in(ctx: RequestContext, phone_typed: str, pin: str) -> SignInOutcome:
    credential, refused = await checked_credential(ctx, phone_typed)
    if refused is not None:
        return refused
    if not verifies(credential["pin_hash"] if credential else None, digits_of(pin)):
        if credential is None:
            return SignInOutcome(refusal=Refusal.WRONG)
        return await count_failure(ctx, credential)
    assert credential is not None
    await repository.save_attempt(ctx.connection, credential["person_id"], 0, None, ctx.now)
    return SignInOutcome(session=await start_session(ctx, credential["person_id"]))


async def set_pin(
    ctx: RequestContext, phone_typed: str, setup_code: str, pin: str, pin_again: str
) -> SignInOutcome:
    """Set the PIN with the one-time code, and sign in."""
    if not PIN_PATTERN.fullmatch(pin):
        return SignInOutcome(refusal=Refusal.INVALID_PIN)
    if pin != pin_again:
        return SignInOutcome(refusal=Refusal.PIN_MISMATCH)
    credential, refused = await checked_credential(ctx, phone_typed)
    if refused is not None:
        return refused
    valid = credential is not None and credential["setup_code_expires_at"] is not None \
        and credential["setup_code_expires_at"] > ctx.now
    if not verifies(credential["setup_code_hash"] if valid and credential else None,
                    digits_of(setup_code)):
        if credential is None:
            return SignInOutcome(refusal=Refusal.WRONG)
        return await count_failure(ctx, credential)
    assert credential is not None
    await repository.save_pin(ctx.connection, credential["person_id"], hasher.hash(pin), ctx.now)
    return SignInOutcome(session=await start_session(ctx, credential["person_id"]))


async def csrf_token_of(ctx: RequestContext) -> str | None:
    """The form token of the caller's open session (None: she is not signed in on the web)."""
    if ctx.principal is None:
        return None
    session = await repository.open_session(ctx.connection, ctx.principal.token_id, ctx.now)
    return None if session is None else str(session["csrf_token"])


async def check_form_token(ctx: RequestContext, presented: str | None) -> None:
    """A form write goes on only with its session's form token (FormTokenMissing: 403,
    nothing written)."""
    expected = await csrf_token_of(ctx)
    if expected is None or not presented or not hmac.compare_digest(expected, presented):
        raise FormTokenMissing(Text("the form's security token is missing or wrong",
                                    "mã bảo vệ của biểu mẫu bị thiếu hoặc sai"))


async def sign_out(ctx: RequestContext) -> None:
    if ctx.principal is None:
        return
    await repository.end_session(ctx.connection, ctx.principal.token_id, ctx.now)
    await tokens.revoke_token(ctx.connection, ctx.principal.token_id, ctx.now, ctx.actor)
