"""Checkpoints (C2SP tlog-checkpoint) and the witness's rules (C2SP tlog-witness).

A checkpoint is a signed note (ledger/signed_notes.py) whose text is::

    <origin>\\n<tree size in decimal>\\n<base64 of the 32-byte root hash>\\n

clubfund's origin for a fund is ``<log name>/funds/<fund_id>``, where the log name
(``CLUBFUND_LOG_ORIGIN``) is also the name of the key that signs every fund's
checkpoints. The Merkle tree is RFC 6962's (= RFC 9162 §2.1, ledger/merkle.py).

A witness's ``add-checkpoint`` request body is ``old <size>\\n``, up to 63 lines of
base64 consistency-proof hashes, an empty line, then the signed checkpoint.
`witness_verdict` decides what the witness answers (cosign, 409 with its size,
422 on a proof that does not verify, 400 on a request that cannot be right) from
its stored state: a pure function, so the witness's I/O only stores and signs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from ledger.errors import LedgerError
from ledger.merkle import HASH_SIZE, MAX_TREE_SIZE, InvalidProof, verify_consistency
from ledger.signed_notes import OpenedNote, VerifierKey, open_note

__all__ = [
    "CONSISTENCY_LINES_MAX",
    "Checkpoint",
    "InvalidCheckpoint",
    "InvalidWitnessRequest",
    "UnknownSigner",
    "WitnessRequest",
    "WitnessVerdict",
    "checkpoint_text",
    "open_checkpoint",
    "parse_checkpoint_text",
    "parse_witness_request",
    "witness_request_body",
    "witness_verdict",
]

CONSISTENCY_LINES_MAX: Final = 63
_SIZE: Final = re.compile(r"0|[1-9][0-9]{0,15}")
_OLD_LINE: Final = re.compile(r"old (0|[1-9][0-9]{0,15})")


class InvalidCheckpoint(LedgerError):
    """A note whose text is not a checkpoint, or not the checkpoint expected."""

    code = "invalid_checkpoint"


class UnknownSigner(LedgerError):
    """A signature line by neither the log nor a witness the verifier knows."""

    code = "unknown_signer"


class InvalidWitnessRequest(LedgerError):
    """An add-checkpoint body that is not ``old N``, proof lines, a blank line, a note."""

    code = "invalid_witness_request"


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """The three lines every checkpoint starts with (extension lines are kept apart)."""

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        return checkpoint_text(self.origin, self.tree_size, self.root_hash, self.extensions)


def checkpoint_text(
    origin: str, tree_size: int, root_hash: bytes, extensions: Sequence[str] = ()
) -> str:
    """The checkpoint's note text: origin, size, base64 root, each ending in a newline."""
    if not isinstance(origin, str) or not origin or "\n" in origin:
        raise InvalidCheckpoint("a checkpoint's origin is one non-empty line")
    if isinstance(tree_size, bool) or not isinstance(tree_size, int):
        raise InvalidCheckpoint("a checkpoint's tree size is an integer")
    if not 0 <= tree_size <= MAX_TREE_SIZE:
        raise InvalidCheckpoint(f"a checkpoint's tree size is in [0, {MAX_TREE_SIZE}]")
    if not isinstance(root_hash, bytes) or len(root_hash) != HASH_SIZE:
        raise InvalidCheckpoint(f"a checkpoint's root hash is {HASH_SIZE} bytes")
    for line in extensions:
        if not line or "\n" in line:
            raise InvalidCheckpoint("a checkpoint's extension lines are non-empty single lines")
    root = base64.b64encode(root_hash).decode("ascii")
    return "".join(f"{line}\n" for line in (origin, str(tree_size), root, *extensions))


def parse_checkpoint_text(text: str) -> Checkpoint:
    """A note text → `Checkpoint`; each wrong line is named."""
    if not text.endswith("\n"):
        raise InvalidCheckpoint("checkpoint text does not end in a newline (truncated?)")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise InvalidCheckpoint(
            f"a checkpoint has at least 3 lines (origin, size, root hash), this one {len(lines)}"
        )
    origin, size_line, root_line, *extensions = lines
    if not origin:
        raise InvalidCheckpoint("the checkpoint's origin line is empty")
    if _SIZE.fullmatch(size_line) is None or int(size_line) > MAX_TREE_SIZE:
        raise InvalidCheckpoint(
            f"the checkpoint's size line {size_line[:30]!r} is not a decimal tree size"
        )
    try:
        root = base64.b64decode(root_line, validate=True)
    except (binascii.Error, ValueError):
        root = b""
    if len(root) != HASH_SIZE or base64.b64encode(root).decode("ascii") != root_line:
        raise InvalidCheckpoint(
            f"the checkpoint's root hash line {root_line[:50]!r} is not base64 of 32 bytes"
        )
    if any(not line for line in extensions):
        raise InvalidCheckpoint("the checkpoint has an empty extension line")
    return Checkpoint(origin, int(size_line), root, tuple(extensions))


