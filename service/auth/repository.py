"""The per-request authentication query."""

from __future__ import annotations

import asyncpg


async def authenticate(
    connection: asyncpg.Connection, token_hash: str, idempotency_key: str | None = None,
) -> asyncpg.Record:
    """Look the token and its person up by hash and, when the token may be used, set
    this transaction's scope; with `idempotency_key`, also the answer stored for that
    key and this token, read under that scope.

    One statement, one round trip (see `clubfund_authenticate` in the people
    migration; the stored answer is read by a lateral join, after the function has set
    the scope). `failure` is NULL for a usable token, otherwise `unknown_token`,
    `revoked` or `expired`; role, scope and member are the person's; `club_ids` and
    `fund_ids` list the clubs and funds in scope (NULL for an admin: every one);
    `request_hash`, `response_status` and `response_body` are NULL when no answer is
    stored for the key.
    """
    record: asyncpg.Record = await connection.fetchrow(
        """
        SELECT a.token_id, a.person_id, a.role, a.scope, a.can_write, a.member_id, a.failure,
               a.club_ids, a.fund_ids, i.request_hash, i.response_status, i.response_body
          FROM clubfund_authenticate($1) AS a
          LEFT JOIN LATERAL (
              SELECT r.request_hash, r.response_status, r.response_body
                FROM idempotency_records r
               WHERE a.failure IS NULL AND r.principal_id = a.token_id AND r.key = $2
          ) AS i ON true
        """,
        token_hash, idempotency_key,
    )
    return record


async def grant_all_funds(connection: asyncpg.Connection) -> None:
    """Operator tools (the command line) act on every fund, for this transaction only."""
    await connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)")
