"""Every query of a books import. Rows go in through COPY into temporary tables, then
one INSERT ... SELECT per table, so that every row-level-security policy, check and
trigger of the journal (balances, daily balances, the balancing rule, closed months,
loan schedules) applies exactly as to the API's writes."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Final

import asyncpg

# table: its columns, in the order the service builds its rows.
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "members": ("id", "club_id", "name", "gender", "birth_year", "status", "joined_on",
                "created_at"),
    "accounts": ("fund_id", "id", "code", "name", "type", "normal_side", "allow_negative",
                 "currency", "created_at"),
    "loans": ("fund_id", "id", "number", "member_id", "status", "principal", "installments",
              "frequency", "interest_method", "amortization", "rate_per_period", "day_count",
              "grace_periods", "rounding_unit", "penalty_rate_per_day", "first_due_date",
              "purpose", "applied_on", "applied_by", "approved_by", "disbursed_on",
              "account_id", "outstanding_principal", "events_count", "created_at",
              "updated_at", "closed_on"),
    "entries": ("fund_id", "id", "sequence", "voucher_number", "effective_date", "recorded_at",
                "description", "currency", "metadata", "reverses_entry_id", "actor", "hash"),
    "postings": ("fund_id", "entry_id", "line", "account_id", "side", "amount", "currency",
                 "effective_date", "sequence"),
    "loan_installments": ("fund_id", "loan_id", "disbursement", "number", "due_date",
                          "principal", "interest"),
    "loan_events": ("fund_id", "loan_id", "sequence", "kind", "effective_date", "recorded_at",
                    "actor", "entry_id", "data", "penalty", "interest", "principal",
                    "repayment_sequence"),
    "audit_records": ("fund_id", "sequence", "action", "subject_id", "record", "leaf_hash",
                      "feed_key"),
    "audit_nodes": ("fund_id", "level", "index", "hash"),
}
# Columns of type jsonb: their rows hold JSON text (COPY's binary format has no JSON codec).
JSON_COLUMNS: Final = frozenset({"metadata", "data"})
# Rows moved per INSERT: the journal's statement triggers run once per statement, so
# few statements; a bound keeps each transition table within memory.
ROWS_PER_STATEMENT: Final = 50_000
# The order tables are written in (each one's references first).
TABLE_ORDER: Final = ("members", "accounts", "loans", "entries", "postings",
                      "loan_installments", "loan_events", "audit_records", "audit_nodes")


async def fund_contents(
    connection: asyncpg.Connection, fund_id: uuid.UUID, club_id: uuid.UUID
) -> tuple[int, int, int]:
    """(entries, members of the club, loans) already in the fund."""
    row = await connection.fetchrow(
        """
        SELECT (SELECT entry_count FROM funds WHERE id = $1) AS entries,
               (SELECT count(*) FROM members WHERE club_id = $2) AS members,
               (SELECT count(*) FROM loans WHERE fund_id = $1) AS loans
        """,
        fund_id, club_id,
    )
    assert row is not None
    return int(row["entries"]), int(row["members"]), int(row["loans"])


async def lock_audit_tree(
    connection: asyncpg.Connection, fund_id: uuid.UUID
) -> tuple[int, list[bytes], int]:
    """The fund's log as it stands, locked as `append_audit_record` locks it (the fund's
    row is already held): (tree size, frontier, the feed key of its next records)."""
    await connection.execute(
        "INSERT INTO audit_trees (fund_id) VALUES ($1) ON CONFLICT DO NOTHING", fund_id)
    row = await connection.fetchrow(
        """
        SELECT tree_size, frontier,
               greatest(pg_current_xact_id()::text::bigint, last_feed_key) AS feed_key
          FROM audit_trees WHERE fund_id = $1 FOR UPDATE
        """,
        fund_id,
    )
    assert row is not None
    return int(row["tree_size"]), [bytes(h) for h in row["frontier"]], int(row["feed_key"])


async def write_rows(connection: asyncpg.Connection, rows: Mapping[str, Sequence[Any]]) -> None:
    """COPY each table's rows into a temporary table of the same shape, then move them
    into the table with one INSERT (where its policies and triggers apply)."""
    for table in TABLE_ORDER:
        records = rows.get(table) or ()
        for start in range(0, len(records), ROWS_PER_STATEMENT):
            await write_table(connection, table, records[start:start + ROWS_PER_STATEMENT])


async def write_table(connection: asyncpg.Connection, table: str, records: Sequence[Any]
                      ) -> None:
    """One batch of a table's rows: COPY into a temporary table, one INSERT from it."""
    columns = COLUMNS[table]
    staging = f"import_{table}"
    listed = ", ".join(f'"{c}"' for c in columns)
    as_text = ", ".join(f'"{c}"::text AS "{c}"' if c in JSON_COLUMNS else f'"{c}"'
                        for c in columns)
    as_stored = ", ".join(f'"{c}"::jsonb' if c in JSON_COLUMNS else f'"{c}"' for c in columns)
    await connection.execute(
        f"CREATE TEMPORARY TABLE {staging} AS SELECT {as_text} FROM {table} WITH NO DATA")
    await connection.copy_records_to_table(staging, records=records, columns=columns)
    await connection.execute(
        f"INSERT INTO {table} ({listed}) SELECT {as_stored} FROM {staging};"
        f" DROP TABLE {staging}")


async def finish(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, entry_count: int,
    vouchers: dict[tuple[str, int], int], tree_size: int, frontier: list[bytes],
    feed_key: int,
) -> None:
    """Move the fund's entry counter, voucher counters and audit tree to what was written."""
    await connection.execute("UPDATE funds SET entry_count = $2 WHERE id = $1",
                             fund_id, entry_count)
    if vouchers:
        await connection.execute(
            """
            INSERT INTO voucher_counters (fund_id, kind, year, last_number)
            SELECT $1, v.kind, v.year, v.last_number
              FROM unnest($2::text[], $3::integer[], $4::integer[]) AS v(kind, year, last_number)
            """,
            fund_id, [kind for kind, _ in vouchers], [year for _, year in vouchers],
            list(vouchers.values()),
        )
    await connection.execute(
        "UPDATE audit_trees SET tree_size = $2, frontier = $3, last_feed_key = $4"
        " WHERE fund_id = $1",
        fund_id, tree_size, frontier, feed_key,
    )
