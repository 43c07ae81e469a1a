"""`clubfund witness serve`: a C2SP tlog-witness that a finance department runs with its own key.

    POST /add-checkpoint      old <size>, consistency proof lines, blank line, checkpoint

The witness trusts the log keys it is given (`--log-key`, signed-note verifier keys
of clubfund's checkpoint key). A key named N covers every fund's log, origins
`N/funds/<fund_id>`; any other origin is 404. It answers, per tlog-witness:

- 403 when no trusted key's signature verifies (a forged or altered checkpoint);
- 400 on a malformed request or checkpoint (a truncated note), or an old size
  beyond the checkpoint's;
- 409 with `Content-Type: text/x.tlog.size` and its stored size when the client's
  old size is not the one it holds (the client is behind, or ahead), or when a
  checkpoint of the size it holds has another root (a fork);
- 422 when the consistency proof from its size does not verify (history rewritten);
- 200 with one `tlog-cosignature` line (Ed25519, type 0x04) after it stored the
  new size.

Every refusal carries its reason: in the body, or for 409 (whose body is only the
size) in the `Witness-Reason` header. The state file maps each origin to the size
and root the witness last cosigned; it is checked and replaced under one lock and
written atomically (a new file, fsync, rename), so two requests can never roll
it back.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import os
import re
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ledger.checkpoints import (
    InvalidCheckpoint,
    InvalidWitnessRequest,
    open_checkpoint,
    parse_witness_request,
    witness_verdict,
)
from ledger.errors import LedgerError
from ledger.signed_notes import (
    COSIGNATURE_TYPE,
    MalformedNote,
    VerifierKey,
    cosign_note_text,
    verifier_key_for,
)
from ledger.tree_heads import public_key_raw

REQUEST_BYTES_MAX = 64 * 1024
SIZE_MEDIA_TYPE = "text/x.tlog.size"
_FUND_ORIGIN = re.compile(r"/funds/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class WitnessState:
    """The latest cosigned (size, root) per origin, kept in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.lock = asyncio.Lock()
        self.origins: dict[str, dict[str, Any]] = {}
        if path.exists():
            self.origins = json.loads(path.read_text())

    def get(self, origin: str) -> tuple[int, bytes] | None:
        entry = self.origins.get(origin)
        if entry is None:
            return None
        return int(entry["size"]), base64.b64decode(entry["root"])

    def put(self, origin: str, size: int, root: bytes) -> None:
        """Replace the stored state atomically (a new file, fsync, rename)."""
        updated = {**self.origins,
                   origin: {"size": size, "root": base64.b64encode(root).decode("ascii")}}
        temporary = self.path.with_name(self.path.name + ".new")
        with temporary.open("w") as handle:
            json.dump(updated, handle, indent=1, sort_keys=True)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self.path)
        self.origins = updated


def load_witness_key(path: Path) -> Ed25519PrivateKey:
    """The witness's private key (base64 of 32 raw bytes), created owner-only if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            raw = Ed25519PrivateKey.generate().private_bytes_raw()
            handle.write(base64.b64encode(raw).decode("ascii") + "\n")
    try:
        raw = base64.b64decode(path.read_text().strip(), validate=True)
    except (binascii.Error, ValueError) as error:
        raise SystemExit(f"{path}: the witness key is not base64") from error
    if len(raw) != 32:
        raise SystemExit(f"{path}: the witness key must be 32 raw bytes")
    return Ed25519PrivateKey.from_private_bytes(raw)


def witness_verifier_key(name: str, key: Ed25519PrivateKey) -> VerifierKey:
    """The key logs configure for this witness (tlog-cosignature, type 0x04)."""
    return verifier_key_for(name, public_key_raw(key), COSIGNATURE_TYPE)


def _refuse(status: int, reason: str) -> Response:
    return PlainTextResponse(reason + "\n", status_code=status)


def create_witness_app(
    name: str, key: Ed25519PrivateKey, log_keys: list[VerifierKey], state: WitnessState,
) -> Starlette:
    """The witness's HTTP interface (POST /add-checkpoint)."""

    def keys_for(origin: str) -> list[VerifierKey]:
        return [k for k in log_keys if origin.startswith(k.name)
                and _FUND_ORIGIN.fullmatch(origin[len(k.name):])]

    async def add_checkpoint(request: Request) -> Response:
        body = await request.body()
        if len(body) > REQUEST_BYTES_MAX:
            return _refuse(400, f"the request is larger than {REQUEST_BYTES_MAX} bytes")
        try:
            submitted = parse_witness_request(body)
        except InvalidWitnessRequest as error:
            return _refuse(400, f"malformed request: {error.detail}")
        origin = submitted.note.split("\n", 1)[0]
        trusted = keys_for(origin)
        if not trusted:
            return _refuse(404, f"unknown log origin {origin[:200]!r}")
        try:
            checkpoint, opened = open_checkpoint(submitted.note, trusted)
        except (MalformedNote, InvalidCheckpoint) as error:
            return _refuse(400, f"malformed checkpoint: {error.detail}")
        except LedgerError as error:
            return _refuse(403, f"checkpoint signature refused: {error.detail}")
        async with state.lock:
            verdict = witness_verdict(state.get(origin), submitted, checkpoint)
            if verdict.status == 409:
                return Response(f"{verdict.stored_size}\n", status_code=409,
                                media_type=SIZE_MEDIA_TYPE,
                                headers={"Witness-Reason": verdict.reason})
            if verdict.status != 200:
                return _refuse(verdict.status, verdict.reason)
            state.put(origin, checkpoint.tree_size, checkpoint.root_hash)
        line = cosign_note_text(key, name, opened.text, int(time.time()))
        return PlainTextResponse(line)

    return Starlette(routes=[Route("/add-checkpoint", add_checkpoint, methods=["POST"])])
