"""Every query on the audit log: records, Merkle nodes, tree state, signed heads, the feed."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg

# Rows a streaming read fetches per round trip.
STREAM_BATCH_SIZE = 2000


@dataclass
class AuditRecords:
    """Records to append to one log, in order, as columns (see `append_records`)."""

    log_id: uuid.UUID
    actions: list[str] = field(default_factory=list)
    subject_ids: list[uuid.UUID | None] = field(default_factory=list)
    heads: list[bytes] = field(default_factory=list)
    tails: list[bytes] = field(default_factory=list)

    def arguments(self) -> tuple[Any, ...]:
        """The values of `append_records_query`'s parameters, in order."""
        return self.log_id, self.actions, self.subject_ids, self.heads, self.tails


def append_records_query(first_parameter: int) -> str:
    """The SELECT that appends records in order, their values in five parameters from
    `$first_parameter` on (`AuditRecords.arguments`); it answers each record's place,
    audit_sequence and audit_leaf_hash. The database function, called once per record
    in the records' order, locks the fund, numbers and hashes the record, and stores the
    new Merkle nodes and frontier (see the audit_log migration)."""
    log, actions, subjects, heads, tails = (f"${first_parameter + n}" for n in range(5))
    return f"""
        SELECT r.place, a.audit_sequence, a.audit_leaf_hash
          FROM unnest({actions}::text[], {subjects}::uuid[], {heads}::bytea[],
                      {tails}::bytea[])
               WITH ORDINALITY AS r(action, subject_id, head, tail, place)
         CROSS JOIN LATERAL append_audit_record({log}, r.action, r.subject_id, r.head,
                                                r.tail) AS a
         ORDER BY r.place
    """


def appended_in_order(rows: Sequence[asyncpg.Record], count: int) -> list[tuple[int, bytes]]:
    """(sequence, leaf hash) of each record appended by `append_records_query`."""
    appended = [(int(row["audit_sequence"]), bytes(row["audit_leaf_hash"])) for row in rows]
    first = appended[0][0]
    if [sequence for sequence, _ in appended] != list(range(first, first + count)):
        raise RuntimeError("audit records were not appended in the order given")
    return appended


async def append_records(
    connection: asyncpg.Connection, records: AuditRecords
) -> list[tuple[int, bytes]]:
    """Append records in order (one round trip): (sequence, leaf hash) of each."""
    rows = await connection.fetch(append_records_query(1), *records.arguments())
    return appended_in_order(rows, len(records.actions))


async def scope_transaction_to_fund(connection: asyncpg.Connection, fund_id: uuid.UUID) -> None:
    """Row-level security: this transaction sees `fund_id`'s rows (and only those)."""
    await connection.execute(
        "SELECT set_config('clubfund.all_funds', 'off', true),"
        " set_config('clubfund.fund_ids', $1, true)",
        "{" + str(fund_id) + "}",
    )


async def log_exists(connection: asyncpg.Connection, fund_id: uuid.UUID) -> bool:
    """A fund's log exists once the fund does; the service-wide log always does."""
    found = await connection.fetchval(
        "SELECT EXISTS (SELECT FROM funds WHERE id = $1)"
        " OR EXISTS (SELECT FROM audit_trees WHERE fund_id = $1)",
        fund_id,
    )
    return bool(found)


async def get_tree(
    connection: asyncpg.Connection, fund_id: uuid.UUID
) -> tuple[int, list[bytes]]:
    """(tree size, frontier) of a log as last committed; (0, []) when it has no record."""
    row = await connection.fetchrow(
        "SELECT tree_size, frontier FROM audit_trees WHERE fund_id = $1", fund_id
    )
    if row is None:
        return 0, []
    return int(row["tree_size"]), [bytes(h) for h in row["frontier"]]


async def list_records(
    connection: asyncpg.Connection, fund_id: uuid.UUID, after_sequence: int | None, limit: int
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        "SELECT sequence, leaf_hash, record FROM audit_records"
        " WHERE fund_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3",
        fund_id, after_sequence or 0, limit,
    ))


