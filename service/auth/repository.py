"""The per-request authentication query."""

from __future__ import annotations

import asyncpg


async def authenticate(connection: asyncpg.Connection, token_hash: str) -> asyncpg.Record:
    """Look the token and its person up by hash and, when the token may be used, set
    this transaction's scope.

    One statement, one round trip (see `clubfund_authenticate` in the people
    migration). `failure` is NULL for a usable token, otherwise `unknown_token`,
    `revoked` or `expired`; role, scope and member are the person's; `club_ids` and
    `fund_ids` list the clubs and funds in scope (NULL for an admin: every one).
    """
    record: asyncpg.Record = await connection.fetchrow(
        "SELECT token_id, person_id, role, scope, can_write, member_id, failure, club_ids,"
        " fund_ids FROM clubfund_authenticate($1)",
        token_hash,
    )
    return record


async def grant_all_funds(connection: asyncpg.Connection) -> None:
    """Operator tools (the command line) act on every fund, for this transaction only."""
    await connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)")
