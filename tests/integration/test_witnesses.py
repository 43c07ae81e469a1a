"""A witness (`clubfund witness serve`, a separate process on loopback) cosigns each new
checkpoint the service offers it in the background; after a superuser rewrites history
it refuses, and says why."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoints import witness_request_body
from ledger.signed_notes import (
    COSIGNATURE_TYPE,
    cosign_note_text,
    open_note,
    sign_note_text,
    verifier_key_for,
)
from ledger.tree_heads import public_key_raw
from service.app import create_app
from service.audit.signing import private_key_from_base64
from service.settings import Settings
from tests.api.factories import create_account, create_fund, entry_body
from tests.integration.test_audit_tampering import rewrite_history
from tests.test_readme_commands import free_port
from tests.unit.test_signed_notes import spec_open

LOG_NAME = "clubfund.test/log"
WITNESS_NAME = "finance.test/witness"
POLLS_MAX = 300


@contextlib.contextmanager
def loopback_process(arguments: list[str], port: int,
                     environment: dict[str, str] | None = None) -> Iterator[str]:
    """Run `python -m service.cli <arguments>` until it listens on `port`; yield its URL;
    stop it whatever happens (terminate, then kill)."""
    process = subprocess.Popen([sys.executable, "-m", "service.cli", *arguments],
                               env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    try:
        for _ in range(POLLS_MAX):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    output = process.stdout.read() if process.stdout else ""
                    raise RuntimeError(f"{arguments[0]} exited: {output}") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def witness(tmp_path: Path, audit_signing_key: str) -> Iterator[dict[str, Any]]:
    """A witness process trusting this session's log key; stopped whatever happens."""
    key = Ed25519PrivateKey.generate()
    key_file = tmp_path / "witness.key"
    key_file.write_text(base64.b64encode(key.private_bytes_raw()).decode() + "\n")
    log_key = verifier_key_for(LOG_NAME,
                               public_key_raw(private_key_from_base64(audit_signing_key)))
    port = free_port()
    with loopback_process(
        ["witness", "serve", "--key", str(key_file), "--state",
         str(tmp_path / "witness-state.json"), "--log-key", str(log_key),
         "--name", WITNESS_NAME, "--port", str(port)], port,
    ) as url:
        yield {
            "url": url,
            "vkey": verifier_key_for(WITNESS_NAME, public_key_raw(key), COSIGNATURE_TYPE),
            "log_vkey": log_key,
            "state": tmp_path / "witness-state.json",
        }


@pytest.fixture
async def witnessed(app_pool, audit_signing_key, witness, new_token) -> AsyncIterator[Any]:
    """The service, with its background task running, submitting to the witness."""
    app = create_app(Settings(
        database_url="postgresql://unused", audit_signing_key=audit_signing_key,
        log_origin=LOG_NAME, witnesses=f"{witness['vkey']} {witness['url']}",
        audit_sweep_seconds=0.5,
    ), pool=app_pool)
    token = await new_token("admin")
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://clubfund.test",
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            yield app, http


async def cosigned_checkpoint(http: httpx.AsyncClient, fund_id: str, size: int) -> str:
    """Poll the checkpoint until it carries a cosignature at `size` (the task runs apart)."""
    for _ in range(POLLS_MAX):
        note = (await http.get(f"/v1/funds/{fund_id}/audit/checkpoint")).text
        if f"\n{size}\n" in note and f"\u2014 {WITNESS_NAME} " in note:
            return note
        await asyncio.sleep(0.05)
    raise AssertionError(f"no cosigned checkpoint at size {size}: {note}")


async def witness_outcome(app: Any, label: str, size: int) -> Any:
    for _ in range(POLLS_MAX):
        outcome = app.state.witness_outcomes.get(label)
        if outcome is not None and outcome.tree_size == size:
            return outcome
        await asyncio.sleep(0.05)
    raise AssertionError(f"the witness was not offered size {size}")


