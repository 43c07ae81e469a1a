"""Signed tree heads of the per-fund audit log (docs/design.md, "Audit log").

A head is the JSON object
``{"fund_id", "tree_size", "root_hash", "timestamp", "key_id", "signature"}``:

- ``root_hash``: 64 lowercase hex characters (the RFC 9162 MTH at ``tree_size``);
- ``timestamp``: RFC 3339 UTC with a capital ``T`` and ``Z``, optional fraction,
  e.g. ``2026-03-05T08:15:00Z`` (the caller supplies it; there is no clock here);
- ``key_id``: the first 16 lowercase hex characters of SHA-256(raw 32-byte public key);
- ``signature``: standard padded base64 of the 64-byte Ed25519 signature over
  ``JCS({"fund_id", "tree_size", "root_hash", "timestamp"})`` (RFC 8785).

Only those four fields are signed; ``key_id`` selects the key. Extra fields in a
head are ignored by the verifier and are therefore *not* authenticated.

Published keys: ``{"keys": [{"key_id", "algorithm": "ed25519",
"public_key": base64 of the 32 raw bytes}]}`` — see `audit_keys_document` and
`parse_audit_keys`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, Final

import rfc8785
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import LedgerError
from ledger.merkle import MAX_TREE_SIZE

__all__ = [
    "HEAD_FIELDS",
    "KEY_ALGORITHM",
    "SIGNED_FIELDS",
    "InvalidKeyDocument",
    "InvalidSignature",
    "InvalidTreeHead",
    "TreeHead",
    "UnknownKey",
    "audit_keys_document",
    "check_tree_head",
    "key_id_for",
    "parse_audit_keys",
    "parse_tree_head",
    "public_key_raw",
    "sign_tree_head",
    "tree_head_message",
    "verify_tree_head",
]

SIGNED_FIELDS: Final = ("fund_id", "tree_size", "root_hash", "timestamp")
HEAD_FIELDS: Final = (*SIGNED_FIELDS, "key_id", "signature")
KEY_ALGORITHM: Final = "ed25519"

_PUBLIC_KEY_SIZE: Final = 32
_SIGNATURE_SIZE: Final = 64
_HEX_HASH: Final = re.compile(r"[0-9a-f]{64}")
_KEY_ID: Final = re.compile(r"[0-9a-f]{16}")
_TIMESTAMP: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z"
)


class InvalidTreeHead(LedgerError):
    """Bad input when building or signing a tree head."""

    code = "invalid_tree_head"


class InvalidSignature(LedgerError):
    """A tree head whose signature does not verify, or whose fields are malformed."""

    code = "invalid_signature"


class UnknownKey(LedgerError):
    """A tree head signed under a key_id the verifier has no (matching) key for."""

    code = "unknown_key"


class InvalidKeyDocument(LedgerError):
    """A malformed ``/.well-known/clubfund/audit-keys`` document."""

    code = "invalid_key_document"


@dataclass(frozen=True, slots=True)
class TreeHead:
    """A well-formed tree head (fields checked, signature not necessarily)."""

    fund_id: str
    tree_size: int
    root_hash: str
    timestamp: str
    key_id: str
    signature: str

    @property
    def root_hash_bytes(self) -> bytes:
        return bytes.fromhex(self.root_hash)

    def as_dict(self) -> dict[str, str | int]:
        return {
            "fund_id": self.fund_id,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "timestamp": self.timestamp,
            "key_id": self.key_id,
            "signature": self.signature,
        }


# ------------------------------------------------------------------- fields


def _field_problem(fund_id: object, tree_size: object, root_hash: object, timestamp: object) -> str:
    """Why the signed fields are malformed, or "" when they are fine."""
    if not isinstance(fund_id, str) or not fund_id:
        return "fund_id must be a non-empty string"
    if isinstance(tree_size, bool) or not isinstance(tree_size, int):
        return "tree_size must be an integer"
    if not 0 <= tree_size <= MAX_TREE_SIZE:
        return f"tree_size must be in [0, {MAX_TREE_SIZE}]"
    if not isinstance(root_hash, str) or _HEX_HASH.fullmatch(root_hash) is None:
        return "root_hash must be 64 lowercase hex characters"
    if not isinstance(timestamp, str) or _TIMESTAMP.fullmatch(timestamp) is None:
        return "timestamp must be RFC 3339 UTC, e.g. 2026-03-05T08:15:00Z"
    try:
        datetime.fromisoformat(timestamp)
    except ValueError:
        return f"timestamp {timestamp!r} is not a valid date and time"
    try:
        rfc8785.dumps(fund_id)
    except rfc8785.CanonicalizationError:
        return "fund_id is not valid Unicode"
    return ""


def tree_head_message(fund_id: str, tree_size: int, root_hash_hex: str, timestamp: str) -> bytes:
    """The signed bytes: ``JCS({"fund_id", "tree_size", "root_hash", "timestamp"})``.

    Raises `InvalidTreeHead` for malformed fields.
    """
    problem = _field_problem(fund_id, tree_size, root_hash_hex, timestamp)
    if problem:
        raise InvalidTreeHead(problem)
    return rfc8785.dumps(
        {
            "fund_id": fund_id,
            "tree_size": tree_size,
            "root_hash": root_hash_hex,
            "timestamp": timestamp,
        }
    )


# --------------------------------------------------------------------- keys


def public_key_raw(private_key: Ed25519PrivateKey) -> bytes:
    """The 32 raw bytes of the public half of ``private_key``."""
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id_for(public_key_raw: bytes) -> str:
    """First 16 lowercase hex characters of SHA-256(raw 32-byte Ed25519 public key)."""
    if not isinstance(public_key_raw, bytes) or len(public_key_raw) != _PUBLIC_KEY_SIZE:
        raise InvalidTreeHead(f"a public key is {_PUBLIC_KEY_SIZE} raw bytes")
    return hashlib.sha256(public_key_raw).hexdigest()[:16]


def audit_keys_document(public_keys: Iterable[bytes]) -> dict[str, list[dict[str, str]]]:
    """``{"keys": [{"key_id", "algorithm": "ed25519", "public_key": base64}]}``."""
    return {
        "keys": [
            {
                "key_id": key_id_for(raw),
                "algorithm": KEY_ALGORITHM,
                "public_key": base64.b64encode(raw).decode("ascii"),
            }
            for raw in public_keys
        ]
    }


def _strict_b64decode(value: object, size: int) -> bytes | None:
    """Standard padded base64 of exactly ``size`` bytes, canonical form only."""
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != size or base64.b64encode(raw).decode("ascii") != value:
        return None
    return raw


def parse_audit_keys(document: Mapping[str, Any]) -> Mapping[str, bytes]:
    """The audit-keys document → read-only ``{key_id: raw public key}``.

    Every entry must be ``ed25519`` with a 32-byte key whose key_id is `key_id_for` it.
    """
    keys = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(keys, list):
        raise InvalidKeyDocument('the audit-keys document must be {"keys": [...]}')
    result: dict[str, bytes] = {}
    for position, entry in enumerate(keys):
        if not isinstance(entry, Mapping):
            raise InvalidKeyDocument(f"keys[{position}] must be an object")
        if entry.get("algorithm") != KEY_ALGORITHM:
            raise InvalidKeyDocument(f"keys[{position}].algorithm must be {KEY_ALGORITHM!r}")
        raw = _strict_b64decode(entry.get("public_key"), _PUBLIC_KEY_SIZE)
        if raw is None:
            raise InvalidKeyDocument(
                f"keys[{position}].public_key must be padded base64 of 32 raw bytes"
            )
        key_id = entry.get("key_id")
        if key_id != key_id_for(raw):
            raise InvalidKeyDocument(f"keys[{position}].key_id does not match its public key")
        assert isinstance(key_id, str)
        result[key_id] = raw
    return MappingProxyType(result)


# ------------------------------------------------------------ sign / verify


def sign_tree_head(
    private_key: Ed25519PrivateKey,
    key_id: str,
    fund_id: str,
    tree_size: int,
    root_hash_hex: str,
    timestamp: str,
) -> dict[str, str | int]:
    """A signed head: exactly ``{"fund_id", "tree_size", "root_hash", "timestamp",
    "key_id", "signature"}``. ``key_id`` must be `key_id_for` the key's public half."""
    if not isinstance(private_key, Ed25519PrivateKey):
        raise InvalidTreeHead("tree heads are signed with an Ed25519 private key")
    if key_id != key_id_for(public_key_raw(private_key)):
        raise InvalidTreeHead(f"key_id {key_id!r} is not the id of this signing key")
    message = tree_head_message(fund_id, tree_size, root_hash_hex, timestamp)
    signature = base64.b64encode(private_key.sign(message)).decode("ascii")
    return {
        "fund_id": fund_id,
        "tree_size": tree_size,
        "root_hash": root_hash_hex,
        "timestamp": timestamp,
        "key_id": key_id,
        "signature": signature,
    }


