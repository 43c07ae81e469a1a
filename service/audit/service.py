"""The audit trail: every write records what it wrote, in the same transaction.

`record_write` is the one call every write service makes after its change. The
record is appended to the fund's Merkle log (docs/design.md "Audit log"); reads,
proofs and signed heads are served from here too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from ledger.audit_records import record_parts
from ledger.canonical_json import is_plain
from ledger.checkpoints import InvalidCheckpoint, UnknownSigner, open_checkpoint
from ledger.errors import LedgerError
from ledger.log_replay import LogMismatch
from ledger.merkle import (
    consistency_proof,
    consistency_proof_nodes,
    hashes_to_hex,
    inclusion_proof,
    inclusion_proof_nodes,
    root_from_frontier,
    subtree_hash,
    subtree_hash_nodes,
    verify_consistency,
)
from ledger.signed_notes import open_note
from ledger.tree_heads import audit_keys_document, sign_tree_head
from service.audit import repository
from service.audit.schemas import (
    AuditBroken,
    AuditKeys,
    AuditRecordRead,
    AuditVerified,
    CheckpointCheck,
    ConsistencyProof,
    EntryReceipt,
    Event,
    EventPage,
    InclusionProof,
    SignedTreeHead,
)
from service.audit.signing import AuditSigner
from service.audit.verification import verify_log
from service.audit.witnessing import Witness, signed_checkpoint, verified_cosignatures
from service.context import RequestContext
from service.errors import (
    InvalidConsistencyRange,
    NotFound,
    SequenceOutOfRange,
    TreeSizeOutOfRange,
)
from service.language import Text
from service.pagination import Page, decode_cursor, encode_cursor, make_page, sequence_key, uuid_key

# The service-wide log (tokens, areas, clubs) is kept under the nil UUID.
GLOBAL_LOG_ID = uuid.UUID(int=0)


def subject_of(data: dict[str, Any]) -> uuid.UUID | None:
    """What a record is about, when its data names it by id (an entry, an account, a
    member, a closed month...) or names its loan (a loan's application and events)."""
    value = data.get("id", data.get("loan_id"))
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None


async def record_write(
    ctx: RequestContext, fund_id: uuid.UUID | None, action: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Append an audit record for a write to `fund_id` (None: the service-wide log):
    `record_writes` with one record. Returns {"sequence", "leaf_hash"} of the record."""
    stamps = await record_writes(ctx, fund_id, [(action, data)])
    return stamps[0]


async def record_writes(
    ctx: RequestContext, fund_id: uuid.UUID | None, writes: Sequence[tuple[str, dict[str, Any]]]
) -> list[dict[str, Any]]:
    """Append one audit record per (action, data) to `fund_id`'s log, in order.

    Locks the fund (writers to one fund serialise), then appends them all in one round
    trip. Returns {"sequence", "leaf_hash"} of each record.
    """
    records = audit_records(ctx, fund_id, writes)
    appended = await repository.append_records(ctx.connection, records)
    return audit_stamps(ctx, records, appended)


def audit_records(
    ctx: RequestContext, fund_id: uuid.UUID | None, writes: Sequence[tuple[str, dict[str, Any]]]
) -> repository.AuditRecords:
    """The records of `writes` for `fund_id`'s log (None: the service-wide log), ready for
    `repository.append_records` or a write that appends them in its own statement (the
    posting path); then `audit_stamps`."""
    records = repository.AuditRecords(log_id=fund_id or GLOBAL_LOG_ID)
    for action, data in writes:
        # What is hashed is plain JSON: other values (ids, dates) are written as
        # strings by a round trip through JSON, which data that is plain already (an
        # entry's document) does not need.
        plain_data = data if is_plain(data, 0) else json.loads(json.dumps(data, default=str))
        record = {
            "fund_id": str(records.log_id),
            "recorded_at": ctx.now.isoformat(),
            "actor": ctx.actor,
            "action": action,
            "request_id": ctx.request_id,
            "data": plain_data,
        }
        head, tail = record_parts(record)
        records.actions.append(action)
        records.subject_ids.append(subject_of(plain_data))
        records.heads.append(head)
        records.tails.append(tail)
    return records


def audit_stamps(
    ctx: RequestContext, records: repository.AuditRecords, appended: list[tuple[int, bytes]]
) -> list[dict[str, Any]]:
    """{"sequence", "leaf_hash"} of each appended record; the log's head is signed before
    COMMIT."""
    note_log_written(ctx.state, records.log_id)
    return [{"sequence": sequence, "leaf_hash": leaf_hash.hex()}
            for sequence, leaf_hash in appended]


async def record_service_write(
    ctx: RequestContext, action: str, data: dict[str, Any]
) -> dict[str, Any]:
    """Append to the service-wide log for a caller whose scope does not hold it (a
    province auditor setting her plan's targets): the transaction sees that log for
    this one append only. The caller must have been authorised for the write."""
    if ctx.principal is None or ctx.principal.fund_ids is None:
        return await record_write(ctx, None, action, data)
    previous = await repository.widen_scope_to_fund(ctx.connection, GLOBAL_LOG_ID)
    try:
        return await record_write(ctx, None, action, data)
    finally:
        await repository.restore_fund_scope(ctx.connection, previous)


LOGS_WRITTEN = "audit_logs_written"


def note_log_written(state: Any, log_id: uuid.UUID) -> None:
    """Remember that this request grew `log_id`: its head is signed before COMMIT."""
    written: set[uuid.UUID] | None = getattr(state, LOGS_WRITTEN, None)
    if written is None:
        written = set()
        setattr(state, LOGS_WRITTEN, written)
    written.add(log_id)


async def require_log(ctx: RequestContext, fund_id: uuid.UUID) -> None:
    """404 unless the fund (or the nil id's service-wide log) exists in the caller's scope."""
    ctx.require_fund(fund_id)
    if not await repository.log_exists(ctx.connection, fund_id):
        raise NotFound("fund", fund_id)


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
    return await current_head(ctx.connection, signer, fund_id, ctx.now)


async def current_head(
    connection: asyncpg.Connection, signer: AuditSigner, fund_id: uuid.UUID, now: datetime
) -> SignedTreeHead:
    """The signed head of the log as committed now; reading it writes nothing.

    Writes sign and keep a head before they commit (`sign_new_heads`), so the kept
    head is normally the current one. A log grown outside a request (the command
    line) is signed here without being kept, until the background task keeps one.
    """
    size, frontier = await repository.get_tree(connection, fund_id)
    latest = await repository.latest_head(connection, fund_id, signer.key_id)
    if latest is not None and latest["tree_size"] == size:
        return SignedTreeHead(**dict(latest))
    root = root_from_frontier(tuple(frontier), size).hex()
    return SignedTreeHead.model_validate(sign_tree_head(
        signer.private_key, signer.key_id, str(fund_id), size, root, head_timestamp(now)
    ))


async def sign_new_heads(
    connection: asyncpg.Connection, signer: AuditSigner, log_ids: Iterable[uuid.UUID],
    now: datetime,
) -> list[uuid.UUID]:
    """Sign and keep a head for each log whose size has no head under the current key.

    A head is signed once per tree size and key: the service never keeps two
    different roots for one size. Returns the logs that got a new head.
    """
    signed = []
    for log_id in sorted(set(log_ids)):
        size, frontier = await repository.get_tree(connection, log_id)
        latest = await repository.latest_head(connection, log_id, signer.key_id)
        if latest is not None and latest["tree_size"] >= size:
            continue
        root = root_from_frontier(tuple(frontier), size).hex()
        head = sign_tree_head(signer.private_key, signer.key_id, str(log_id), size, root,
                              head_timestamp(now))
        await repository.insert_head(
            connection, fund_id=log_id, tree_size=size, root_hash=root,
            timestamp=str(head["timestamp"]), key_id=signer.key_id,
            signature=str(head["signature"]),
        )
        signed.append(log_id)
    return signed


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
        raise TreeSizeOutOfRange(Text("tree_size must be between 1 and {size}, got {given}",
                                      "tree_size phải từ 1 đến {size}, không phải {given}"),
                                 size=size, given=tree_size)
    if not 1 <= sequence <= tree_size:
        raise SequenceOutOfRange(
            Text("sequence must be between 1 and tree_size {size}, got {given}",
                 "sequence phải từ 1 đến tree_size {size}, không phải {given}"),
            size=tree_size, given=sequence,
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


async def fund_checkpoint(
    connection: asyncpg.Connection, signer: AuditSigner, witnesses: list[Witness],
    fund_id: uuid.UUID, now: datetime,
) -> tuple[SignedTreeHead, str]:
    """The current head and the same head as a C2SP checkpoint, with every witness's
    cosignature that verifies on it (signing is deterministic: nothing is written)."""
    head = await current_head(connection, signer, fund_id, now)
    note = signed_checkpoint(signer, fund_id, head.tree_size, head.root_hash)
    stored = await repository.list_cosignatures(connection, fund_id, head.tree_size)
    return head, note + "".join(verified_cosignatures(note, stored, witnesses))


async def checkpoint(
    ctx: RequestContext, signer: AuditSigner, witnesses: list[Witness], fund_id: uuid.UUID
) -> str:
    await require_log(ctx, fund_id)
    _, note = await fund_checkpoint(ctx.connection, signer, witnesses, fund_id, ctx.now)
    return note


async def check_saved_checkpoint(
    ctx: RequestContext, signer: AuditSigner, witnesses: list[Witness], fund_id: uuid.UUID,
    note: bytes,
) -> CheckpointCheck:
    """Check a checkpoint a client saved: the log's signature, every other signature a
    configured witness's, the fund, the records still hashing to its root, and a
    consistency proof from it to the current tree. Each failure names what failed."""
    await require_log(ctx, fund_id)
    checkpoint, _ = open_checkpoint(note, signer.verifier_keys)
    witness_keys = [w.key for w in witnesses]
    opened = open_note(note, [*signer.verifier_keys, *witness_keys])
    if opened.unverified:
        names = ", ".join(f"{line.name}+{line.key_id.hex()}" for line in opened.unverified)
        raise UnknownSigner(f"the checkpoint carries signatures by {names}: neither this"
                            " log's key nor a configured witness",
                            f"điểm kiểm tra mang chữ ký của {names}: không phải khóa của"
                            " nhật ký này, cũng không phải nhân chứng đã cấu hình")
    if checkpoint.origin != signer.origin(fund_id):
        raise InvalidCheckpoint(f"the checkpoint's origin {checkpoint.origin!r} is not"
                                f" {signer.origin(fund_id)!r}",
                                f"nguồn của điểm kiểm tra {checkpoint.origin!r} không phải"
                                f" {signer.origin(fund_id)!r}")
    size, frontier = await repository.get_tree(ctx.connection, fund_id)
    saved = checkpoint.tree_size
    if saved > size:
        raise LogMismatch(f"the checkpoint holds {saved} records, the log now {size}:"
                          " records were removed",
                          f"điểm kiểm tra có {saved} bản ghi, nhật ký nay chỉ còn {size}:"
                          " đã có bản ghi bị xóa")
    if saved > 0:
        nodes = await repository.get_nodes(
            ctx.connection, fund_id,
            (*subtree_hash_nodes(0, saved), *consistency_proof_nodes(saved, size)))
        if subtree_hash(0, saved, nodes) != checkpoint.root_hash:
            raise LogMismatch(f"records 1 to {saved} no longer hash to the checkpoint's"
                              " root: history was rewritten",
                              f"các bản ghi 1 đến {saved} không còn cho mã băm gốc của"
                              " điểm kiểm tra: lịch sử đã bị viết lại")
        try:
            verify_consistency(saved, size, checkpoint.root_hash,
                               root_from_frontier(tuple(frontier), size),
                               consistency_proof(saved, size, nodes))
        except LedgerError as error:
            raise LogMismatch(f"no consistency proof from size {saved} to {size}:"
                              f" {error.detail}",
                              f"không có bằng chứng nhất quán từ kích thước {saved} đến"
                              f" {size}: {error.detail}") from error
    log_names = {key.name for key in signer.verifier_keys}
    return CheckpointCheck(
        ok=True, tree_size=saved, current_tree_size=size,
        cosigned_by=[line.name for line in opened.verified if line.name not in log_names],
    )


async def receipt_for_entry(
    connection: asyncpg.Connection, signer: AuditSigner, witnesses: list[Witness],
    entry_id: uuid.UUID, now: datetime, sees_fund: Callable[[uuid.UUID], bool] | None = None,
) -> EntryReceipt:
    """A self-contained receipt for an entry: its record, inclusion proof, signed head and
    checkpoint (checked offline by `ledger.receipts.check_receipt`). An entry of a fund
    `sees_fund` refuses is not found."""
    row = await repository.find_subject_record(
        connection, entry_id, ("entry.posted", "entry.reversal_posted")
    )
    if row is None or (sees_fund is not None and not sees_fund(row["fund_id"])):
        raise NotFound("entry", entry_id)
    head, note = await fund_checkpoint(connection, signer, witnesses, row["fund_id"], now)
    proof = await inclusion_proof_for(connection, row["fund_id"], row["sequence"],
                                      head.tree_size)
    return EntryReceipt(
        record=json.loads(bytes(row["record"])), leaf_hash=bytes(row["leaf_hash"]).hex(),
        proof=proof, head=head, checkpoint=note,
    )


async def entry_receipt(
    ctx: RequestContext, signer: AuditSigner, witnesses: list[Witness], entry_id: uuid.UUID
) -> EntryReceipt:
    """The receipt of an entry in the caller's scope (404 otherwise)."""
    return await receipt_for_entry(ctx.connection, signer, witnesses, entry_id, ctx.now,
                                   ctx.sees_fund)


async def consistency(
    ctx: RequestContext, fund_id: uuid.UUID, first: int, second: int | None
) -> ConsistencyProof:
    size = await current_size(ctx, fund_id)
    second = size if second is None else second
    if not 1 <= first <= second <= size:
        raise InvalidConsistencyRange(
            Text("need 1 <= first <= second <= {size}, got first={first}, second={second}",
                 "cần 1 <= first <= second <= {size}, ở đây first={first}, second={second}"),
            size=size, first=first, second=second,
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
    document = audit_keys_document(signer.public_keys.values())
    for key, verifier in zip(document["keys"], signer.verifier_keys, strict=True):
        key["verifier_key"] = str(verifier)
    return AuditKeys.model_validate(document)


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
