"""One database transaction per request, and idempotent POSTs.

`TransactionMiddleware` is the single place where a request's transaction is
opened, committed or rolled back: the handler gets the connection through
`get_connection`, and the response is sent only after COMMIT succeeded, so a
client never sees a 2xx for something that was not stored. A 4xx or 5xx rolls
everything back: bad input leaves nothing written.

Before anything else the request is authenticated and its fund scope set in
its transaction (`service.auth.service.authorise_request`): every query of the
request, including the idempotency lookup, runs under row-level security.

Idempotency (docs/design.md rule 5): a POST with `Idempotency-Key` is looked up
first; if a response is stored for the same caller and key, it is replayed when
the request is the same (method, path and canonical JSON body) and refused
with 409 `idempotency_conflict` otherwise. A successful response is stored in
the same transaction as the write it describes, sent with its COMMIT in one
round trip (`store_response_and_commit`), keyed by the caller (its token
id) and the fund it wrote to (`request.state.fund_id`). Two concurrent requests
with one key: the second blocks on the first's row, its insert conflicts, its
own writes are rolled back and the first's response is replayed (looked up in
a new transaction under the same scope).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import rfc8785
from asyncpg.transaction import Transaction, TransactionState
from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.canonical_json import canonical_json
from ledger.input_limits import FORBIDDEN_CHARACTERS, TEXT_PATTERN
from service.audit.background import sign_heads_before_commit, wake_background
from service.audit.service import LOGS_WRITTEN
from service.auth.service import authorise_request, restore_scope
from service.errors import (
    DatabaseUnavailable,
    IdempotencyConflict,
    ValidationFailed,
    add_problems,
    is_database_unreachable,
    problem_for,
)
from service.language import Language, Text, language_of
from service.request_limits import replay_body

# POSTs that create no fund-scoped row keep their idempotency record here.
GLOBAL_FUND_ID = uuid.UUID(int=0)
IDEMPOTENCY_KEY_LENGTH_MAX = 200
REPLAY_HEADER = b"idempotent-replayed"
NO_TRANSACTION_PATHS = ("/healthz", "/metrics", "/docs", "/openapi.json")


# The service takes the key on every POST and requires it on none.
IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Your unique key for this write (1–200 characters, no control characters), for"
        " example a UUID made when the user pressed Save. Repeating the request with the"
        " same key and body replays the first answer (`Idempotent-Replayed: true`) and"
        " writes nothing again; the same key with another request is `409"
        " idempotency_conflict`. Keys belong to the caller's token. Send one with every"
        " POST, and retry a POST that got no answer with the same key and body."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": IDEMPOTENCY_KEY_LENGTH_MAX,
               "pattern": TEXT_PATTERN},
    "example": "6f1d2c3b-8a4e-4f7d-b2c9-0e5a7d3f9b14",
}
REPLAYED_HEADER_DOCUMENT: dict[str, Any] = {
    "description": "`true` when this is the stored answer to an earlier request with the"
                   " same `Idempotency-Key` (nothing was written again)",
    "schema": {"type": "string", "enum": ["true"]},
}


def document_idempotency(app: FastAPI) -> None:
    """Declare `Idempotency-Key`, its 409 and `Idempotent-Replayed` on every POST in OpenAPI
    (optional, except on a route that declares the header itself: it requires it)."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()
        for operations in schema.get("paths", {}).values():
            operation = operations.get("post")
            if operation is None:
                continue
            parameters: list[dict[str, Any]] = operation.setdefault("parameters", [])
            own = [n for n, p in enumerate(parameters)
                   if p.get("in") == "header" and p.get("name", "").lower() == "idempotency-key"]
            for index in own:  # a route declares the key itself only to require it
                parameters[index] = {**IDEMPOTENCY_KEY_PARAMETER, "required": True}
            if not own:
                parameters.append(IDEMPOTENCY_KEY_PARAMETER)
            responses = operation.setdefault("responses", {})
            add_problems(responses, (IdempotencyConflict,))
            for status, response in responses.items():
                if status.startswith("2"):
                    response.setdefault("headers", {})["Idempotent-Replayed"] = (
                        REPLAYED_HEADER_DOCUMENT)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    try:
        canonical = canonical_json(json.loads(body)) if body else b""
    except (ValueError, rfc8785.CanonicalizationError):
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, canonical):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


async def get_connection(request: Request) -> asyncpg.Connection:
    """FastAPI dependency: the request's connection, inside its transaction."""
    connection: asyncpg.Connection = request.state.connection
    return connection


class TransactionMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(NO_TRANSACTION_PATHS):
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)
        language = language_of(header(scope, b"accept-language"))
        method: str = scope["method"]
        key = header(scope, b"idempotency-key")
        if method != "POST":
            key = None
        if key is not None and (not 1 <= len(key) <= IDEMPOTENCY_KEY_LENGTH_MAX
                                or FORBIDDEN_CHARACTERS.search(key)):
            await send_response(send, problem_for(ValidationFailed(
                Text("Idempotency-Key must be 1 to {length_max} characters,"
                     " no control characters",
                     "Idempotency-Key phải dài từ 1 đến {length_max} ký tự,"
                     " không có ký tự điều khiển"),
                length_max=IDEMPOTENCY_KEY_LENGTH_MAX,
            ), language))
            return
        fingerprint = request_hash(method, scope["path"], scope.get("query_string", b""), body)
        app_state = scope["app"].state
        pool: asyncpg.Pool = app_state.pool
        try:
            connection = await pool.acquire(
                timeout=app_state.settings.database_acquire_timeout_seconds
            )
        except (OSError, asyncpg.PostgresError) as error:
            # No socket, refused, starting up, or no connection free in time.
            raise DatabaseUnavailable(Text("no database connection: {reason}",
                                           "không có kết nối cơ sở dữ liệu: {reason}"),
                                      reason=type(error).__name__) from error
        try:
            await self.serve_in_transaction(connection, scope, send, body, key, fingerprint,
                                            language)
        finally:
            try:
                await pool.release(connection)
            except Exception as error:  # a lost connection is discarded, not returned
                if not is_database_unreachable(error):
                    raise

    async def serve_in_transaction(
        self, connection: asyncpg.Connection, scope: Scope, send: Send, body: bytes,
        key: str | None, fingerprint: str, language: Language,
    ) -> None:
        transaction = connection.transaction()
        await transaction.start()
        stored = None
        try:
            # Authenticate and set this transaction's fund scope before anything
            # else reads a row (see service/auth/service.py).
            access = await authorise_request(connection, scope, key)
            if access.principal is None:
                key = None
            if access.refusal is None and key is not None:
                stored = access.stored if access.looked_up else await find_stored_response(
                    connection, access.principal_id, key)
        except BaseException:
            await roll_back(connection, transaction)
            raise
        if access.refusal is not None or stored is not None:
            await roll_back(connection, transaction)
            if access.refusal is not None:
                await send_response(send, problem_for(access.refusal, language))
            else:
                assert stored is not None
                await replay(send, stored, fingerprint, language)
            return
        principal_id = access.principal_id
        captured = CapturedResponse()
        state = scope.setdefault("state", {})
        state["connection"] = connection
        state["principal_id"] = principal_id
        state["principal"] = access.principal
        state["actor"] = access.actor
        try:
            await self.app(scope, replay_body(body), captured.send)
        except BaseException:
            await roll_back(connection, transaction)
            raise
        if captured.status >= 400:
            await roll_back(connection, transaction)
            await captured.flush(send)
            return
        logs_written = state.get(LOGS_WRITTEN)
        try:
            if logs_written:
                await sign_heads_before_commit(scope["app"], connection, logs_written)
            if key is None:
                await transaction.commit()
            else:
                fund_id = state.get("fund_id") or GLOBAL_FUND_ID
                stored_now = await store_response_and_commit(
                    connection, transaction, fund_id, principal_id, key, fingerprint,
                    captured, state.get("replay_redacted_fields", ()),
                )
                if not stored_now:
                    await roll_back(connection, transaction)
                    async with connection.transaction():
                        await restore_scope(connection, access)
                        stored = await find_stored_response(connection, principal_id, key)
                    assert stored is not None
                    await replay(send, stored, fingerprint, language)
                    return
        except asyncpg.PostgresError as error:
            await roll_back(connection, transaction)
            await send_response(send, problem_for(error, language))
            return
        if logs_written:
            wake_background(scope["app"])
        await captured.flush(send)


async def roll_back(connection: asyncpg.Connection, transaction: Transaction) -> None:
    """Roll the request's transaction back. On a connection already lost there is nothing
    to roll back (the server discards the transaction with the session): no error."""
    try:
        if connection.is_closed() or not connection.is_in_transaction():
            return
        await transaction.rollback()
    except Exception as error:
        if not is_database_unreachable(error):
            raise


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            text: str = value.decode("latin-1")
            return text
    return None


