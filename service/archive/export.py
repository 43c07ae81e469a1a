"""`clubfund export`: one fund written as a portable archive.

The archive is one JSON Lines file (UTF-8, one JSON object a line):
- line 1, the header: `{"format": "clubfund-fund-archive", "version": 1,
  "schema_revision", "fund_id", "club_id", "exported_at", "tree_size", "root_hash",
  "audit_keys": {"keys": [...]}, "rows_count": {table: n}}`;
- then one line per row: `{"table": <name>, "row": <the row as PostgreSQL's JSON>}`,
  table by table in the order `service/archive/tables.py` gives (the order a restore
  writes them in).
Everything is read in one REPEATABLE READ snapshot, so the rows, the audit records
and the signed heads are of one moment.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

from ledger.merkle import EMPTY_ROOT
from ledger.tree_heads import audit_keys_document
from service.archive.tables import ARCHIVE_FORMAT, ARCHIVE_VERSION, ARCHIVED_TABLES
from service.auth.repository import grant_all_funds
from service.errors import Conflict, NotFound

# Rows fetched per round trip while writing.
EXPORT_BATCH_SIZE = 2000


async def schema_revision(connection: asyncpg.Connection) -> str:
    """The migration the database is at (an archive restores into the same one)."""
    revision = await connection.fetchval("SELECT version_num FROM alembic_version")
    return str(revision)


async def export_fund(
    connection: asyncpg.Connection, fund_id: uuid.UUID, out: Path,
    public_keys: list[bytes], now: datetime | None = None,
) -> dict[str, Any]:
    """Write fund `fund_id`'s archive to `out` (through a temporary file beside it, so a
    failed export leaves no half archive); the header written."""
    partial = out.with_name(out.name + ".partial")
    try:
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            await grant_all_funds(connection)
            await connection.execute("SET LOCAL TimeZone = 'UTC'")
            fund = await connection.fetchrow(
                "SELECT f.club_id, coalesce(t.tree_size, 0) AS tree_size FROM funds f"
                " LEFT JOIN audit_trees t ON t.fund_id = f.id WHERE f.id = $1", fund_id)
            if fund is None:
                raise NotFound("fund", fund_id)
            header = await _header(connection, fund_id, fund, public_keys,
                                   now or datetime.now(UTC))
            with partial.open("w", encoding="utf-8", newline="\n") as handle:
                handle.write(json.dumps(header, ensure_ascii=False) + "\n")
                for table in ARCHIVED_TABLES:
                    query = (f"SELECT json_build_object('table', $2::text,"
                             f" 'row', row_to_json(t))::text AS line"
                             f" FROM {table.name} t WHERE {table.selection}"
                             f" ORDER BY {table.order_by}")
                    cursor = connection.cursor(query, fund_id, table.name,
                                               prefetch=EXPORT_BATCH_SIZE)
                    async for row in cursor:
                        handle.write(row["line"] + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return header


async def _header(
    connection: asyncpg.Connection, fund_id: uuid.UUID, fund: asyncpg.Record,
    public_keys: list[bytes], now: datetime,
) -> dict[str, Any]:
    counts = {}
    for table in ARCHIVED_TABLES:
        counts[table.name] = int(await connection.fetchval(
            f"SELECT count(*) FROM {table.name} t WHERE {table.selection}", fund_id))
    tree_size = int(fund["tree_size"])
    root = await connection.fetchval(
        "SELECT root_hash FROM audit_heads WHERE fund_id = $1 AND tree_size = $2 LIMIT 1",
        fund_id, tree_size)
    if root is None and tree_size > 0:
        raise Conflict(f"fund {fund_id}'s log of {tree_size} records has no signed head at "
                       "that size yet: let the service run (it signs new heads) and export "
                       "again")
    return {
        "format": ARCHIVE_FORMAT, "version": ARCHIVE_VERSION,
        "schema_revision": await schema_revision(connection),
        "fund_id": str(fund_id), "club_id": str(fund["club_id"]) if fund["club_id"] else None,
        "exported_at": now.isoformat(), "tree_size": tree_size,
        "root_hash": root if root is not None else EMPTY_ROOT.hex(),
        "audit_keys": audit_keys_document(public_keys), "rows_count": counts,
    }