async def test_a_witness_cosigns_new_checkpoints_and_refuses_a_rewritten_history(
    witnessed, witness, superuser_connection
):
    app, http = witnessed
    fund = await create_fund(http)
    cash = await create_account(http, fund["id"], "111", "asset")
    capital = await create_account(http, fund["id"], "4111", "equity")
    for amount in (100_000, 200_000, 300_000):
        response = await http.post(f"/v1/funds/{fund['id']}/entries",
                                   json=entry_body(cash["id"], capital["id"], amount))
        assert response.status_code == 201, response.text

    note = await cosigned_checkpoint(http, fund["id"], 6)
    # Both the log's signature and the witness's cosignature verify, by the spec's recipe.
    assert spec_open(note.encode(), str(witness["log_vkey"])) == spec_open(
        note.encode(), str(witness["vkey"]))
    opened = open_note(note, [witness["log_vkey"], witness["vkey"]])
    assert [line.name for line in opened.verified] == [LOG_NAME, WITNESS_NAME]
    state = json.loads(witness["state"].read_text())
    assert state[f"{LOG_NAME}/funds/{fund['id']}"]["size"] == 6

    # One more write: the witness checks the consistency proof from 6 and cosigns 7.
    response = await http.post(f"/v1/funds/{fund['id']}/entries",
                               json=entry_body(cash["id"], capital["id"], 7))
    assert response.status_code == 201
    await cosigned_checkpoint(http, fund["id"], 7)

    # A superuser rewrites record 4 and recomputes every hash; the log grows on.
    await rewrite_history(superuser_connection, fund["id"], 4, 1)
    response = await http.post(f"/v1/funds/{fund['id']}/entries",
                               json=entry_body(cash["id"], capital["id"], 8))
    assert response.status_code == 201
    label = f"{witness['vkey'].name}+{witness['vkey'].key_id.hex()}"
    outcome = await witness_outcome(app, label, 8)
    assert outcome.status == 422
    assert "consistency proof from size 7 to 8 does not verify" in outcome.detail
    # The witness still holds 7, and the checkpoint at 8 carries no cosignature.
    state = json.loads(witness["state"].read_text())
    assert state[f"{LOG_NAME}/funds/{fund['id']}"]["size"] == 7
    note = (await http.get(f"/v1/funds/{fund['id']}/audit/checkpoint")).text
    assert "\n8\n" in note and WITNESS_NAME not in note


async def test_the_witness_refuses_bad_input_naming_what_failed(witnessed, witness,
                                                                 owner_connection):
    _, http = witnessed
    fund = await create_fund(http)
    note = await cosigned_checkpoint(http, fund["id"], 1)
    text = note[: note.index("\n\n") + 1]
    log_line = note[len(text) + 1:].split("\n")[0] + "\n"
    signed = text + "\n" + log_line
    async with httpx.AsyncClient(base_url=witness["url"]) as client:
        async def submit(body: str) -> httpx.Response:
            return await client.post("/add-checkpoint", content=body.encode())

        forged = signed.replace("\n1\n", "\n2\n", 1)
        response = await submit(witness_request_body(1, (), forged))
        assert response.status_code == 403 and "does not verify" in response.text
        response = await submit(witness_request_body(1, (), text))
        assert response.status_code == 400 and "malformed checkpoint" in response.text
        other_log = signed.replace(LOG_NAME, "elsewhere.test/log", 1)
        response = await submit(witness_request_body(1, (), other_log))
        assert response.status_code == 404 and "unknown log origin" in response.text
        response = await submit("old 1\n" + signed)
        assert response.status_code == 400 and "line 2 is not base64" in response.text
        stranger = sign_note_text(Ed25519PrivateKey.generate(), LOG_NAME, text)
        response = await submit(witness_request_body(1, (), text + "\n" + stranger))
        assert response.status_code == 403 and "no signature by a known key" in response.text

        # A client behind the witness is told the witness's size.
        response = await submit(witness_request_body(0, (), signed))
        assert response.status_code == 409
        assert response.headers["content-type"].startswith("text/x.tlog.size")
        assert response.text == "1\n"
        assert "not the witness's latest" in response.headers["witness-reason"]
        # A consistency proof that does not match is refused (422), and named.
        await create_account(http, fund["id"], "111", "asset")
        for _ in range(POLLS_MAX):
            held = await submit(witness_request_body(0, (), signed))
            newer = (await http.get(f"/v1/funds/{fund['id']}/audit/checkpoint")).text
            newer = newer.split("\u2014 " + WITNESS_NAME)[0]
            response = await submit(witness_request_body(int(held.text), (bytes(32),), newer))
            if response.status_code != 409:  # the background task moved the witness on
                break
        assert response.status_code == 422
        assert "does not verify" in response.text or "must be empty" in response.text

    # A cosignature by a witness the service does not know is not served.
    stranger_key = Ed25519PrivateKey.generate()
    size = int(newer.split("\n")[1])
    stranger_line = cosign_note_text(stranger_key, "stranger.test/w",
                                     newer[: newer.index("\n\n") + 1], 1_780_000_000)
    await owner_connection.execute(
        "INSERT INTO audit_cosignatures VALUES ($1, $2, 'stranger.test/w+00000000', $3)",
        uuid.UUID(fund["id"]), size, stranger_line)
    served = (await http.get(f"/v1/funds/{fund['id']}/audit/checkpoint")).text
    assert "stranger.test/w" not in served
