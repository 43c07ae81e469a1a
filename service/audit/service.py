"""The audit trail: every write records what it wrote, in the same transaction.

`record_write` is the one call every write service makes after its change. The
record is appended to the fund's Merkle log (DESIGN.md "Audit log"); reads,
proofs and signed heads are served from here too.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ledger.audit_records import record_parts
from ledger.merkle import (
    consistency_proof,
    consistency_proof_nodes,
    hashes_to_hex,
    inclusion_proof,
    inclusion_proof_nodes,
    root_from_frontier,
)
from ledger.tree_heads import audit_keys_document, sign_tree_head
from service.audit import repository
from service.audit.schemas import (
    AuditBroken,
    AuditKeys,
    AuditRecordRead,
    AuditVerified,
    ConsistencyProof,
    Event,
    EventPage,
    InclusionProof,
    SignedTreeHead,
)
from service.audit.signing import AuditSigner
from service.audit.verification import verify_log
from service.context import RequestContext
from service.errors import (
    InvalidConsistencyRange,
    NotFound,
    SequenceOutOfRange,
    TreeSizeOutOfRange,
)
from service.pagination import Page, decode_cursor, encode_cursor, make_page, sequence_key, uuid_key

# The service-wide log (tokens, areas, clubs) is kept under the nil UUID.
GLOBAL_LOG_ID = uuid.UUID(int=0)


def subject_of(data: dict[str, Any]) -> uuid.UUID | None:
    """What a record is about, when its data names it by id (an entry, an account...)."""
    value = data.get("id")
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None


async def record_write(
    ctx: RequestContext, fund_id: uuid.UUID | None, action: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Append an audit record for a write to `fund_id` (None: the service-wide log).

    Locks the fund (writers to one fund serialise), then appends in one round
    trip. Returns {"sequence", "leaf_hash"} of the record.
    """
    log_id = fund_id or GLOBAL_LOG_ID
    # Round-trip through JSON so that what is hashed is plain JSON (ids, dates as strings).
    plain_data = json.loads(json.dumps(data, default=str))
    record = {
        "fund_id": str(log_id),
        "recorded_at": ctx.now.isoformat(),
        "actor": ctx.actor,
        "action": action,
        "request_id": ctx.request_id,
        "data": plain_data,
    }
    head, tail = record_parts(record)
    sequence, leaf_hash = await repository.append_record(
        ctx.connection, log_id, action, subject_of(plain_data), head, tail
    )
    return {"sequence": sequence, "leaf_hash": leaf_hash.hex()}


async def require_log(ctx: RequestContext, fund_id: uuid.UUID) -> None:
    """404 unless the fund (or the nil id's service-wide log) exists in the caller's scope."""
    ctx.require_fund(fund_id)
    if not await repository.log_exists(ctx.connection, fund_id):
        raise NotFound(f"fund {fund_id} not found")


def record_read(row: Any) -> AuditRecordRead:
    return AuditRecordRead(
        sequence=row["sequence"], leaf_hash=bytes(row["leaf_hash"]).hex(),
        record=json.loads(bytes(row["record"])),
    )


