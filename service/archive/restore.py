"""`clubfund import --archive`: a fund's archive restored with the same ids and hashes.

Before anything is written, the archive is checked on its own:
1. every line is a JSON object naming a table of the archive and a row with exactly
   that table's columns, of the archive's fund (or its club); a bad line is named;
2. the audit records are numbered 1..n, each in canonical form, of this fund, and
   hashes to its stored leaf hash; the Merkle tree is rebuilt from these leaves and
   every signed head (checkpoint) of the archive must carry the rebuilt root at its
   size and a valid signature by the archive's published keys;
3. every entry with its postings must equal the record that wrote it and hash to its
   stored hash (an amount changed in the archive is named).
Then, in one transaction: the target must be at the archive's migration and must not
hold another history of the fund (its log, if any, must be the beginning of the
archive's: a continuation), the rows are written in the order of `tables.py` (the
database's triggers derive balances and schedules and check every rule, as for the
API), the Merkle nodes and tree state are written, and the fund's log is verified
by `service.audit.verification.verify_log` against the archive's signed heads. Any
failure rolls everything back.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import asyncpg
import rfc8785

from ledger.audit_records import canonical_record
from ledger.entries import content_hash
from ledger.errors import LedgerError
from ledger.merkle import EMPTY_ROOT, append_leaf, root_from_frontier
from ledger.tree_heads import check_tree_head, parse_audit_keys, parse_tree_head
from service.archive.export import schema_revision
from service.archive.tables import (
    ARCHIVE_FORMAT,
    ARCHIVE_VERSION,
    ARCHIVED_TABLES,
    SERVER_LOCAL_COLUMNS,
    TABLES_BY_NAME,
    ArchivedTable,
    Ownership,
)
from service.audit.service import record_write
from service.audit.verification import (
    ENTRY_ACTIONS,
    LEAF_PREFIX,
    entry_document_from_row,
    verify_log,
)
from service.auth.repository import grant_all_funds
from service.context import operator_context
from service.errors import ArchiveRefused

ARCHIVE_BYTES_MAX = 4 * 1024**3
LINE_BYTES_MAX = 8 * 1024**2
# Rows written per statement.
RESTORE_BATCH_SIZE = 5000


@dataclass(frozen=True)
class ArchivedRow:
    line_number: int
    line: str  # the archive's line as written: PostgreSQL reads the row from it
    values: dict[str, Any]


@dataclass
class FundArchive:
    header: dict[str, Any]
    fund_id: uuid.UUID
    digest: str  # SHA-256 of the archive file, hex
    rows: dict[str, list[ArchivedRow]] = field(default_factory=lambda: defaultdict(list))


@dataclass(frozen=True)
class RebuiltLog:
    """The fund's log as the archive's records hash: leaves, interior nodes, frontier."""

    leaves: list[bytes]
    nodes: list[tuple[int, int, bytes]]
    frontier: tuple[bytes, ...]
    root: bytes


@dataclass
class RestoreReport:
    fund_id: uuid.UUID
    tree_size: int
    root_hash: str
    records_added: int
    continued_from: int
    # The keys the archive's heads are signed with (checked against its published keys).
    key_ids: list[str] = field(default_factory=list)
    rows_written: dict[str, int] = field(default_factory=dict)


def read_archive(path: Path) -> FundArchive:
    """Parse and check the shape of every line; a bad line is named by its number."""
    size = path.stat().st_size
    if size > ARCHIVE_BYTES_MAX:
        raise ArchiveRefused(f"{path} is {size} bytes: an archive holds at most "
                             f"{ARCHIVE_BYTES_MAX}")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        numbered = enumerate(handle, start=1)
        first = next(numbered, (1, b""))
        digest.update(first[1])
        header = _header(first)
        archive = FundArchive(header=header, fund_id=uuid.UUID(header["fund_id"]), digest="")
        for line_number, raw in numbered:
            digest.update(raw)
            table, row = _row_line(line_number, raw)
            archive.rows[table.name].append(row)
    archive.digest = digest.hexdigest()
    return archive


def _json_line(line_number: int, raw: bytes) -> tuple[str, Any]:
    if len(raw) > LINE_BYTES_MAX:
        raise ArchiveRefused(f"line {line_number}: longer than {LINE_BYTES_MAX} bytes")
    try:
        text = raw.decode("utf-8").rstrip("\n")
        return text, json.loads(text)
    except (UnicodeDecodeError, ValueError) as error:
        raise ArchiveRefused(f"line {line_number}: not a JSON object ({error})") from error


def _header(numbered: tuple[int, bytes]) -> dict[str, Any]:
    line_number, raw = numbered
    _, header = _json_line(line_number, raw)
    if not isinstance(header, dict) or header.get("format") != ARCHIVE_FORMAT:
        raise ArchiveRefused(f"line {line_number}: not the header of a {ARCHIVE_FORMAT}")
    if header.get("version") != ARCHIVE_VERSION:
        raise ArchiveRefused(f"line {line_number}: archive version {header.get('version')!r}; this "
                             f"server reads version {ARCHIVE_VERSION}")
    try:
        uuid.UUID(str(header.get("fund_id")))
    except ValueError as error:
        raise ArchiveRefused(f"line {line_number}: the header's fund_id is not a uuid") from error
    if not isinstance(header.get("tree_size"), int) or header["tree_size"] < 0:
        raise ArchiveRefused(f"line {line_number}: the header's tree_size is not a count")
    return header


def _row_line(line_number: int, raw: bytes) -> tuple[ArchivedTable, ArchivedRow]:
    text, line = _json_line(line_number, raw)
    if not isinstance(line, dict) or set(line) != {"table", "row"}:
        raise ArchiveRefused(f"line {line_number}: a row line is {{\"table\": …, \"row\": {{…}}}}")
    table = TABLES_BY_NAME.get(line["table"]) if isinstance(line["table"], str) else None
    if table is None:
        raise ArchiveRefused(f"line {line_number}: {line['table']!r} is not a table of an archive")
    if not isinstance(line["row"], dict):
        raise ArchiveRefused(f"line {line_number}: the row of {table.name} is not a JSON object")
    return table, ArchivedRow(line_number, text, line["row"])


def check_archive(archive: FundArchive, columns: dict[str, list[str]]) -> RebuiltLog:
    """Every check that needs no database but the target's columns (see the module)."""
    _check_rows(archive, columns)
    log = rebuild_log(archive)
    _check_entries(archive)
    return log


