"""Signed notes, verifier keys and witness cosignatures: the C2SP formats, byte for byte.

- **signed-note**: a text ending in a newline, a blank line, then one line per
  signature, ``— <key name> <base64(4-byte key id ‖ signature)>``. The note is
  valid UTF-8 with no control character but newline; the text is everything up to
  and including the newline before the *last* blank line.
- **key id** = ``SHA-256(key name ‖ 0x0A ‖ type ‖ public key)[:4]``; type ``0x01``
  is a plain Ed25519 signature over the note text, type ``0x04`` a timestamped
  Ed25519 witness cosignature (``tlog-cosignature``).
- **verifier key** string: ``<name>+<8 hex key id>+<base64(type ‖ public key)>``
  (as golang.org/x/mod/sumdb/note writes them).
- **cosignature** (type 0x04): the signature bytes are ``u64 timestamp (big-endian)
  ‖ Ed25519 signature`` over ``"cosignature/v1\\n" "time <timestamp>\\n" ‖ note text``.

`open_note` follows the C2SP rules: signatures from unknown keys are ignored, a
signature from a known key that does not verify rejects the whole note, and a note
with no verified signature is rejected. Pure functions: no clock (cosigning takes
the timestamp as an argument), no I/O.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.errors import LedgerError

__all__ = [
    "COSIGNATURE_TYPE",
    "ED25519_TYPE",
    "NOTE_SIGNATURES_MAX",
    "SIGNATURE_PREFIX",
    "InvalidNoteSignature",
    "InvalidVerifierKey",
    "MalformedNote",
    "OpenedNote",
    "SignatureLine",
    "UnverifiedNote",
    "VerifierKey",
    "cosign_note_text",
    "cosignature_message",
    "is_valid_key_name",
    "lines_of",
    "note_key_id",
    "open_note",
    "parse_signature_line",
    "parse_verifier_key",
    "sign_note_text",
    "signature_line",
    "split_note",
    "verifier_key_for",
]

ED25519_TYPE: Final = 0x01
COSIGNATURE_TYPE: Final = 0x04
SIGNATURE_PREFIX: Final = "— "
# The spec asks verifiers to accept at least 16; Go's implementation stops at 100.
NOTE_SIGNATURES_MAX: Final = 100
NOTE_BYTES_MAX: Final = 1 << 20
COSIGNATURE_HEADER: Final = "cosignature/v1\n"
TIMESTAMP_MAX: Final = 2**63 - 1

_KEY_ID_SIZE: Final = 4
_PUBLIC_KEY_SIZE: Final = 32
_ED25519_SIGNATURE_SIZE: Final = 64
_TIMESTAMP_SIZE: Final = 8
_TYPES: Final = (ED25519_TYPE, COSIGNATURE_TYPE)


class MalformedNote(LedgerError):
    """Bytes that are not a signed note (or not a well-formed signature line)."""

    code = "malformed_note"


class InvalidNoteSignature(LedgerError):
    """A signature by a known key that does not verify: the note was altered or forged."""

    code = "invalid_note_signature"


class UnverifiedNote(LedgerError):
    """A well-formed note that no known key signed."""

    code = "unverified_note"


class InvalidVerifierKey(LedgerError):
    """A verifier key string that is malformed, of an unknown type, or whose key id
    is not derived from its name and key."""

    code = "invalid_verifier_key"


def is_valid_key_name(name: object) -> bool:
    """Non-empty, no Unicode space, no ``+`` (signed-note "Format")."""
    return (
        isinstance(name, str)
        and name != ""
        and "+" not in name
        and not any(ch.isspace() or unicodedata.category(ch) == "Zs" for ch in name)
        and _is_note_text(name)
    )


def _is_note_text(text: str) -> bool:
    """UTF-8 encodable (no lone surrogate) with no control character but newline."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return not any(ord(ch) < 0x20 and ch != "\n" for ch in text)


def note_key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    """``SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]``."""
    if not is_valid_key_name(name):
        raise InvalidVerifierKey(f"key name {name!r} is empty or holds a space or '+'")
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key
    ).digest()[:_KEY_ID_SIZE]