async def list_records(
    ctx: RequestContext, fund_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[AuditRecordRead]:
    await require_log(ctx, fund_id)
    after = decode_cursor(cursor, sequence_key)
    rows = await repository.list_records(
        ctx.connection, fund_id, after[0] if after else None, limit + 1
    )
    return make_page([record_read(r) for r in rows], limit, lambda r: [r.sequence])


def head_timestamp(now: datetime) -> str:
    """RFC 3339 UTC with a `Z`, microseconds."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def signed_head(
    ctx: RequestContext, signer: AuditSigner, fund_id: uuid.UUID
) -> SignedTreeHead:
    await require_log(ctx, fund_id)
    return await head_now(ctx.connection, signer, fund_id, ctx.now)


async def head_now(
    connection: asyncpg.Connection, signer: AuditSigner, fund_id: uuid.UUID, now: datetime
) -> SignedTreeHead:
    """The signed head of the log as committed now.

    A head is signed once per tree size and key and kept (audit_heads): asking
    again at the same size answers the same head, and the service never signs
    two different roots for one size.
    """
    size, frontier = await repository.get_tree(connection, fund_id)
    latest = await repository.latest_head(connection, fund_id, signer.key_id)
    if latest is None or latest["tree_size"] != size:
        root = root_from_frontier(tuple(frontier), size).hex()
        head = sign_tree_head(signer.private_key, signer.key_id, str(fund_id), size, root,
                              head_timestamp(now))
        await repository.insert_head(
            connection, fund_id=fund_id, tree_size=size, root_hash=root,
            timestamp=str(head["timestamp"]), key_id=signer.key_id,
            signature=str(head["signature"]),
        )
        latest = await repository.latest_head(connection, fund_id, signer.key_id)
        assert latest is not None
    return SignedTreeHead(**dict(latest))


async def current_size(ctx: RequestContext, fund_id: uuid.UUID) -> int:
    await require_log(ctx, fund_id)
    size, _ = await repository.get_tree(ctx.connection, fund_id)
    return size


async def inclusion(
    ctx: RequestContext, fund_id: uuid.UUID, sequence: int, tree_size: int | None
) -> InclusionProof:
    size = await current_size(ctx, fund_id)
    tree_size = size if tree_size is None else tree_size
    if not 1 <= tree_size <= size:
        raise TreeSizeOutOfRange(f"tree_size must be between 1 and {size}, got {tree_size}")
    if not 1 <= sequence <= tree_size:
        raise SequenceOutOfRange(
            f"sequence must be between 1 and tree_size {tree_size}, got {sequence}"
        )
    return await inclusion_proof_for(ctx.connection, fund_id, sequence, tree_size)


async def inclusion_proof_for(
    connection: asyncpg.Connection, fund_id: uuid.UUID, sequence: int, tree_size: int
) -> InclusionProof:
    """The proof of record `sequence` in the tree of `tree_size` (both already checked)."""
    index = sequence - 1
    wanted = (*inclusion_proof_nodes(index, tree_size), (0, index))
    nodes = await repository.get_nodes(connection, fund_id, wanted)
    return InclusionProof(
        sequence=sequence, tree_size=tree_size, leaf_hash=nodes[(0, index)].hex(),
        audit_path=hashes_to_hex(inclusion_proof(index, tree_size, nodes)),
    )


async def receipt_for_entry(
    connection: asyncpg.Connection, signer: AuditSigner, entry_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """A self-contained receipt for an entry: its record, inclusion proof and signed head
    (checked offline by `ledger.receipts.check_receipt`)."""
    row = await repository.find_subject_record(
        connection, entry_id, ("entry.posted", "entry.reversal_posted")
    )
    if row is None:
        raise NotFound(f"entry {entry_id} not found")
    head = await head_now(connection, signer, row["fund_id"], now)
    proof = await inclusion_proof_for(connection, row["fund_id"], row["sequence"],
                                      head.tree_size)
    return {
        "record": json.loads(bytes(row["record"])),
        "leaf_hash": bytes(row["leaf_hash"]).hex(),
        "proof": proof.model_dump(mode="json"),
        "head": head.model_dump(mode="json"),
    }


async def consistency(
    ctx: RequestContext, fund_id: uuid.UUID, first: int, second: int | None
) -> ConsistencyProof:
    size = await current_size(ctx, fund_id)
    second = size if second is None else second
    if not 1 <= first <= second <= size:
        raise InvalidConsistencyRange(
            f"need 1 <= first <= second <= {size}, got first={first}, second={second}"
        )
    nodes = await repository.get_nodes(
        ctx.connection, fund_id, consistency_proof_nodes(first, second)
    )
    return ConsistencyProof(
        first=first, second=second,
        proof=hashes_to_hex(consistency_proof(first, second, nodes)),
    )


async def verify(
    ctx: RequestContext, pool: asyncpg.Pool, signer: AuditSigner | None, fund_id: uuid.UUID
) -> AuditVerified | AuditBroken:
    """Full verification on a connection of its own (one consistent snapshot)."""
    await require_log(ctx, fund_id)
    async with pool.acquire() as connection:
        report = await verify_log(
            connection, fund_id, public_keys=signer.public_keys if signer else None
        )
    answer = report.answer()
    return AuditVerified(**answer) if report.ok else AuditBroken(**answer)


def published_keys(signer: AuditSigner) -> AuditKeys:
    return AuditKeys.model_validate(audit_keys_document(signer.public_keys.values()))


def event_read(row: Any) -> Event:
    return Event(
        cursor=encode_cursor([row["feed_key"], str(row["fund_id"]), row["sequence"]]),
        fund_id=row["fund_id"], sequence=row["sequence"], action=row["action"],
        leaf_hash=bytes(row["leaf_hash"]).hex(), record=json.loads(bytes(row["record"])),
    )


async def list_events(ctx: RequestContext, limit: int, after: str | None) -> EventPage:
    position = decode_cursor(after, sequence_key, uuid_key, sequence_key)
    rows = await repository.list_events(ctx.connection, position, limit, ctx.fund_scope)
    items = [event_read(r) for r in rows]
    return EventPage(items=items, next_cursor=items[-1].cursor if items else after)
