from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse

from service.audit import service
from service.audit.background import app_signer
from service.audit.schemas import (
    AuditBroken,
    AuditKeys,
    AuditRecordRead,
    AuditVerified,
    CheckpointCheck,
    ConsistencyProof,
    EntryReceipt,
    EventPage,
    InclusionProof,
    SignedTreeHead,
)
from service.audit.signing import AuditSigner
from service.audit.witnessing import Witness, parse_witnesses
from service.context import RequestContext, get_context
from service.errors import (
    AuditKeyMissing,
    BadRequest,
    InvalidConsistencyRange,
    InvalidCursor,
    NotFound,
    SequenceOutOfRange,
    TreeSizeOutOfRange,
    problem_responses,
)
from service.language import Text
from service.pagination import LIMIT_DEFAULT, LIMIT_MAX, Page, page_params

router = APIRouter(tags=["audit"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]


def get_signer(request: Request) -> AuditSigner:
    """The app's signing key, loaded from its settings once."""
    return app_signer(request.app)


def get_signer_if_any(request: Request) -> AuditSigner | None:
    try:
        return get_signer(request)
    except AuditKeyMissing:
        return None


def get_witnesses(request: Request) -> list[Witness]:
    """The witnesses whose cosignatures are served (CLUBFUND_WITNESSES), parsed once."""
    witnesses: list[Witness] | None = getattr(request.app.state, "witnesses", None)
    if witnesses is None:
        witnesses = parse_witnesses(request.app.state.settings.witnesses)
        request.app.state.witnesses = witnesses
    return witnesses


Signer = Annotated[AuditSigner, Depends(get_signer)]
Witnesses = Annotated[list[Witness], Depends(get_witnesses)]
CHECKPOINT_MEDIA_TYPE = "text/plain; charset=utf-8"


@router.get("/v1/funds/{fund_id}/audit", response_model=Page[AuditRecordRead],
            responses=problem_responses(NotFound, InvalidCursor))
async def list_audit_records(
    ctx: Context, fund_id: uuid.UUID, page: PageParams
) -> Page[AuditRecordRead]:
    """The fund's audit records in sequence order (the nil UUID: the service-wide log).

    `leaf_hash` = SHA-256(0x00 || JCS(record)) over exactly the `record` returned.
    """
    return await service.list_records(ctx, fund_id, *page)


@router.get("/v1/funds/{fund_id}/audit/head", response_model=SignedTreeHead,
            responses=problem_responses(NotFound, AuditKeyMissing))
async def get_audit_head(ctx: Context, signer: Signer, fund_id: uuid.UUID) -> SignedTreeHead:
    """The signed head of the fund's log as committed now (Ed25519, see audit-keys)."""
    return await service.signed_head(ctx, signer, fund_id)


@router.get("/v1/funds/{fund_id}/audit/checkpoint", response_class=PlainTextResponse,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "a C2SP tlog-checkpoint signed note"},
                       **problem_responses(NotFound, AuditKeyMissing)})
async def get_audit_checkpoint(
    ctx: Context, signer: Signer, witnesses: Witnesses, fund_id: uuid.UUID
) -> PlainTextResponse:
    """The current tree head as a C2SP checkpoint: origin `<log>/funds/<fund_id>`, size,
    base64 root, a blank line, the log's Ed25519 signature line and every configured
    witness's cosignature (tlog-cosignature) on it. Verify with the `verifier_key` of
    /.well-known/clubfund/audit-keys; reading it writes nothing."""
    note = await service.checkpoint(ctx, signer, witnesses, fund_id)
    return PlainTextResponse(note, media_type=CHECKPOINT_MEDIA_TYPE)


# A checkpoint with a few dozen cosignatures fits; percent-encoded (up to 12 bytes a
# character) the URL stays under the 64 KiB an HTTP request line may take here.
CHECKPOINT_LENGTH_MAX = 4 * 1024