def _check_rows(archive: FundArchive, columns: dict[str, list[str]]) -> None:
    funds = archive.rows.get("funds", [])
    if len(funds) != 1 or funds[0].values.get("id") != str(archive.fund_id):
        raise ArchiveRefused(f"the archive must hold exactly one row of funds, fund "
                             f"{archive.fund_id} (its header's)")
    owners = {Ownership.FUND: str(archive.fund_id),
              Ownership.CLUB: funds[0].values.get("club_id")}
    for table in ARCHIVED_TABLES:
        wanted = set(columns[table.name])
        for row in archive.rows.get(table.name, []):
            if set(row.values) != wanted:
                missing = sorted(wanted - set(row.values))
                unknown = sorted(set(row.values) - wanted)
                raise ArchiveRefused(f"line {row.line_number}: a row of {table.name}"
                                     + (f" lacks {', '.join(missing)}" if missing else "")
                                     + (f" has unknown {', '.join(unknown)}" if unknown else ""))
            if table.owner_column is not None:
                owner = row.values[table.owner_column]
                if owner != owners[table.ownership]:
                    raise ArchiveRefused(f"line {row.line_number}: a row of {table.name} of "
                                         f"{table.owner_column} {owner}, not of the archive's "
                                         f"{table.ownership.value} {owners[table.ownership]}")


def _hex_bytes(row: ArchivedRow, column: str) -> bytes:
    value = row.values[column]
    if not isinstance(value, str) or not value.startswith("\\x"):
        raise ArchiveRefused(f"line {row.line_number}: {column} is not \\x hex")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as error:
        raise ArchiveRefused(f"line {row.line_number}: {column} is not \\x hex") from error


