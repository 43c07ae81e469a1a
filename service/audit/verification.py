"""Full verification of one audit log, from the database alone (API and CLI alike).

One pass in one REPEATABLE READ snapshot, never trusting a stored hash:

1. records are numbered 1, 2, 3... with no gap (a deleted record is named), each
   holds its own sequence and fund (a moved or swapped record is named), is in
   canonical form and hashes to its stored leaf hash;
2. the tree is rebuilt from the recomputed leaves with the core's `append_leaf`,
   and every stored interior node and the stored frontier must equal it;
3. every `entry.*` record's data must equal the entry and postings rows as they
   are now (an edited amount names the record that wrote that entry), and no
   entry may exist without its record;
4. every account's stored balance must equal the sums of its postings and the
   sums its records wrote;
5. signed heads (kept in the database, one per write, or handed in by an
   auditor) must carry a valid signature and the root of the rebuilt tree at
   their size, and a consistency proof served from the stored nodes must lead
   from each head an auditor handed in to the current root.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import rfc8785

from ledger.accounts import Side
from ledger.audit_records import canonical_record
from ledger.entries import Entry, Posting, content_hash
from ledger.errors import LedgerError
from ledger.merkle import (
    EMPTY_ROOT,
    append_leaf,
    consistency_proof,
    consistency_proof_nodes,
    root_from_frontier,
    verify_consistency,
)
from ledger.tree_heads import check_tree_head, parse_tree_head
from service.audit import repository

ENTRY_ACTIONS = ("entry.posted", "entry.reversal_posted")
LEAF_PREFIX = b"\x00"


class Broken(Exception):
    """The first thing that does not match: which record (if one can be named) and why."""

    def __init__(self, sequence: int | None, reason: str) -> None:
        super().__init__(reason)
        self.sequence = sequence
        self.reason = reason


@dataclass
class VerifyReport:
    fund_id: uuid.UUID
    ok: bool = True
    tree_size: int = 0
    root_hash: str = EMPTY_ROOT.hex()
    sequence: int | None = None
    reason: str = ""
    records_checked: int = 0
    nodes_checked: int = 0
    entries_checked: int = 0
    accounts_checked: int = 0
    heads_checked: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def records_per_second(self) -> float:
        return self.records_checked / self.seconds if self.seconds > 0 else 0.0

    def answer(self) -> dict[str, Any]:
        """The API's answer (docs/design.md): ok with the head, or the first break."""
        if self.ok:
            return {"ok": True, "tree_size": self.tree_size, "root_hash": self.root_hash}
        return {"ok": False, "fund_id": str(self.fund_id), "sequence": self.sequence,
                "reason": self.reason}


def entry_document_from_row(
    fund_id: uuid.UUID, row: asyncpg.Record | Mapping[str, Any]
) -> dict[str, Any]:
    """The entry as its rows say now (or as an archive holds them), in the shape
    post_entry hashed and recorded."""
    from service.entries.service import entry_document

    postings = row["postings"] or []
    entry = Entry(
        effective_date=row["effective_date"], description=row["description"],
        postings=tuple(
            Posting(str(p["account_id"]), Side(p["side"]), p["amount"], p["currency"])
            for p in postings
        ),
        metadata=row["metadata"],
        reverses_entry_id=str(row["reverses_entry_id"]) if row["reverses_entry_id"] else None,
    )
    return entry_document(
        fund_id, row["id"], row["sequence"], row["voucher_number"], entry, row["currency"],
        row["recorded_at"].isoformat(), row["actor"],
    )


async def _next(iterator: AsyncIterator[asyncpg.Record]) -> asyncpg.Record | None:
    try:
        return await anext(iterator)
    except StopAsyncIteration:
        return None


def _same_json(left: Any, right: Any) -> bool:
    """Equal as JSON values (1 and 1.0 alike, true and 1 not)."""
    if json.dumps(left, sort_keys=True) == json.dumps(right, sort_keys=True):
        return True
    try:
        return bool(rfc8785.dumps(left) == rfc8785.dumps(right))
    except rfc8785.CanonicalizationError:
        return False


def _parse_heads(heads: Iterable[Mapping[str, Any]], fund_id: uuid.UUID) -> list[dict[str, Any]]:
    chosen = []
    for head in heads:
        if str(head.get("fund_id")) == str(fund_id):
            chosen.append(dict(head))
    return chosen


