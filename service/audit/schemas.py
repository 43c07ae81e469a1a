from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field

HEX_HASH = r"^[0-9a-f]{64}$"


class AuditStamp(BaseModel):
    """Where a write's audit record sits in its fund's log."""

    sequence: int = Field(description="the record's sequence in its fund's audit log")
    leaf_hash: str = Field(description="SHA-256(0x00 || JCS(record)), lowercase hex")


class AuditRecordRead(BaseModel):
    sequence: int
    leaf_hash: str = Field(pattern=HEX_HASH)
    record: dict[str, Any] = Field(
        description="exactly the hashed object: leaf_hash = SHA-256(0x00 || JCS(record))"
    )


class SignedTreeHead(BaseModel):
    fund_id: uuid.UUID
    tree_size: int
    root_hash: str = Field(pattern=HEX_HASH)
    timestamp: str = Field(description="RFC 3339, UTC")
    key_id: str
    signature: str = Field(
        description='Ed25519 over JCS({"fund_id", "tree_size", "root_hash", "timestamp"}), base64'
    )


class InclusionProof(BaseModel):
    sequence: int
    tree_size: int
    leaf_hash: str = Field(pattern=HEX_HASH)
    audit_path: list[str] = Field(description="RFC 9162 §2.1.3 inclusion path, lowercase hex")


class ConsistencyProof(BaseModel):
    first: int
    second: int
    proof: list[str] = Field(description="RFC 9162 §2.1.4 consistency proof, lowercase hex")


class AuditVerified(BaseModel):
    ok: Literal[True]
    tree_size: int
    root_hash: str


class AuditBroken(BaseModel):
    ok: Literal[False]
    fund_id: uuid.UUID
    sequence: int | None = Field(description="the first record that does not match")
    reason: str


class AuditKey(BaseModel):
    key_id: str
    algorithm: Literal["ed25519"]
    public_key: str = Field(description="base64 of the 32 raw bytes")
    verifier_key: str = Field(
        description="the same key as a signed-note verifier key, "
                    "<name>+<hex key id>+<base64(0x01 || public key)>; it signs checkpoints"
    )


class AuditKeys(BaseModel):
    keys: list[AuditKey]


class Event(BaseModel):
    """One domain event: an audit record of any log, in feed order."""

    cursor: str = Field(description="resume after this event with ?after=<cursor>")
    fund_id: uuid.UUID = Field(description="the fund (nil UUID: the service-wide log)")
    sequence: int
    action: str
    leaf_hash: str
    record: dict[str, Any]


class EventPage(BaseModel):
    items: list[Event]
    next_cursor: str | None = Field(
        description="pass as ?after= to continue; the feed never ends, so poll with it"
    )


class EntryReceipt(BaseModel):
    """An entry's audit receipt, checkable offline with the published keys."""

    record: dict[str, Any] = Field(description="the audit record that posted the entry")
    leaf_hash: str = Field(pattern=HEX_HASH)
    proof: InclusionProof
    head: SignedTreeHead
    checkpoint: str = Field(
        description="the same tree head as a C2SP checkpoint (signed note), with witnesses' "
                    "cosignatures"
    )


class CheckpointCheck(BaseModel):
    """A checkpoint an auditor saved, checked against the log as it is now."""

    ok: Literal[True]
    tree_size: int = Field(description="the saved checkpoint's size")
    current_tree_size: int = Field(description="the log's size now; the proof led here")
    cosigned_by: list[str] = Field(description="configured witnesses whose cosignature on "
                                               "the saved checkpoint verifies")