@dataclass(frozen=True, slots=True)
class VerifierKey:
    """A public key a verifier trusts: its name, type (0x01 or 0x04) and 32 raw bytes."""

    name: str
    key_type: int
    public_key: bytes

    @property
    def key_id(self) -> bytes:
        return note_key_id(self.name, self.key_type, self.public_key)

    def __str__(self) -> str:
        encoded = base64.b64encode(bytes([self.key_type]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verifies(self, text: str, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key id) signs the note ``text``."""
        if self.key_type == COSIGNATURE_TYPE:
            if len(signature) != _TIMESTAMP_SIZE + _ED25519_SIGNATURE_SIZE:
                return False
            timestamp = int.from_bytes(signature[:_TIMESTAMP_SIZE], "big")
            if timestamp > TIMESTAMP_MAX:
                return False
            message = cosignature_message(text, timestamp)
            signature = signature[_TIMESTAMP_SIZE:]
        else:
            if len(signature) != _ED25519_SIGNATURE_SIZE:
                return False
            message = text.encode("utf-8")
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except _CryptoInvalidSignature:
            return False
        return True


def verifier_key_for(name: str, public_key: bytes, key_type: int = ED25519_TYPE) -> VerifierKey:
    """The verifier key of an Ed25519 public key (32 raw bytes) under ``name``."""
    if key_type not in _TYPES:
        raise InvalidVerifierKey(f"signature type {key_type:#04x} is not Ed25519 (0x01, 0x04)")
    if not isinstance(public_key, bytes) or len(public_key) != _PUBLIC_KEY_SIZE:
        raise InvalidVerifierKey(f"an Ed25519 public key is {_PUBLIC_KEY_SIZE} raw bytes")
    note_key_id(name, key_type, public_key)  # checks the name
    return VerifierKey(name=name, key_type=key_type, public_key=public_key)


def _strict_b64decode(value: str) -> bytes | None:
    """Standard padded base64 in its one canonical spelling, or None."""
    if not value or not value.isascii():
        return None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(raw).decode("ascii") != value:
        return None
    return raw


def parse_verifier_key(text: str) -> VerifierKey:
    """``<name>+<8 hex key id>+<base64(type ‖ key)>`` → `VerifierKey`; the key id must
    be the one derived from the name and key, the type 0x01 or 0x04."""
    if not isinstance(text, str):
        raise InvalidVerifierKey("a verifier key is a string")
    parts = text.split("+", 2)
    if len(parts) != 3:
        raise InvalidVerifierKey(f"verifier key {text!r} is not <name>+<key id>+<key>")
    name, hex_id, encoded = parts
    if not is_valid_key_name(name):
        raise InvalidVerifierKey(f"verifier key name {name!r} is empty or holds a space or '+'")
    if len(hex_id) != 2 * _KEY_ID_SIZE or any(c not in "0123456789abcdefABCDEF" for c in hex_id):
        raise InvalidVerifierKey(f"verifier key id {hex_id!r} is not 8 hex digits")
    raw = _strict_b64decode(encoded)
    if raw is None or len(raw) != 1 + _PUBLIC_KEY_SIZE:
        raise InvalidVerifierKey(
            "verifier key material is not base64 of a type byte and 32 key bytes"
        )
    key = verifier_key_for(name, raw[1:], raw[0])
    if key.key_id != bytes.fromhex(hex_id):
        raise InvalidVerifierKey(
            f"verifier key id {hex_id} is not SHA-256(name ‖ 0x0A ‖ type ‖ key)[:4] "
            f"({key.key_id.hex()})"
        )
    return key


@dataclass(frozen=True, slots=True)
class SignatureLine:
    """One parsed signature line: key name, key id and the signature bytes after it."""

    name: str
    key_id: bytes
    signature: bytes

    def __str__(self) -> str:
        return signature_line(self.name, self.key_id, self.signature)

    def cosignature_timestamp(self) -> int:
        """The timestamp of a type 0x04 cosignature (its first 8 bytes, big-endian)."""
        return int.from_bytes(self.signature[:_TIMESTAMP_SIZE], "big")


def signature_line(name: str, key_id: bytes, signature: bytes) -> str:
    """``— <name> <base64(key id ‖ signature)>`` followed by a newline."""
    encoded = base64.b64encode(key_id + signature).decode("ascii")
    return f"{SIGNATURE_PREFIX}{name} {encoded}\n"


def parse_signature_line(line: str) -> SignatureLine:
    """One signature line, with or without its final newline."""
    body = line[:-1] if line.endswith("\n") else line
    if "\n" in body:
        raise MalformedNote("a signature line holds a newline")
    if not body.startswith(SIGNATURE_PREFIX):
        raise MalformedNote(f"signature line {body[:40]!r} does not start with '— '")
    name, space, encoded = body[len(SIGNATURE_PREFIX):].partition(" ")
    if not space or not is_valid_key_name(name):
        raise MalformedNote(f"signature line {body[:40]!r} has no valid key name")
    raw = _strict_b64decode(encoded)
    if raw is None or len(raw) <= _KEY_ID_SIZE:
        raise MalformedNote(f"the signature of {name!r} is not base64 of a key id and signature")
    return SignatureLine(name=name, key_id=raw[:_KEY_ID_SIZE], signature=raw[_KEY_ID_SIZE:])


def split_note(note: bytes | str) -> tuple[str, tuple[SignatureLine, ...]]:
    """A signed note → (its text, its signature lines), checking the format only."""
    if isinstance(note, bytes):
        if len(note) > NOTE_BYTES_MAX:
            raise MalformedNote(f"a note is at most {NOTE_BYTES_MAX} bytes")
        try:
            note = note.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNote("the note is not valid UTF-8") from exc
    if not _is_note_text(note):
        raise MalformedNote("the note holds a control character other than newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise MalformedNote("the note has no blank line before its signatures (truncated?)")
    text, signatures = note[: split + 1], note[split + 2 :]
    if not signatures or not signatures.endswith("\n"):
        raise MalformedNote("the note's signature block is empty or does not end in a newline")
    lines = signatures[:-1].split("\n")
    if len(lines) > NOTE_SIGNATURES_MAX:
        raise MalformedNote(f"the note has more than {NOTE_SIGNATURES_MAX} signatures")
    return text, tuple(parse_signature_line(line) for line in lines)


@dataclass(frozen=True, slots=True)
class OpenedNote:
    """A note whose text at least one known key signed."""

    text: str
    verified: tuple[SignatureLine, ...]
    unverified: tuple[SignatureLine, ...]


def open_note(note: bytes | str, known: Iterable[VerifierKey]) -> OpenedNote:
    """Parse a signed note and verify it against the ``known`` keys (C2SP signed-note).

    Signatures of unknown (name, key id) pairs are kept as unverified. A known key's
    signature that fails raises `InvalidNoteSignature`; no verified signature at all
    raises `UnverifiedNote`; a malformed note `MalformedNote`.
    """
    text, lines = split_note(note)
    keys: dict[tuple[str, bytes], VerifierKey] = {}
    for known_key in known:
        keys[(known_key.name, known_key.key_id)] = known_key
    verified: list[SignatureLine] = []
    unverified: list[SignatureLine] = []
    seen: set[tuple[str, bytes]] = set()
    for line in lines:
        key = keys.get((line.name, line.key_id))
        if key is None:
            if line not in unverified:
                unverified.append(line)
            continue
        if (line.name, line.key_id) in seen:
            continue
        seen.add((line.name, line.key_id))
        if not key.verifies(text, line.signature):
            raise InvalidNoteSignature(
                f"the signature of {line.name}+{line.key_id.hex()} does not verify: "
                "the note was altered or forged"
            )
        verified.append(line)
    if not verified:
        names = ", ".join(sorted({f"{line.name}+{line.key_id.hex()}" for line in lines}))
        raise UnverifiedNote(f"no signature by a known key (signed by: {names})")
    return OpenedNote(text=text, verified=tuple(verified), unverified=tuple(unverified))


def _check_text(text: str) -> bytes:
    if not isinstance(text, str) or not text.endswith("\n"):
        raise MalformedNote("a note's text ends in a newline")
    if not _is_note_text(text):
        raise MalformedNote("a note's text holds a control character other than newline")
    return text.encode("utf-8")


def _public_key_raw(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_note_text(private_key: Ed25519PrivateKey, name: str, text: str) -> str:
    """The type 0x01 signature line of ``name`` over ``text`` (Ed25519 over the text)."""
    message = _check_text(text)
    key_id = note_key_id(name, ED25519_TYPE, _public_key_raw(private_key))
    return signature_line(name, key_id, private_key.sign(message))


def cosignature_message(text: str, timestamp: int) -> bytes:
    """``cosignature/v1\\n time <timestamp>\\n`` followed by the checkpoint's note text."""
    if isinstance(timestamp, bool) or not isinstance(timestamp, int):
        raise MalformedNote("a cosignature timestamp is an integer")
    if not 0 <= timestamp <= TIMESTAMP_MAX:
        raise MalformedNote(f"a cosignature timestamp is in [0, {TIMESTAMP_MAX}]")
    return (COSIGNATURE_HEADER + f"time {timestamp}\n").encode("ascii") + _check_text(text)


def cosign_note_text(
    private_key: Ed25519PrivateKey, name: str, text: str, timestamp: int
) -> str:
    """The type 0x04 (tlog-cosignature v1) signature line of witness ``name`` at
    POSIX time ``timestamp`` over the checkpoint ``text``."""
    message = cosignature_message(text, timestamp)
    key_id = note_key_id(name, COSIGNATURE_TYPE, _public_key_raw(private_key))
    signature = timestamp.to_bytes(_TIMESTAMP_SIZE, "big") + private_key.sign(message)
    return signature_line(name, key_id, signature)


def lines_of(signatures: Sequence[SignatureLine]) -> str:
    """Signature lines joined as they appear in a note."""
    return "".join(str(line) for line in signatures)