def parse_tree_head(head: Mapping[str, Any]) -> TreeHead:
    """Check a head's shape (not its signature). Malformed → `InvalidSignature`."""
    if not isinstance(head, Mapping):
        raise InvalidSignature("a tree head must be a JSON object")
    missing = [name for name in HEAD_FIELDS if name not in head]
    if missing:
        raise InvalidSignature(f"tree head lacks {', '.join(missing)}")
    problem = _field_problem(
        head["fund_id"], head["tree_size"], head["root_hash"], head["timestamp"]
    )
    if problem:
        raise InvalidSignature(f"malformed tree head: {problem}")
    key_id = head["key_id"]
    if not isinstance(key_id, str) or _KEY_ID.fullmatch(key_id) is None:
        raise InvalidSignature("malformed tree head: key_id must be 16 lowercase hex characters")
    signature = head["signature"]
    if _strict_b64decode(signature, _SIGNATURE_SIZE) is None:
        raise InvalidSignature("malformed tree head: signature must be padded base64 of 64 bytes")
    return TreeHead(
        fund_id=head["fund_id"],
        tree_size=head["tree_size"],
        root_hash=head["root_hash"],
        timestamp=head["timestamp"],
        key_id=key_id,
        signature=signature,
    )


def check_tree_head(head: Mapping[str, Any], public_keys: Mapping[str, bytes]) -> TreeHead:
    """Verify a head's signature and return it parsed.

    `UnknownKey` when ``key_id`` is not in ``public_keys`` (or its entry is not a
    32-byte key with that id); `InvalidSignature` for malformed fields or a bad
    signature.
    """
    parsed = parse_tree_head(head)
    raw = public_keys.get(parsed.key_id)
    if raw is None:
        raise UnknownKey(f"no public key with key_id {parsed.key_id!r}")
    if (
        not isinstance(raw, bytes)
        or len(raw) != _PUBLIC_KEY_SIZE
        or key_id_for(raw) != parsed.key_id
    ):
        raise UnknownKey(f"the key listed as {parsed.key_id!r} does not have that key_id")
    signature = _strict_b64decode(parsed.signature, _SIGNATURE_SIZE)
    assert signature is not None
    message = tree_head_message(
        parsed.fund_id, parsed.tree_size, parsed.root_hash, parsed.timestamp
    )
    try:
        Ed25519PublicKey.from_public_bytes(raw).verify(signature, message)
    except (_CryptoInvalidSignature, ValueError) as exc:
        raise InvalidSignature(
            f"tree head signature does not verify under key {parsed.key_id}"
        ) from exc
    return parsed


def verify_tree_head(head: Mapping[str, Any], public_keys: Mapping[str, bytes]) -> None:
    """Verify a signed tree head; raise `UnknownKey` or `InvalidSignature`."""
    check_tree_head(head, public_keys)
