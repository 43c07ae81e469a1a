"""Submitting each fund's new checkpoints to witnesses (C2SP tlog-witness), in the background.

`CLUBFUND_WITNESSES` lists the witnesses, comma separated, each as
`<verifier key> <url>`: the witness's tlog-cosignature key (type 0x04) and the
prefix its `add-checkpoint` lives under. The background task
(`service.audit.background`) calls `submit_new_checkpoints` after writes commit
and every few seconds; nothing here runs on a write's path.

For each witness and each log with a signed head newer than the last size that
witness cosigned, it sends `old <size>`, the consistency proof from that size and
the signed checkpoint; a 409 tells it the witness's size, and it retries once from
there. A cosignature is kept only after it verifies with the witness's key. A
refusal (403, 404, 409 on a fork, 422 on a bad proof) is logged and kept in
`WitnessOutcome` for /metrics and the tests: it is the alarm that the log no longer
extends what the witness saw.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

import asyncpg
import httpx

from ledger.checkpoints import checkpoint_text, witness_request_body
from ledger.errors import LedgerError
from ledger.merkle import consistency_proof, consistency_proof_nodes
from ledger.signed_notes import (
    COSIGNATURE_TYPE,
    VerifierKey,
    open_note,
    parse_verifier_key,
    sign_note_text,
)
from service.audit import repository
from service.audit.signing import AuditSigner

log = logging.getLogger("clubfund.witness")

WITNESS_TIMEOUT_SECONDS = 10.0
WITNESS_RESPONSE_BYTES_MAX = 64 * 1024
SIZE_MEDIA_TYPE = "text/x.tlog.size"


@dataclass(frozen=True)
class Witness:
    key: VerifierKey
    url: str

    @property
    def label(self) -> str:
        """How the witness is stored and named: `<name>+<hex key id>`."""
        return f"{self.key.name}+{self.key.key_id.hex()}"


@dataclass
class WitnessOutcome:
    fund_id: uuid.UUID
    tree_size: int
    status: int
    detail: str


def parse_witnesses(text: str) -> list[Witness]:
    """`CLUBFUND_WITNESSES` → witnesses; a malformed entry stops start-up with its reason."""
    witnesses = []
    for position, entry in enumerate(item.strip() for item in text.split(",")):
        if not entry:
            continue
        parts = entry.split()
        if len(parts) != 2:
            raise ValueError(f"CLUBFUND_WITNESSES entry {position + 1} is not '<key> <url>'")
        key = parse_verifier_key(parts[0])
        if key.key_type != COSIGNATURE_TYPE:
            raise ValueError(f"CLUBFUND_WITNESSES entry {position + 1}: {key.name} is not a "
                             "tlog-cosignature key (type 0x04)")
        if not parts[1].startswith(("http://", "https://")):
            raise ValueError(f"CLUBFUND_WITNESSES entry {position + 1}: the url must be http(s)")
        witnesses.append(Witness(key=key, url=parts[1].rstrip("/")))
    return witnesses


def signed_checkpoint(signer: AuditSigner, fund_id: uuid.UUID, tree_size: int,
                      root_hash_hex: str) -> str:
    """The log's checkpoint for a fund at a size, as a signed note (deterministic)."""
    text = checkpoint_text(signer.origin(fund_id), tree_size, bytes.fromhex(root_hash_hex))
    return text + "\n" + sign_note_text(signer.private_key, signer.log_name, text)


def verified_cosignatures(note: str, lines: list[str], witnesses: list[Witness]) -> list[str]:
    """The cosignature lines that verify on `note` with a configured witness's key."""
    keys = [witness.key for witness in witnesses]
    text = note[: note.rindex("\n\n") + 1]
    good = []
    for line in lines:
        try:
            open_note(text + "\n" + line, keys)
        except LedgerError:  # a line that does not verify is not served
            continue
        good.append(line)
    return good


async def submit_new_checkpoints(
    connection: asyncpg.Connection, signer: AuditSigner, witnesses: list[Witness],
    client: httpx.AsyncClient, outcomes: dict[str, WitnessOutcome],
) -> int:
    """Offer every log's latest kept head to every witness that has not cosigned it.

    `connection` sees every fund. Returns how many cosignatures were kept.
    """
    kept = 0
    for witness in witnesses:
        for row in await repository.heads_to_witness(connection, signer.key_id, witness.label):
            fund_id, size = row["fund_id"], int(row["tree_size"])
            note = signed_checkpoint(signer, fund_id, size, row["root_hash"])
            old = int(row["witnessed_size"] or 0)
            outcome = await _submit(connection, witness, client, fund_id, old, size, note)
            if outcome.status == 409 and outcome.detail.isdigit():
                old = int(outcome.detail)
                outcome = await _submit(connection, witness, client, fund_id, old, size, note)
            outcomes[witness.label] = outcome
            if outcome.status != 200:
                log.warning("witness %s refused fund %s at size %d: %s %s", witness.label,
                            fund_id, size, outcome.status, outcome.detail)
                continue
            lines = verified_cosignatures(note, _signature_lines(outcome.detail), [witness])
            if not lines:
                outcomes[witness.label] = WitnessOutcome(
                    fund_id, size, 502, "the witness answered no cosignature that verifies "
                                        "with its key")
                continue
            await repository.insert_cosignature(connection, fund_id, size, witness.label,
                                                lines[0])
            kept += 1
    return kept


def _signature_lines(body: str) -> list[str]:
    return [line + "\n" for line in body.split("\n") if line]


async def _submit(
    connection: asyncpg.Connection, witness: Witness, client: httpx.AsyncClient,
    fund_id: uuid.UUID, old: int, size: int, note: str,
) -> WitnessOutcome:
    proof: tuple[bytes, ...] = ()
    if 0 < old < size:
        nodes = await repository.get_nodes(connection, fund_id, consistency_proof_nodes(old, size))
        proof = consistency_proof(old, size, nodes)
    if old > size:
        return WitnessOutcome(fund_id, size, 409, f"the witness holds size {old}, beyond the "
                                                  f"log's {size}: records were removed")
    body = witness_request_body(old, proof, note)
    try:
        response = await client.post(f"{witness.url}/add-checkpoint", content=body.encode(),
                                     timeout=WITNESS_TIMEOUT_SECONDS)
    except httpx.HTTPError as error:
        return WitnessOutcome(fund_id, size, 503, f"witness unreachable: {error}")
    text = response.content[:WITNESS_RESPONSE_BYTES_MAX].decode("utf-8", "replace")
    if response.status_code == 409 and response.headers.get("content-type", "").startswith(
            SIZE_MEDIA_TYPE):
        return WitnessOutcome(fund_id, size, 409, text.strip())
    return WitnessOutcome(fund_id, size, response.status_code, text.strip() if
                          response.status_code != 200 else text)
