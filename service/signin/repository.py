"""Every query on web sign-in: credentials (PIN, setup code, lock-out) and sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg


async def person_by_phone(connection: asyncpg.Connection, phone: str) -> uuid.UUID | None:
    """The person with this phone, read before anyone is signed in."""
    person_id: uuid.UUID | None = await connection.fetchval(
        "SELECT clubfund_person_by_phone($1)", phone)
    return person_id


async def act_as_person(connection: asyncpg.Connection, person_id: uuid.UUID) -> None:
    """For the rest of this transaction, the person who proved her PIN sees her own row
    (the people policy lets a person see herself)."""
    await connection.execute("SELECT set_config('clubfund.person_id', $1, true)",
                             str(person_id))


async def credential_for_update(
    connection: asyncpg.Connection, person_id: uuid.UUID
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        "SELECT person_id, pin_hash, setup_code_hash, setup_code_expires_at,"
        " failed_attempts_count, locked_until FROM web_credentials WHERE person_id = $1"
        " FOR UPDATE",
        person_id,
    )
    return record


async def save_setup_code(
    connection: asyncpg.Connection, person_id: uuid.UUID, code_hash: str, expires_at: datetime,
    now: datetime,
) -> None:
    """A new setup code replaces any earlier one and clears the lock-out; the PIN stays
    until the code is used."""
    await connection.execute(
        """
        INSERT INTO web_credentials (person_id, pin_hash, setup_code_hash, setup_code_expires_at,
                                     failed_attempts_count, locked_until, updated_at)
        VALUES ($1, NULL, $2, $3, 0, NULL, $4)
        ON CONFLICT (person_id) DO UPDATE
           SET setup_code_hash = $2, setup_code_expires_at = $3, failed_attempts_count = 0,
               locked_until = NULL, updated_at = $4
        """,
        person_id, code_hash, expires_at, now,
    )


async def save_pin(
    connection: asyncpg.Connection, person_id: uuid.UUID, pin_hash: str, now: datetime
) -> None:
    """The PIN set with the setup code, which is used up."""
    await connection.execute(
        "UPDATE web_credentials SET pin_hash = $2, setup_code_hash = NULL,"
        " setup_code_expires_at = NULL, failed_attempts_count = 0, locked_until = NULL,"
        " updated_at = $3 WHERE person_id = $1",
        person_id, pin_hash, now,
    )


async def save_attempt(
    connection: asyncpg.Connection, person_id: uuid.UUID, failed_attempts_count: int,
    locked_until: datetime | None, now: datetime,
) -> None:
    await connection.execute(
        "UPDATE web_credentials SET failed_attempts_count = $2, locked_until = $3,"
        " updated_at = $4 WHERE person_id = $1",
        person_id, failed_attempts_count, locked_until, now,
    )


async def insert_session(
    connection: asyncpg.Connection, *, session_id: uuid.UUID, token_id: str,
    person_id: uuid.UUID, csrf_token: str, created_at: datetime, expires_at: datetime,
) -> None:
    await connection.execute(
        "INSERT INTO web_sessions (id, token_id, person_id, csrf_token, created_at, expires_at)"
        " VALUES ($1, $2, $3, $4, $5, $6)",
        session_id, token_id, person_id, csrf_token, created_at, expires_at,
    )


async def open_session(
    connection: asyncpg.Connection, token_id: str, now: datetime
) -> asyncpg.Record | None:
    """The session of this token, when it has not ended or expired."""
    record: asyncpg.Record | None = await connection.fetchrow(
        "SELECT id, token_id, person_id, csrf_token, expires_at FROM web_sessions"
        " WHERE token_id = $1 AND ended_at IS NULL AND expires_at > $2",
        token_id, now,
    )
    return record


async def end_session(connection: asyncpg.Connection, token_id: str, now: datetime) -> None:
    await connection.execute(
        "UPDATE web_sessions SET ended_at = $2 WHERE token_id = $1 AND ended_at IS NULL",
        token_id, now,
    )