class CapturedResponse:
    """Holds the handler's response until the transaction has committed."""

    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body.extend(message.get("body", b""))

    def content_type(self) -> str:
        for name, value in self.headers:
            if name == b"content-type":
                return value.decode("latin-1")
        return "application/json"

    async def flush(self, send: Send) -> None:
        headers = [(n, v) for n, v in self.headers if n != b"content-length"]
        headers.append((b"content-length", str(len(self.body)).encode()))
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": bytes(self.body)})


async def send_response(send: Send, response: Any) -> None:
    await response({"type": "http"}, replay_body(b""), send)


async def find_stored_response(
    connection: asyncpg.Connection, principal_id: str, key: str
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        """
        SELECT request_hash, response_status, response_body
          FROM idempotency_records
         WHERE principal_id = $1 AND key = $2
        """,
        principal_id, key,
    )
    return record


async def store_response_and_commit(
    connection: asyncpg.Connection, transaction: Transaction, fund_id: uuid.UUID,
    principal_id: str, key: str, fingerprint: str, captured: CapturedResponse,
    redacted_fields: tuple[str, ...] = (),
) -> bool:
    """Store the response and COMMIT, in one round trip; False when another request with
    this key stored its response first (then nothing is committed and the transaction,
    failed, is left for the caller to roll back).

    `redacted_fields` (top-level JSON fields, e.g. a new token's secret) are
    stored as null: a replay never shows a secret again.

    The two statements go as one simple query, which takes no parameters: every value is
    written as a literal of hexadecimal digits, a uuid's text or an integer
    (`stored_response_statement`), so nothing the caller sent can end a literal.
    """
    body = bytes(captured.body)
    if redacted_fields:
        document = json.loads(body)
        document.update(dict.fromkeys(redacted_fields))
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    statement = stored_response_statement(
        fund_id, principal_id, key, fingerprint, captured.status, body, datetime.now(UTC))
    committed = False
    try:
        await connection.execute(statement + ";\nCOMMIT")
        committed = True
    except asyncpg.UniqueViolationError as error:
        if error.table_name != "idempotency_records":
            raise
        return False
    finally:
        # Committed, or COMMIT failed (a lost connection is discarded by the pool).
        if not connection.is_closed() and not connection.is_in_transaction():
            transaction_ended(connection, transaction, committed)
    return True


def stored_response_statement(
    fund_id: uuid.UUID, principal_id: str, key: str, fingerprint: str, status: int,
    body: bytes, created_at: datetime,
) -> str:
    """The INSERT of a stored response, its values as literals: text and bytes as
    hexadecimal digits decoded by the server, the fund as a uuid's text, the status as
    an integer. A second answer for the same caller and key is a unique violation."""

    def text(value: str) -> str:
        return f"convert_from(decode('{value.encode().hex()}', 'hex'), 'UTF8')"

    return (
        "INSERT INTO idempotency_records (fund_id, principal_id, key, request_hash,"
        " response_status, response_body, created_at) VALUES ("
        f"'{uuid.UUID(str(fund_id))}'::uuid, {text(principal_id)}, {text(key)},"
        f" {text(fingerprint)}, {int(status)}, decode('{body.hex()}', 'hex'),"
        f" {text(created_at.isoformat())}::timestamptz)"
    )


def transaction_ended(
    connection: asyncpg.Connection, transaction: Transaction, committed: bool
) -> None:
    """Tell asyncpg that the server ended the request's transaction in a statement of
    ours (`store_response_and_commit`), as its own `Transaction.commit` would have: the
    connection holds no transaction, so nested `connection.transaction()` blocks start
    a new one and the pool's release sends no ROLLBACK. asyncpg has no public call for
    this (tests/api/test_idempotency_commit.py checks the release sends nothing)."""
    raw = getattr(connection, "_con", connection)  # the pool's proxy wraps the connection
    if raw._top_xact is transaction:
        raw._top_xact = None
    transaction._state = TransactionState.COMMITTED if committed else TransactionState.FAILED


async def replay(
    send: Send, stored: asyncpg.Record, fingerprint: str, language: Language
) -> None:
    if stored["request_hash"] != fingerprint:
        await send_response(send, problem_for(IdempotencyConflict(Text(
            "this Idempotency-Key was used before with a different request",
            "khóa Idempotency-Key này đã được dùng trước đây cho một yêu cầu khác",
        )), language))
        return
    body: bytes = stored["response_body"]
    await send({
        "type": "http.response.start",
        "status": stored["response_status"],
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (REPLAY_HEADER, b"true"),
        ],
    })
    await send({"type": "http.response.body", "body": body})