def rebuild_log(archive: FundArchive) -> RebuiltLog:
    """Recompute every leaf hash from its record and the tree from the leaves; every
    signed head of the archive must carry the rebuilt root at its size."""
    records = sorted(archive.rows.get("audit_records", []),
                     key=lambda r: r.values.get("sequence") or 0)
    heads = [_head_of(row) for row in archive.rows.get("audit_heads", [])]
    wanted_sizes = {int(head["tree_size"]) for head, _ in heads}
    roots = {0: EMPTY_ROOT}
    leaves: list[bytes] = []
    nodes: list[tuple[int, int, bytes]] = []
    frontier: tuple[bytes, ...] = ()
    fund_text = str(archive.fund_id)
    for position, row in enumerate(records):
        sequence = position + 1
        if row.values.get("sequence") != sequence:
            raise ArchiveRefused(f"line {row.line_number}: audit record "
                                 f"{row.values.get('sequence')!r} where record {sequence}"
                                 " should be: the log has a gap")
        stored = _hex_bytes(row, "record")
        try:
            record = json.loads(stored)
            canonical = canonical_record(record)
        except (ValueError, TypeError, rfc8785.CanonicalizationError) as error:
            raise ArchiveRefused(f"line {row.line_number}: audit record {sequence} is not a "
                                 "canonical JSON object") from error
        if (canonical != stored or record.get("sequence") != sequence
                or record.get("fund_id") != fund_text
                or record.get("action") != row.values.get("action")):
            raise ArchiveRefused(f"line {row.line_number}: audit record {sequence} is not this "
                                 "fund's record of that number in canonical form")
        leaf = hashlib.sha256(LEAF_PREFIX + canonical).digest()
        if leaf != _hex_bytes(row, "leaf_hash"):
            raise ArchiveRefused(f"line {row.line_number}: audit record {sequence} does not hash "
                                 "to its leaf hash: the record was changed")
        appended = append_leaf(frontier, position, leaf)
        nodes.extend((n.level, n.index, n.hash) for n in appended.new_nodes[1:])
        frontier = appended.frontier
        leaves.append(leaf)
        if sequence in wanted_sizes:
            roots[sequence] = root_from_frontier(frontier, sequence)
    size = len(leaves)
    root = root_from_frontier(frontier, size)
    for head, row in heads:
        head_size = int(head["tree_size"])
        if roots.get(head_size) != bytes.fromhex(head["root_hash"]):
            raise ArchiveRefused(f"line {row.line_number}: the signed head of tree size "
                                 f"{head_size} does not match the records: the log was changed")
    if archive.header["tree_size"] != size or archive.header.get("root_hash") != root.hex():
        raise ArchiveRefused(f"the header names a log of {archive.header['tree_size']} records"
                             f" with root {archive.header.get('root_hash')}; its records rebuild "
                             f"{size} records with root {root.hex()}")
    if size > 0 and size not in wanted_sizes:
        raise ArchiveRefused(f"no signed head (checkpoint) of the archive covers its {size}"
                             " records")
    return RebuiltLog(leaves=leaves, nodes=nodes, frontier=frontier, root=root)


def archive_public_keys(archive: FundArchive) -> dict[str, bytes] | None:
    """The origin server's published keys from the header (None: none published)."""
    document = archive.header.get("audit_keys")
    if not isinstance(document, dict) or not document.get("keys"):
        return None
    try:
        return dict(parse_audit_keys(document))
    except LedgerError as error:
        raise ArchiveRefused(f"line 1: the header's audit_keys: {error.detail}") from error


def archive_heads(archive: FundArchive) -> list[dict[str, Any]]:
    return [head for head, _ in (_head_of(r) for r in archive.rows.get("audit_heads", []))]


def _head_of(row: ArchivedRow) -> tuple[dict[str, Any], ArchivedRow]:
    head = {name: row.values.get(name) for name in
            ("fund_id", "tree_size", "root_hash", "timestamp", "key_id", "signature")}
    try:
        parse_tree_head(head)
    except LedgerError as error:
        raise ArchiveRefused(f"line {row.line_number}: signed head: {error.detail}") from error
    return head, row


def check_head_signatures(archive: FundArchive) -> None:
    keys = archive_public_keys(archive)
    if keys is None:
        return
    for head, row in (_head_of(r) for r in archive.rows.get("audit_heads", [])):
        try:
            check_tree_head(head, keys)
        except LedgerError as error:
            raise ArchiveRefused(f"line {row.line_number}: signed head of tree size "
                                 f"{head['tree_size']}: {error.detail}") from error


def _entries_with_postings(archive: FundArchive) -> Iterator[tuple[ArchivedRow, dict[str, Any]]]:
    postings: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for posting in archive.rows.get("postings", []):
        postings[str(posting.values["entry_id"])].append(posting.values)
    for entry in sorted(archive.rows.get("entries", []),
                        key=lambda r: int(r.values["sequence"])):
        values = entry.values
        try:
            row = {
                **values, "id": uuid.UUID(values["id"]),
                "effective_date": date.fromisoformat(values["effective_date"]),
                "recorded_at": datetime.fromisoformat(values["recorded_at"]).astimezone(UTC),
                "postings": sorted(postings.get(values["id"], []), key=lambda p: p["line"]),
            }
        except (KeyError, TypeError, ValueError) as error:
            raise ArchiveRefused(f"line {entry.line_number}: a malformed entry ({error})"
                                 ) from error
        yield entry, row