def open_checkpoint(
    note: bytes | str, log_keys: Iterable[VerifierKey]
) -> tuple[Checkpoint, OpenedNote]:
    """Verify a signed checkpoint with the log's keys, then parse its text.

    Raises the note errors of `open_note` (malformed, forged, signed by no known key)
    or `InvalidCheckpoint`.
    """
    opened = open_note(note, log_keys)
    return parse_checkpoint_text(opened.text), opened


# ------------------------------------------------------------------ witness


@dataclass(frozen=True, slots=True)
class WitnessRequest:
    old_size: int
    proof: tuple[bytes, ...]
    note: str


def witness_request_body(old_size: int, proof: Sequence[bytes], note: str) -> str:
    """The body of ``POST <witness>/add-checkpoint``."""
    if isinstance(old_size, bool) or not isinstance(old_size, int) or old_size < 0:
        raise InvalidWitnessRequest("old size is a non-negative integer")
    if len(proof) > CONSISTENCY_LINES_MAX:
        raise InvalidWitnessRequest(f"at most {CONSISTENCY_LINES_MAX} consistency proof lines")
    lines = [f"old {old_size}\n"]
    lines += [base64.b64encode(node).decode("ascii") + "\n" for node in proof]
    return "".join(lines) + "\n" + note


def parse_witness_request(body: bytes) -> WitnessRequest:
    """An add-checkpoint body → `WitnessRequest` (the note itself is not checked here)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidWitnessRequest("the request body is not UTF-8") from exc
    head, blank, note = text.partition("\n\n")
    if not blank:
        raise InvalidWitnessRequest("no empty line between the proof and the checkpoint")
    lines = head.split("\n")
    match = _OLD_LINE.fullmatch(lines[0])
    if match is None:
        raise InvalidWitnessRequest(f"first line {lines[0][:30]!r} is not 'old <size>'")
    if len(lines) - 1 > CONSISTENCY_LINES_MAX:
        raise InvalidWitnessRequest(f"more than {CONSISTENCY_LINES_MAX} consistency proof lines")
    proof = []
    for number, line in enumerate(lines[1:], start=2):
        try:
            node = base64.b64decode(line, validate=True)
        except (binascii.Error, ValueError):
            node = b""
        if len(node) != HASH_SIZE:
            raise InvalidWitnessRequest(f"line {number} is not base64 of a 32-byte hash")
        proof.append(node)
    return WitnessRequest(int(match.group(1)), tuple(proof), note)


@dataclass(frozen=True, slots=True)
class WitnessVerdict:
    """What a witness answers: ``status`` 200 (cosign and store ``checkpoint``), 400,
    409 (``stored_size`` is what it holds) or 422; ``reason`` names what failed."""

    status: int
    reason: str
    stored_size: int


def witness_verdict(
    stored: tuple[int, bytes] | None, request: WitnessRequest, checkpoint: Checkpoint
) -> WitnessVerdict:
    """The tlog-witness rules for a checkpoint already verified with the log's key.

    ``stored`` is the witness's latest cosigned (size, root) for the origin, or None.
    """
    stored_size, stored_root = stored if stored is not None else (0, b"")
    size = checkpoint.tree_size
    if request.old_size > size:
        return WitnessVerdict(400, f"old size {request.old_size} is beyond the checkpoint's "
                                   f"size {size}", stored_size)
    if request.old_size != stored_size:
        return WitnessVerdict(409, f"old size {request.old_size} is not the witness's latest "
                                   f"size {stored_size}", stored_size)
    if stored is None or stored_size == 0:
        if request.proof:
            return WitnessVerdict(422, "a proof from size 0 must be empty", stored_size)
        return WitnessVerdict(200, "first checkpoint of this log", stored_size)
    if size == stored_size:
        if checkpoint.root_hash != stored_root:
            return WitnessVerdict(409, f"the checkpoint has another root for size {size} than "
                                       "the one the witness cosigned: the log forked",
                                  stored_size)
        if request.proof:
            return WitnessVerdict(422, "a proof between equal sizes must be empty", stored_size)
        return WitnessVerdict(200, "same checkpoint again", stored_size)
    try:
        verify_consistency(stored_size, size, stored_root, checkpoint.root_hash, request.proof)
    except InvalidProof as exc:
        return WitnessVerdict(422, f"consistency proof from size {stored_size} to {size} does "
                                   f"not verify: {exc.detail}", stored_size)
    return WitnessVerdict(200, f"consistent with size {stored_size}", stored_size)