@router.get(
    "/v1/funds/{fund_id}/audit/checkpoint/verification", response_model=CheckpointCheck,
    responses=problem_responses(
        NotFound, AuditKeyMissing,
        *((422, code) for code in ("malformed_note", "invalid_note_signature", "unverified_note",
                                   "invalid_checkpoint", "unknown_signer", "log_mismatch"))),
)
async def verify_saved_checkpoint(
    ctx: Context, signer: Signer, witnesses: Witnesses, fund_id: uuid.UUID,
    checkpoint: Annotated[str, Query(
        min_length=1, max_length=CHECKPOINT_LENGTH_MAX,
        description="a checkpoint saved earlier, exactly as /audit/checkpoint served it "
                    "(URL-encoded: `curl --get --data-urlencode checkpoint@saved.txt`)")],
) -> CheckpointCheck:
    """Check a checkpoint saved earlier against the log now: the log's signature, every
    cosignature by a configured witness, the records 1..size still hashing to its root,
    and a consistency proof to the current tree. A forged, truncated or foreign
    checkpoint, a signature by an unknown witness or a rewritten history is refused
    (422) with what failed."""
    return await service.check_saved_checkpoint(ctx, signer, witnesses, fund_id,
                                                checkpoint.encode("utf-8"))


@router.get("/v1/entries/{entry_id}/receipt", response_model=EntryReceipt,
            responses=problem_responses(NotFound, AuditKeyMissing))
async def get_entry_receipt(
    ctx: Context, signer: Signer, witnesses: Witnesses, entry_id: uuid.UUID
) -> EntryReceipt:
    """The entry's audit record, its leaf hash, its inclusion proof in the current tree,
    and that tree's signed head and checkpoint: everything `clubfund audit check-receipt`
    needs, with the published keys, to prove the entry is in the books."""
    return await service.entry_receipt(ctx, signer, witnesses, entry_id)


@router.get("/v1/funds/{fund_id}/audit/proof", response_model=InclusionProof,
            responses=problem_responses(NotFound, SequenceOutOfRange, TreeSizeOutOfRange))
async def get_inclusion_proof(
    ctx: Context, fund_id: uuid.UUID, sequence: int,
    tree_size: Annotated[int | None, Query(description="defaults to the current size")] = None,
) -> InclusionProof:
    """RFC 9162 §2.1.3 inclusion proof of record `sequence` (leaf `sequence - 1`)."""
    return await service.inclusion(ctx, fund_id, sequence, tree_size)


@router.get("/v1/funds/{fund_id}/audit/consistency", response_model=ConsistencyProof,
            responses=problem_responses(NotFound, InvalidConsistencyRange))
async def get_consistency_proof(
    ctx: Context, fund_id: uuid.UUID, first: int,
    second: Annotated[int | None, Query(description="defaults to the current size")] = None,
) -> ConsistencyProof:
    """RFC 9162 §2.1.4 proof that the tree of `second` records only appended to `first`."""
    return await service.consistency(ctx, fund_id, first, second)


@router.get("/v1/funds/{fund_id}/audit/verify", response_model=AuditVerified | AuditBroken,
            responses=problem_responses(NotFound))
async def verify_audit_log(
    ctx: Context, request: Request, fund_id: uuid.UUID,
    signer: Annotated[AuditSigner | None, Depends(get_signer_if_any)],
) -> AuditVerified | AuditBroken:
    """Re-derive every leaf, the root, every stored node, every entry and every balance.

    Answers ok with the tree size and root, or the first record that does not match.
    """
    return await service.verify(ctx, request.app.state.pool, signer, fund_id)


@router.get("/.well-known/clubfund/audit-keys", response_model=AuditKeys,
            responses=problem_responses(AuditKeyMissing))
async def get_audit_keys(signer: Signer) -> AuditKeys:
    """The public keys that sign tree heads: the current one first, then earlier ones."""
    return service.published_keys(signer)


@router.get("/v1/events", response_model=EventPage,
            responses=problem_responses(InvalidCursor, BadRequest))
async def list_events(
    ctx: Context,
    cursor: Annotated[str | None, Query(max_length=500,
                                        description="`next_cursor` of an earlier page")] = None,
    after: Annotated[str | None, Query(max_length=500, deprecated=True,
                                       description="the former name of `cursor`")] = None,
    limit: Annotated[int, Query(ge=1, le=LIMIT_MAX)] = LIMIT_DEFAULT,
) -> EventPage:
    """The ordered change feed: every committed audit record of every log, each exactly once.

    Poll with `cursor=<next_cursor>`. An event appears once no older transaction is
    still running, so a page never skips an event that commits later. `after` is the
    deprecated former name of `cursor`.
    """
    if cursor is not None and after is not None and cursor != after:
        raise BadRequest(Text("send `cursor` or its former name `after`, not both",
                              "chỉ gửi `cursor` hoặc tên cũ `after`, không gửi cả hai"))
    return await service.list_events(ctx, limit, cursor if cursor is not None else after)
