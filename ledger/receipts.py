"""Offline receipt checks behind ``clubfund audit check-receipt``.

A receipt is the JSON object::

    {"record":    {...the audit record, with "fund_id" and "sequence"...},
     "leaf_hash": "<hex>",
     "proof":     {"sequence", "tree_size", "leaf_hash", "audit_path": ["<hex>", ...]},
     "head":      {"fund_id", "tree_size", "root_hash", "timestamp", "key_id", "signature"}}

`check_receipt` needs nothing but the receipt and the published public keys: it
re-hashes the record (``SHA-256(0x00 || JCS(record))``), checks that every copy
of the leaf hash, sequence, fund and tree size agrees, verifies the head's
Ed25519 signature and then the RFC 9162 inclusion proof of leaf
``sequence − 1`` against the signed root.

`check_consistency_against_saved_head` checks that a new signed head only
appended to a head the auditor saved earlier, given the API's consistency
answer ``{"first", "second", "proof": ["<hex>", ...]}``.

Errors: `InvalidReceipt` (malformed receipt, or its parts disagree — e.g. an
altered record), `UnknownKey` / `InvalidSignature` (the head), `InvalidProof`
(the Merkle proof). Each message names the field that failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from ledger.checkpoints import InvalidCheckpoint, open_checkpoint
from ledger.errors import LedgerError
from ledger.merkle import (
    InvalidProof,
    InvalidRecord,
    hash_from_hex,
    hashes_from_hex,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from ledger.signed_notes import VerifierKey
from ledger.tree_heads import check_tree_head

__all__ = [
    "ConsistencyCheck",
    "InvalidReceipt",
    "ReceiptCheck",
    "check_consistency_against_saved_head",
    "check_receipt",
]

_RECEIPT_FIELDS: Final = ("record", "leaf_hash", "proof", "head")
_PROOF_FIELDS: Final = ("sequence", "tree_size", "leaf_hash", "audit_path")
_CONSISTENCY_FIELDS: Final = ("first", "second", "proof")


class InvalidReceipt(LedgerError):
    """A malformed receipt, or one whose parts do not agree with each other."""

    code = "invalid_receipt"


@dataclass(frozen=True, slots=True)
class ReceiptCheck:
    """What a verified receipt establishes: record ``sequence`` of ``fund_id`` is
    leaf ``sequence − 1`` of the tree of ``tree_size`` leaves with ``root_hash``,
    as signed under ``key_id`` at ``timestamp``."""

    fund_id: str
    sequence: int
    tree_size: int
    root_hash: str
    key_id: str
    leaf_hash: str
    timestamp: str


@dataclass(frozen=True, slots=True)
class ConsistencyCheck:
    """Both heads verified, and ``second_size`` only appended to ``first_size``."""

    fund_id: str
    first_size: int
    second_size: int
    first_root: str
    second_root: str


def _object(value: object, what: str, fields: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidReceipt(f"{what} must be a JSON object")
    missing = [name for name in fields if name not in value]
    if missing:
        raise InvalidReceipt(f"{what} lacks {', '.join(missing)}")
    return value


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidReceipt(f"{what} must be a positive integer")
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _hex(value: object, what: str) -> bytes:
    try:
        return hash_from_hex(value, what)
    except InvalidProof as exc:
        raise InvalidReceipt(exc.detail) from exc


def check_receipt(
    receipt: Mapping[str, Any], public_keys: Mapping[str, bytes],
    log_keys: Iterable[VerifierKey] | None = None,
) -> ReceiptCheck:
    """Verify one receipt offline against the published ``{key_id: raw public key}``.

    With ``log_keys`` (the log's signed-note verifier keys) the receipt's
    ``checkpoint`` must be there, verify, name the record's fund and carry the
    head's size and root; its witnesses' cosignatures are left to the caller.
    """
    receipt = _object(receipt, "receipt", _RECEIPT_FIELDS)
    record = _object(receipt["record"], "record", ("fund_id", "sequence"))
    proof = _object(receipt["proof"], "proof", _PROOF_FIELDS)
    head = receipt["head"]

    fund_id = record["fund_id"]
    if not isinstance(fund_id, str) or not fund_id:
        raise InvalidReceipt("record.fund_id must be a non-empty string")
    sequence = _positive_int(record["sequence"], "record.sequence")
    given_leaf = _hex(receipt["leaf_hash"], "leaf_hash")
    proof_leaf = _hex(proof["leaf_hash"], "proof.leaf_hash")
    proof_sequence = _positive_int(proof["sequence"], "proof.sequence")
    tree_size = _positive_int(proof["tree_size"], "proof.tree_size")
    audit_path = hashes_from_hex(proof["audit_path"], "proof.audit_path")

    try:
        recomputed = leaf_hash(record)
    except InvalidRecord as exc:
        raise InvalidReceipt(f"record: {exc.detail}") from exc
    if recomputed != given_leaf:
        raise InvalidReceipt("record does not hash to leaf_hash: the record was altered")
    if proof_leaf != given_leaf:
        raise InvalidReceipt("proof.leaf_hash differs from leaf_hash")
    if proof_sequence != sequence:
        raise InvalidReceipt(
            f"proof.sequence ({proof_sequence}) differs from record.sequence ({sequence})"
        )

    signed = check_tree_head(head, public_keys)
    if signed.fund_id != fund_id:
        raise InvalidReceipt(
            f"head.fund_id ({signed.fund_id!r}) differs from record.fund_id ({fund_id!r})"
        )
    if signed.tree_size != tree_size:
        raise InvalidReceipt(
            f"proof.tree_size ({tree_size}) differs from head.tree_size ({signed.tree_size})"
        )
    if sequence > tree_size:
        raise InvalidProof(f"sequence {sequence} is beyond tree_size {tree_size}")

    verify_inclusion(recomputed, sequence - 1, tree_size, audit_path, signed.root_hash_bytes)
    if log_keys is not None:
        _check_receipt_checkpoint(receipt.get("checkpoint"), log_keys, fund_id, signed.tree_size,
                                  signed.root_hash_bytes)
    return ReceiptCheck(
        fund_id=fund_id,
        sequence=sequence,
        tree_size=tree_size,
        root_hash=signed.root_hash,
        key_id=signed.key_id,
        leaf_hash=recomputed.hex(),
        timestamp=signed.timestamp,
    )


def _check_receipt_checkpoint(
    note: object, log_keys: Iterable[VerifierKey], fund_id: str, tree_size: int, root: bytes
) -> None:
    if not isinstance(note, str):
        raise InvalidReceipt("receipt lacks its checkpoint (a signed note)")
    checkpoint, _ = open_checkpoint(note, log_keys)
    if not checkpoint.origin.endswith(f"/funds/{fund_id}"):
        raise InvalidCheckpoint(
            f"checkpoint origin {checkpoint.origin!r} is not the log of fund {fund_id}"
        )
    if checkpoint.tree_size != tree_size or checkpoint.root_hash != root:
        raise InvalidCheckpoint(
            f"checkpoint (size {checkpoint.tree_size}) is not the head's tree (size {tree_size})"
        )


def check_consistency_against_saved_head(
    saved_head: Mapping[str, Any],
    new_head: Mapping[str, Any],
    proof: Mapping[str, Any],
    public_keys: Mapping[str, bytes],
) -> ConsistencyCheck:
    """Verify both heads' signatures and that ``new_head`` only appended to
    ``saved_head``. ``proof`` is the API answer ``{"first", "second", "proof": [hex]}``;
    its sizes must be the two heads' tree sizes.

    Raises `UnknownKey` / `InvalidSignature` (a head), `InvalidReceipt` (malformed
    proof object) or `InvalidProof` (different funds, sizes that do not match the
    heads, ``first = 0``, a shrinking tree, or a proof that does not verify).
    """
    saved = check_tree_head(saved_head, public_keys)
    new = check_tree_head(new_head, public_keys)
    answer = _object(proof, "consistency proof", _CONSISTENCY_FIELDS)
    if saved.fund_id != new.fund_id:
        raise InvalidProof(
            f"the heads belong to different funds ({saved.fund_id!r}, {new.fund_id!r})"
        )
    if not _is_int(answer["first"]) or answer["first"] != saved.tree_size:
        raise InvalidProof(
            f"proof.first ({answer['first']!r}) is not the saved head's tree_size "
            f"({saved.tree_size})"
        )
    if not _is_int(answer["second"]) or answer["second"] != new.tree_size:
        raise InvalidProof(
            f"proof.second ({answer['second']!r}) is not the new head's tree_size ({new.tree_size})"
        )
    path = hashes_from_hex(answer["proof"], "proof.proof")
    verify_consistency(
        saved.tree_size, new.tree_size, saved.root_hash_bytes, new.root_hash_bytes, path
    )
    return ConsistencyCheck(
        fund_id=new.fund_id,
        first_size=saved.tree_size,
        second_size=new.tree_size,
        first_root=saved.root_hash,
        second_root=new.root_hash,
    )