async def verify_log(
    connection: asyncpg.Connection, fund_id: uuid.UUID,
    heads: Iterable[Mapping[str, Any]] = (),
    public_keys: Mapping[str, bytes] | None = None,
) -> VerifyReport:
    """Verify one log. `heads`: signed heads an auditor saved (any fund; others are
    skipped). `public_keys`: {key_id: raw key} to check head signatures with."""
    report = VerifyReport(fund_id=fund_id)
    started = time.perf_counter()
    async with connection.transaction(isolation="repeatable_read", readonly=True):
        # This fund's rows, whatever scope the connection had (the caller checked it).
        await repository.scope_transaction_to_fund(connection, fund_id)
        try:
            await _verify(connection, fund_id, report, heads, public_keys)
        except Broken as broken:
            report.ok = False
            report.sequence = broken.sequence
            report.reason = broken.reason
    report.seconds = time.perf_counter() - started
    return report


async def _verify(
    connection: asyncpg.Connection, fund_id: uuid.UUID, report: VerifyReport,
    given_heads: Iterable[Mapping[str, Any]], public_keys: Mapping[str, bytes] | None,
) -> None:
    stored_size, stored_frontier = await repository.get_tree(connection, fund_id)
    saved = [dict(r) for r in await repository.list_heads(connection, fund_id)]
    for head in saved:
        head["fund_id"] = str(head["fund_id"])
    given = _parse_heads(given_heads, fund_id)
    heads = saved + given
    roots_wanted = {int(h["tree_size"]) for h in heads if isinstance(h.get("tree_size"), int)}
    roots: dict[int, bytes] = {0: EMPTY_ROOT}

    records = repository.stream_records(connection, fund_id)
    nodes = repository.stream_nodes(connection, fund_id)
    entries = repository.stream_entries(connection, fund_id)
    frontier: tuple[bytes, ...] = ()
    size = 0
    record_sums: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    last_touch: dict[str, int] = {}
    fund_text = str(fund_id)

    async for row in records:
        sequence = size + 1
        if row["sequence"] != sequence:
            raise Broken(sequence, f"record {sequence} is missing: the next stored record is "
                                   f"{row['sequence']}")
        stored = bytes(row["record"])
        try:
            record = json.loads(stored)
        except ValueError as error:
            raise Broken(sequence, f"record {sequence} is not JSON") from error
        if not isinstance(record, dict):
            raise Broken(sequence, f"record {sequence} is not a JSON object")
        if record.get("sequence") != sequence:
            raise Broken(sequence, f"record {sequence} says it is record "
                                   f"{record.get('sequence')!r}: records were moved")
        if record.get("fund_id") != fund_text:
            raise Broken(sequence, f"record {sequence} belongs to fund {record.get('fund_id')!r}")
        try:
            canonical = canonical_record(record)
        except rfc8785.CanonicalizationError as error:
            raise Broken(sequence, f"record {sequence} cannot be canonicalised") from error
        if canonical != stored:
            raise Broken(sequence, f"record {sequence} is not stored in canonical form")
        # SHA-256(0x00 || JCS(record)), JCS computed once just above.
        leaf = hashlib.sha256(LEAF_PREFIX + canonical).digest()
        if leaf != bytes(row["leaf_hash"]):
            raise Broken(sequence, f"record {sequence} does not hash to its stored leaf hash")
        if record.get("action") != row["action"]:
            raise Broken(sequence, f"record {sequence} action differs from its index column")

        appended = append_leaf(frontier, size, leaf)
        for node in appended.new_nodes[1:]:
            stored_node = await _next(nodes)
            if stored_node is None or (stored_node["level"], stored_node["index"]) != node.id:
                raise Broken(sequence, f"Merkle node (level {node.level}, index {node.index}) "
                                       f"completed by record {sequence} is missing")
            if bytes(stored_node["hash"]) != node.hash:
                raise Broken(sequence, f"Merkle node (level {node.level}, index {node.index}) "
                                       f"completed by record {sequence} has a wrong hash")
            report.nodes_checked += 1
        frontier, size = appended.frontier, appended.tree_size
        if size in roots_wanted:
            roots[size] = root_from_frontier(frontier, size)

        if record.get("action") in ENTRY_ACTIONS:
            await _check_entry(fund_id, sequence, record, await _next(entries), record_sums,
                               last_touch)
            report.entries_checked += 1
        report.records_checked = size

    if size != stored_size:
        raise Broken(size + 1, f"the log's tree size is {stored_size} but records stop at {size}"
                     f"{': record ' + str(size + 1) + ' is missing' if size < stored_size else ''}")
    if tuple(stored_frontier) != frontier:
        raise Broken(None, "the stored frontier differs from the tree rebuilt from the records")
    extra_node = await _next(nodes)
    if extra_node is not None:
        raise Broken(None, f"Merkle node (level {extra_node['level']}, index "
                           f"{extra_node['index']}) belongs to no record")
    extra_entry = await _next(entries)
    if extra_entry is not None:
        raise Broken(None, f"entry {extra_entry['id']} (entry sequence {extra_entry['sequence']})"
                           " has no audit record")
    root = root_from_frontier(frontier, size)
    report.tree_size = size
    report.root_hash = root.hex()

    for account in await repository.account_totals(connection, fund_id):
        account_id = str(account["id"])
        written = record_sums.get(account_id, [0, 0])
        posted = [int(account["posted_debits"]), int(account["posted_credits"])]
        balance = [int(account["debits"] or 0), int(account["credits"] or 0)]
        if not balance == posted == written:
            raise Broken(last_touch.get(account_id),
                         f"account {account['code']} ({account_id}): balance debits/credits "
                         f"{balance[0]}/{balance[1]}, postings {posted[0]}/{posted[1]}, audit "
                         f"records {written[0]}/{written[1]}")
        report.accounts_checked += 1

    await _check_heads(connection, fund_id, heads, len(saved), roots, size, root, public_keys,
                       report)