def _check_entries(archive: FundArchive) -> None:
    """Each entry and its postings equal the record that wrote it and its stored hash."""
    written = [
        json.loads(_hex_bytes(row, "record"))
        for row in sorted(archive.rows.get("audit_records", []),
                          key=lambda r: int(r.values["sequence"]))
        if row.values.get("action") in ENTRY_ACTIONS
    ]
    entries = list(_entries_with_postings(archive))
    if len(written) != len(entries):
        raise ArchiveRefused(f"the archive holds {len(entries)} entries but its log wrote "
                             f"{len(written)}")
    for (entry, row), record in zip(entries, written, strict=True):
        try:
            document = entry_document_from_row(archive.fund_id, row)
            same = rfc8785.dumps(document) == rfc8785.dumps(record.get("data"))
            hashed = content_hash(document) == row["hash"]
        except (LedgerError, KeyError, TypeError, ValueError,
                rfc8785.CanonicalizationError) as error:
            raise ArchiveRefused(f"line {entry.line_number}: entry {row['id']} cannot be read "
                                 f"({error})") from error
        if not same or not hashed:
            raise ArchiveRefused(f"line {entry.line_number}: entry {row['id']} (entry sequence "
                                 f"{row['sequence']}) or its postings differ from audit record "
                                 f"{record.get('sequence')} that wrote it")


async def table_columns(connection: asyncpg.Connection) -> dict[str, list[str]]:
    """Each archived table's columns on this server, in their order."""
    rows = await connection.fetch(
        "SELECT table_name::text AS table_name, column_name::text AS column_name"
        "  FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = ANY($1::text[])"
        " ORDER BY table_name, ordinal_position",
        [table.name for table in ARCHIVED_TABLES])
    columns: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        columns[row["table_name"]].append(row["column_name"])
    return columns


async def restore_fund(
    connection: asyncpg.Connection, archive: FundArchive, actor: str, now: datetime,
) -> RestoreReport:
    """Restore `archive` on `connection`'s server (as the schema owner), all or nothing;
    the import is recorded in the service-wide audit log (the fund's log stays the
    archive's, record for record)."""
    try:
        async with connection.transaction(isolation="repeatable_read"):
            await grant_all_funds(connection)
            report = await _restore(connection, archive)
            await grant_all_funds(connection)  # the verification scoped it to the fund
            await record_write(
                operator_context(connection, actor, now, f"import-{archive.fund_id}"), None,
                "archive.imported", {
                    "fund_id": str(archive.fund_id), "tree_size": report.tree_size,
                    "root_hash": report.root_hash, "records_added": report.records_added,
                    "continued_from": report.continued_from,
                    "exported_at": archive.header.get("exported_at"),
                    "archive_sha256": archive.digest,
                })
            return report
    except asyncpg.PostgresError as error:
        raise ArchiveRefused(f"the database refused the archive: {error}") from error


async def _restore(connection: asyncpg.Connection, archive: FundArchive) -> RestoreReport:
    revision = await schema_revision(connection)
    if archive.header.get("schema_revision") != revision:
        raise ArchiveRefused(f"the archive was written at migration "
                             f"{archive.header.get('schema_revision')!r}, this server is at "
                             f"{revision!r}: migrate both to the same version")
    columns = await table_columns(connection)
    log = check_archive(archive, columns)
    check_head_signatures(archive)
    fund_id = archive.fund_id
    continued_from = await _continued_size(connection, fund_id, log)
    report = RestoreReport(fund_id=fund_id, tree_size=len(log.leaves),
                           root_hash=log.root.hex(), continued_from=continued_from,
                           records_added=len(log.leaves) - continued_from,
                           key_ids=sorted({str(h["key_id"]) for h in archive_heads(archive)}))
    feed_key = int(await connection.fetchval(
        "SELECT greatest(pg_current_xact_id()::text::bigint,"
        " coalesce((SELECT last_feed_key FROM audit_trees WHERE fund_id = $1), 0))", fund_id))
    # A continuation appends the journal and the log after what the server holds (those
    # rows are checked by the verification at the end; the closed-period guard would
    # refuse writing them again).
    entries_held = int(await connection.fetchval(
        "SELECT coalesce(max(sequence), 0) FROM entries WHERE fund_id = $1", fund_id))
    held = {"entries": entries_held, "postings": entries_held,
            "audit_records": continued_from}
    for table in ARCHIVED_TABLES:
        rows = archive.rows.get(table.name, [])
        if table.name in held:
            rows = [r for r in rows if int(r.values["sequence"]) > held[table.name]]
        report.rows_written[table.name] = await _write_rows(
            connection, table, columns[table.name], rows, feed_key)
    await connection.execute(
        "INSERT INTO audit_nodes (fund_id, level, index, hash)"
        " SELECT $1, n.level, n.index, n.hash"
        "   FROM unnest($2::smallint[], $3::bigint[], $4::bytea[]) AS n(level, index, hash)"
        " ON CONFLICT ON CONSTRAINT pk_audit_nodes DO NOTHING",
        fund_id, [n[0] for n in log.nodes], [n[1] for n in log.nodes], [n[2] for n in log.nodes])
    await connection.execute(
        "INSERT INTO audit_trees (fund_id, tree_size, frontier, last_feed_key)"
        " VALUES ($1, $2, $3, $4) ON CONFLICT ON CONSTRAINT pk_audit_trees DO UPDATE"
        " SET tree_size = EXCLUDED.tree_size, frontier = EXCLUDED.frontier,"
        "     last_feed_key = EXCLUDED.last_feed_key",
        fund_id, len(log.leaves), list(log.frontier), feed_key)
    verified = await verify_log(connection, fund_id, archive_heads(archive),
                                archive_public_keys(archive))
    if not verified.ok:
        raise ArchiveRefused(f"the restored log does not verify at record {verified.sequence}: "
                             f"{verified.reason}")
    return report