async def get_record(
    connection: asyncpg.Connection, fund_id: uuid.UUID, sequence: int
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        "SELECT sequence, leaf_hash, record FROM audit_records"
        " WHERE fund_id = $1 AND sequence = $2",
        fund_id, sequence,
    )
    return record


async def find_subject_record(
    connection: asyncpg.Connection, subject_id: uuid.UUID, actions: Sequence[str]
) -> asyncpg.Record | None:
    """The first record about `subject_id` (e.g. the one that posted an entry)."""
    record: asyncpg.Record | None = await connection.fetchrow(
        """
        SELECT r.fund_id, r.sequence, r.leaf_hash, r.record
          FROM entries e
          JOIN audit_records r ON r.fund_id = e.fund_id AND r.subject_id = e.id
         WHERE e.id = $1 AND r.action = ANY($2::text[])
         ORDER BY r.sequence LIMIT 1
        """,
        subject_id, list(actions),
    )
    return record


async def get_nodes(
    connection: asyncpg.Connection, fund_id: uuid.UUID, wanted: Sequence[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Stored perfect-subtree hashes by (level, index); level 0 is a leaf."""
    if not wanted:
        return {}
    leaves = [index for level, index in wanted if level == 0]
    inner = [(level, index) for level, index in wanted if level > 0]
    rows = await connection.fetch(
        """
        SELECT n.level, n.index, n.hash
          FROM audit_nodes n
          JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, index)
            ON n.level = w.level AND n.index = w.index
         WHERE n.fund_id = $1
        UNION ALL
        SELECT 0, r.sequence - 1, r.leaf_hash
          FROM audit_records r
         WHERE r.fund_id = $1 AND r.sequence = ANY($4::bigint[])
        """,
        fund_id, [level for level, _ in inner], [index for _, index in inner],
        [index + 1 for index in leaves],
    )
    return {(int(r["level"]), int(r["index"])): bytes(r["hash"]) for r in rows}


async def latest_head(
    connection: asyncpg.Connection, fund_id: uuid.UUID, key_id: str
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        "SELECT fund_id, tree_size, root_hash, timestamp, key_id, signature FROM audit_heads"
        " WHERE fund_id = $1 AND key_id = $2 ORDER BY tree_size DESC LIMIT 1",
        fund_id, key_id,
    )
    return record


async def insert_head(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, tree_size: int, root_hash: str,
    timestamp: str, key_id: str, signature: str,
) -> None:
    """Keep a signed head; a head for the same size and key signed concurrently wins."""
    await connection.execute(
        """
        INSERT INTO audit_heads (fund_id, tree_size, key_id, root_hash, timestamp, signature)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT DO NOTHING
        """,
        fund_id, tree_size, key_id, root_hash, timestamp, signature,
    )


async def list_heads(connection: asyncpg.Connection, fund_id: uuid.UUID) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        "SELECT fund_id, tree_size, root_hash, timestamp, key_id, signature FROM audit_heads"
        " WHERE fund_id = $1 ORDER BY tree_size, key_id",
        fund_id,
    ))


async def list_logs(connection: asyncpg.Connection) -> list[uuid.UUID]:
    """Every log that has records: the service-wide log and each fund's."""
    rows = await connection.fetch(
        "SELECT fund_id FROM audit_trees WHERE tree_size > 0 ORDER BY fund_id"
    )
    return [r["fund_id"] for r in rows]


def stream_records(
    connection: asyncpg.Connection, fund_id: uuid.UUID
) -> AsyncIterator[asyncpg.Record]:
    """Every record of a log in stored sequence order (a cursor: call inside a transaction)."""
    cursor: AsyncIterator[asyncpg.Record] = aiter(connection.cursor(
        "SELECT sequence, action, leaf_hash, record FROM audit_records"
        " WHERE fund_id = $1 ORDER BY sequence",
        fund_id, prefetch=STREAM_BATCH_SIZE,
    ))
    return cursor


def stream_nodes(
    connection: asyncpg.Connection, fund_id: uuid.UUID
) -> AsyncIterator[asyncpg.Record]:
    """Every stored interior node in the order appends created them (inside a transaction)."""
    cursor: AsyncIterator[asyncpg.Record] = aiter(connection.cursor(
        """
        SELECT level, index, hash
          FROM audit_nodes
         WHERE fund_id = $1
         ORDER BY ((index + 1) << level) - 1, level
        """,
        fund_id, prefetch=STREAM_BATCH_SIZE,
    ))
    return cursor


def stream_entries(
    connection: asyncpg.Connection, fund_id: uuid.UUID
) -> AsyncIterator[asyncpg.Record]:
    """Every entry of a fund with its postings, in entry sequence order (inside a transaction)."""
    cursor: AsyncIterator[asyncpg.Record] = aiter(connection.cursor(
        """
        SELECT e.id, e.sequence, e.voucher_number, e.effective_date, e.recorded_at,
               e.description, e.currency, e.metadata, e.reverses_entry_id, e.actor, e.hash,
               (SELECT json_agg(json_build_object(
                           'line', p.line, 'account_id', p.account_id, 'side', p.side,
                           'amount', p.amount, 'currency', p.currency) ORDER BY p.line)
                  FROM postings p
                 WHERE p.fund_id = e.fund_id AND p.entry_id = e.id) AS postings
          FROM entries e
         WHERE e.fund_id = $1
         ORDER BY e.sequence
        """,
        fund_id, prefetch=STREAM_BATCH_SIZE,
    ))
    return cursor


async def account_totals(
    connection: asyncpg.Connection, fund_id: uuid.UUID
) -> list[asyncpg.Record]:
    """Per account: the stored balance and the sums of its postings."""
    return list(await connection.fetch(
        """
        SELECT a.id, a.code, b.debits, b.credits,
               coalesce(p.debits, 0) AS posted_debits, coalesce(p.credits, 0) AS posted_credits
          FROM accounts a
          LEFT JOIN account_balances b ON b.fund_id = a.fund_id AND b.account_id = a.id
          LEFT JOIN (SELECT account_id,
                            sum(amount) FILTER (WHERE side = 'debit') AS debits,
                            sum(amount) FILTER (WHERE side = 'credit') AS credits
                       FROM postings WHERE fund_id = $1 GROUP BY account_id) p
            ON p.account_id = a.id
         WHERE a.fund_id = $1
         ORDER BY a.code
        """,
        fund_id,
    ))


async def list_events(
    connection: asyncpg.Connection, after: tuple[int, uuid.UUID, int] | None, limit: int,
    fund_ids: list[uuid.UUID] | None = None,
) -> list[asyncpg.Record]:
    """Records of every log in feed order, only below the oldest running transaction.

    A record's feed key is at least its transaction's id, and every transaction
    still running (or yet to write) has an id at or above the snapshot's xmin,
    so everything returned here is final: nothing can later appear before it.
    """
    key, fund_id, sequence = after if after is not None else (-1, uuid.UUID(int=0), 0)
    return list(await connection.fetch(
        """
        SELECT feed_key, fund_id, sequence, action, leaf_hash, record
          FROM audit_records
         WHERE feed_key < pg_snapshot_xmin(pg_current_snapshot())::text::bigint
           AND (feed_key, fund_id, sequence) > ($1, $2, $3)
           AND ($5::uuid[] IS NULL OR fund_id = ANY ($5))
         ORDER BY feed_key, fund_id, sequence
         LIMIT $4
        """,
        key, fund_id, sequence, limit, fund_ids,
    ))


def audit_stamp_column(fund_column: str, subject_column: str, actions: Sequence[str]) -> str:
    """A SELECT column: {"sequence", "leaf_hash"} of the record that wrote a row, or null."""
    listed = ", ".join("'" + action.replace("'", "''") + "'" for action in actions)
    return f"""(SELECT json_build_object('sequence', r.sequence,
                                         'leaf_hash', encode(r.leaf_hash, 'hex'))
                  FROM audit_records r
                 WHERE r.fund_id = {fund_column} AND r.subject_id = {subject_column}
                   AND r.action IN ({listed})
                 ORDER BY r.sequence LIMIT 1)"""


async def latest_audit_stamps(
    connection: asyncpg.Connection, fund_id: uuid.UUID, subject_ids: list[uuid.UUID],
    action: str,
) -> dict[uuid.UUID, dict[str, Any]]:
    """subject → {"sequence", "leaf_hash"} of its latest record of `action`."""
    rows = await connection.fetch(
        """
        SELECT DISTINCT ON (r.subject_id) r.subject_id, r.sequence,
               encode(r.leaf_hash, 'hex') AS leaf_hash
          FROM audit_records r
         WHERE r.fund_id = $1 AND r.subject_id = ANY ($2::uuid[]) AND r.action = $3
         ORDER BY r.subject_id, r.sequence DESC
        """,
        fund_id, subject_ids, action,
    )
    return {r["subject_id"]: {"sequence": r["sequence"], "leaf_hash": r["leaf_hash"]}
            for r in rows}


async def widen_scope_to_fund(connection: asyncpg.Connection, fund_id: uuid.UUID) -> str | None:
    """Row-level security: this transaction also sees `fund_id`'s rows. Returns the
    previous setting, for `restore_fund_scope`."""
    previous: str | None = await connection.fetchval(
        "SELECT current_setting('clubfund.fund_ids', true)"
    )
    await connection.execute(
        "SELECT set_config('clubfund.fund_ids', (coalesce(nullif($1, ''), '{}')::uuid[]"
        " || $2::uuid)::text, true)",
        previous, fund_id,
    )
    return previous


async def restore_fund_scope(connection: asyncpg.Connection, previous: str | None) -> None:
    await connection.execute(
        "SELECT set_config('clubfund.fund_ids', $1, true)", previous or ""
    )


async def logs_without_current_head(
    connection: asyncpg.Connection, key_id: str
) -> list[uuid.UUID]:
    """Logs that grew past their latest head under `key_id` (e.g. written from the CLI)."""
    rows = await connection.fetch(
        """
        SELECT t.fund_id
          FROM audit_trees t
         WHERE t.tree_size > 0
           AND t.tree_size > coalesce((SELECT max(h.tree_size) FROM audit_heads h
                                        WHERE h.fund_id = t.fund_id AND h.key_id = $1), 0)
         ORDER BY t.fund_id
        """,
        key_id,
    )
    return [r["fund_id"] for r in rows]


async def heads_to_witness(
    connection: asyncpg.Connection, key_id: str, witness_key: str
) -> list[asyncpg.Record]:
    """Per fund log: its latest head under `key_id` and the size `witness_key` last
    cosigned, where the head is newer (the service-wide log is not witnessed)."""
    return list(await connection.fetch(
        """
        SELECT t.fund_id, h.tree_size, h.root_hash, w.witnessed_size
          FROM audit_trees t
         CROSS JOIN LATERAL (SELECT tree_size, root_hash FROM audit_heads
                              WHERE fund_id = t.fund_id AND key_id = $1
                              ORDER BY tree_size DESC LIMIT 1) h
          LEFT JOIN LATERAL (SELECT max(c.tree_size) AS witnessed_size
                               FROM audit_cosignatures c
                              WHERE c.fund_id = t.fund_id AND c.witness_key = $2) w ON true
         WHERE t.fund_id <> '00000000-0000-0000-0000-000000000000'
           AND h.tree_size > coalesce(w.witnessed_size, 0)
         ORDER BY t.fund_id
        """,
        key_id, witness_key,
    ))


async def insert_cosignature(
    connection: asyncpg.Connection, fund_id: uuid.UUID, tree_size: int, witness_key: str,
    signature_line: str,
) -> None:
    await connection.execute(
        """
        INSERT INTO audit_cosignatures (fund_id, tree_size, witness_key, signature_line)
        VALUES ($1, $2, $3, $4)
        ON CONFLICT DO NOTHING
        """,
        fund_id, tree_size, witness_key, signature_line,
    )


async def list_cosignatures(
    connection: asyncpg.Connection, fund_id: uuid.UUID, tree_size: int
) -> list[str]:
    rows = await connection.fetch(
        "SELECT signature_line FROM audit_cosignatures WHERE fund_id = $1 AND tree_size = $2"
        " ORDER BY witness_key",
        fund_id, tree_size,
    )
    return [r["signature_line"] for r in rows]