async def _check_entry(
    fund_id: uuid.UUID, sequence: int, record: dict[str, Any], row: asyncpg.Record | None,
    record_sums: dict[str, list[int]], last_touch: dict[str, int],
) -> None:
    data = record.get("data")
    if not isinstance(data, dict):
        raise Broken(sequence, f"record {sequence} holds no entry")
    entry_id = data.get("id")
    if row is None or str(row["id"]) != entry_id:
        raise Broken(sequence, f"entry {entry_id} of record {sequence} is missing or out of order")
    document = entry_document_from_row(fund_id, row)
    if not _same_json(document, data):
        differing = sorted(k for k in set(document) | set(data)
                           if not _same_json(document.get(k), data.get(k)))
        raise Broken(sequence, f"entry {entry_id} no longer matches record {sequence}: "
                               f"{', '.join(differing)} differ")
    if row["hash"] != content_hash(document):
        raise Broken(sequence, f"entry {entry_id}'s stored hash differs from its content")
    for posting in data.get("postings", []):
        account_id = str(posting["account_id"])
        sums = record_sums[account_id]
        sums[0 if posting["side"] == "debit" else 1] += int(posting["amount"])
        last_touch[account_id] = sequence


async def _check_heads(
    connection: asyncpg.Connection, fund_id: uuid.UUID, heads: list[dict[str, Any]],
    kept_count: int,
    roots: dict[int, bytes], size: int, root: bytes,
    public_keys: Mapping[str, bytes] | None, report: VerifyReport,
) -> None:
    if heads and public_keys is None:
        report.notes.append("head signatures not checked: no public keys given")
    for position, head in enumerate(heads):
        try:
            parsed = (check_tree_head(head, public_keys) if public_keys is not None
                      else parse_tree_head(head))
        except LedgerError as error:
            raise Broken(None, f"signed head at tree size {head.get('tree_size')!r}: "
                               f"{error.detail}") from error
        described = f"the head signed at {parsed.timestamp} for tree size {parsed.tree_size}"
        if parsed.tree_size > size:
            raise Broken(size + 1, f"{described} is beyond the log, which now holds {size} "
                                   "records: records were removed")
        if roots.get(parsed.tree_size) != parsed.root_hash_bytes:
            raise Broken(None, f"{described} does not match the records: history was rewritten "
                               f"(records 1 to {parsed.tree_size} no longer hash to its root)")
        # A kept head is signed at every write: its root matching the rebuilt tree (and
        # every stored node matching it, step 2) is enough; a proof is served for the
        # heads an auditor hands in, as they would ask the API for one.
        if 0 < parsed.tree_size and position >= kept_count:
            wanted = consistency_proof_nodes(parsed.tree_size, size)
            stored = await repository.get_nodes(connection, fund_id, wanted)
            try:
                proof = consistency_proof(parsed.tree_size, size, stored)
                verify_consistency(parsed.tree_size, size, parsed.root_hash_bytes, root, proof)
            except LedgerError as error:
                raise Broken(None, f"no valid consistency proof from {described} to the "
                                   f"current tree: {error.detail}") from error
        report.heads_checked += 1