async def _continued_size(
    connection: asyncpg.Connection, fund_id: uuid.UUID, log: RebuiltLog
) -> int:
    """How many of the archive's records the server holds already: 0 for a fund it does
    not hold; refused unless the server's log is the beginning of the archive's."""
    # Writers to a fund lock its row first (post_entry, the audit append): so does this.
    await connection.execute("SELECT FROM funds WHERE id = $1 FOR NO KEY UPDATE", fund_id)
    held = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM entries WHERE fund_id = $1) AS entries_count,"
        " (SELECT tree_size FROM audit_trees WHERE fund_id = $1 FOR UPDATE) AS tree_size",
        fund_id)
    assert held is not None
    entries_count, size = int(held["entries_count"]), int(held["tree_size"] or 0)
    if size == 0 and entries_count == 0:
        return 0
    leaves = [bytes(row["leaf_hash"]) for row in await connection.fetch(
        "SELECT leaf_hash FROM audit_records WHERE fund_id = $1 ORDER BY sequence", fund_id)]
    if size > len(log.leaves) or leaves != log.leaves[:size]:
        raise ArchiveRefused(f"fund {fund_id} already holds {entries_count} entries and a log of "
                             f"{size} records that is not the beginning of the archive's "
                             f"{len(log.leaves)}: only the fund's own continuation is imported")
    return size


async def _write_rows(
    connection: asyncpg.Connection, table: ArchivedTable, columns: list[str],
    rows: list[ArchivedRow], feed_key: int,
) -> int:
    """Insert the rows from their archive lines. A row the server holds already is kept
    if equal (reference tables: always kept) and otherwise updated, which the
    append-only tables' triggers refuse."""
    if not rows:
        return 0
    listed = ", ".join(columns)
    replaced = SERVER_LOCAL_COLUMNS.get(table.name, ())
    selected = ", ".join("$2::bigint" if c in replaced else f"r.{c}" for c in columns)
    if table.ownership is Ownership.REFERENCE:
        conflict = "DO NOTHING"
    else:
        kept = [c for c in columns if c not in replaced]
        targets = ", ".join(kept)
        excluded = ", ".join(f"EXCLUDED.{c}" for c in kept)
        current = ", ".join(f"{table.name}.{c}" for c in kept)
        conflict = (f"DO UPDATE SET ({targets}) = ROW({excluded})"
                    f" WHERE ({current}) IS DISTINCT FROM ({excluded})")
    statement = (f"INSERT INTO {table.name} ({listed})"
                 f" SELECT {selected}"
                 f"   FROM json_array_elements($1::text::json) WITH ORDINALITY AS l(line, n),"
                 f"        json_populate_record(NULL::{table.name}, l.line -> 'row') AS r"
                 f"  ORDER BY l.n"
                 f" ON CONFLICT ON CONSTRAINT {table.primary_key} {conflict}")
    written = 0
    for start in range(0, len(rows), RESTORE_BATCH_SIZE):
        batch = rows[start:start + RESTORE_BATCH_SIZE]
        lines = "[" + ",".join(row.line for row in batch) + "]"
        try:
            status = await connection.execute(statement, lines,
                                              *([feed_key] if replaced else []))
        except asyncpg.PostgresError as error:
            first, last = batch[0].line_number, batch[-1].line_number
            raise ArchiveRefused(f"lines {first}-{last}: the database refused rows of {table.name}:"
                                 f" {error}") from error
        written += int(status.split()[-1])
    return written

