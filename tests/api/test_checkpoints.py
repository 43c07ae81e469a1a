"""Checkpoints in the C2SP formats, verifier keys, receipts over the API, and reads that
write nothing. Checked with the verifier written from the C2SP documents
(tests/unit/test_signed_notes.py), not with clubfund's own note code."""

from __future__ import annotations

import base64
import copy
import json
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.checkpoints import InvalidCheckpoint
from ledger.receipts import InvalidReceipt, check_receipt
from ledger.signed_notes import (
    InvalidNoteSignature,
    MalformedNote,
    cosign_note_text,
    parse_verifier_key,
)
from service.audit.service import record_write
from service.auth.repository import grant_all_funds
from service.cli import main
from service.context import RequestContext
from tests.api.factories import (
    accounts_by_code,
    entry_body,
    post_club,
    post_commune,
)
from tests.api.test_audit_receipts import published_keys
from tests.integration.test_audit_tampering import build_fund as posted_fund
from tests.integration.test_audit_tampering import rewrite_history
from tests.unit.test_signed_notes import spec_checkpoint, spec_open

ORIGIN = "clubfund.localhost/log"


async def log_vkey(http) -> str:
    (key,) = (await http.get("/.well-known/clubfund/audit-keys")).json()["keys"]
    return str(key["verifier_key"])


async def test_the_checkpoint_is_a_signed_note_any_c2sp_verifier_accepts(anonymous, client):
    fund = await posted_fund(client, entries=4)
    url = f"/v1/funds/{fund['id']}/audit"
    assert (await anonymous.get(f"{url}/checkpoint")).status_code == 401
    vkey = await log_vkey(anonymous)
    assert vkey.startswith(ORIGIN + "+")
    response = await client.get(f"{url}/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    text = spec_open(response.content, vkey)
    head = (await client.get(f"{url}/head")).json()
    assert spec_checkpoint(text) == (f"{ORIGIN}/funds/{fund['id']}", head["tree_size"],
                                     bytes.fromhex(head["root_hash"]))
    assert head["tree_size"] == 7  # fund, two accounts, four entries
    # Asking again gives the same bytes (Ed25519 is deterministic): nothing is kept per read.
    assert (await client.get(f"{url}/checkpoint")).content == response.content


async def test_the_verifier_key_is_the_published_public_key(anonymous):
    (key,) = (await anonymous.get("/.well-known/clubfund/audit-keys")).json()["keys"]
    parsed = parse_verifier_key(key["verifier_key"])
    assert parsed.name == ORIGIN and parsed.key_type == 0x01
    assert base64.b64encode(parsed.public_key).decode() == key["public_key"]


async def test_receipts_verify_for_every_entry_of_a_fund(anonymous, client):
    fund = await posted_fund(client, entries=6)
    keys = await published_keys(anonymous)
    vkeys = [parse_verifier_key(await log_vkey(anonymous))]
    assert (await anonymous.get(f"/v1/entries/{fund['entries'][0]['id']}/receipt")
            ).status_code == 401
    for entry in fund["entries"]:
        response = await client.get(f"/v1/entries/{entry['id']}/receipt")
        assert response.status_code == 200, response.text
        receipt = response.json()
        checked = check_receipt(receipt, keys, vkeys)
        assert checked.sequence == entry["audit"]["sequence"]
        assert receipt["record"]["data"]["id"] == entry["id"]
        assert spec_open(receipt["checkpoint"].encode(), str(vkeys[0]))
    missing = await client.get(f"/v1/entries/{uuid.uuid4()}/receipt")
    assert missing.status_code == 404


async def test_altered_receipts_and_checkpoints_are_refused_naming_what_failed(anonymous, client):
    fund = await posted_fund(client, entries=2)
    keys = await published_keys(anonymous)
    vkeys = [parse_verifier_key(await log_vkey(anonymous))]
    receipt = (await client.get(f"/v1/entries/{fund['entries'][1]['id']}/receipt")).json()
    check_receipt(receipt, keys, vkeys)

    altered = copy.deepcopy(receipt)
    altered["record"]["data"]["postings"][0]["amount"] += 1
    with pytest.raises(InvalidReceipt, match="record was altered"):
        check_receipt(altered, keys, vkeys)

    forged = copy.deepcopy(receipt)
    size = str(receipt["head"]["tree_size"])
    forged["checkpoint"] = receipt["checkpoint"].replace(f"\n{size}\n", f"\n{size}0\n", 1)
    with pytest.raises(InvalidNoteSignature, match="does not verify"):
        check_receipt(forged, keys, vkeys)

    truncated = copy.deepcopy(receipt)
    truncated["checkpoint"] = receipt["checkpoint"][: receipt["checkpoint"].index("\n\n")]
    with pytest.raises(MalformedNote, match="truncated"):
        check_receipt(truncated, keys, vkeys)

    other = await posted_fund(client, entries=1)
    swapped = copy.deepcopy(receipt)
    swapped["checkpoint"] = (await client.get(f"/v1/funds/{other['id']}/audit/checkpoint")).text
    with pytest.raises(InvalidCheckpoint, match="not the log of fund"):
        check_receipt(swapped, keys, vkeys)


async def audit_rows(connection: asyncpg.Connection) -> tuple[int, ...]:
    row = await connection.fetchrow(
        "SELECT (SELECT count(*) FROM audit_heads), (SELECT count(*) FROM audit_records),"
        " (SELECT count(*) FROM audit_cosignatures), (SELECT count(*) FROM audit_nodes)"
    )
    assert row is not None
    return tuple(row)


async def test_an_auditors_reads_write_nothing(client, client_for, new_token, owner_connection):
    commune = await post_commune(client)
    club = await post_club(client, commune)
    fund_id = club["fund_id"]
    accounts = await accounts_by_code(client, fund_id)
    posted = await client.post(f"/v1/funds/{fund_id}/entries",
                               json=entry_body(accounts["111"]["id"], accounts["4111"]["id"],
                                               50_000))
    assert posted.status_code == 201, posted.text
    # A write from outside the API (as the command line makes): no head is kept for it yet.
    async with owner_connection.transaction():
        await grant_all_funds(owner_connection)
        context = RequestContext(connection=owner_connection, actor="cli", now=datetime.now(UTC),
                                 request_id="cli", state=type("State", (), {})())
        await record_write(context, uuid.UUID(fund_id), "fund.note", {"note": "from the CLI"})

    auditor = client_for(await new_token("auditor", scope=f"area:{commune}"))
    before = await audit_rows(owner_connection)
    head = await auditor.get(f"/v1/funds/{fund_id}/audit/head")
    assert head.status_code == 200
    size = head.json()["tree_size"]
    checkpoint = await auditor.get(f"/v1/funds/{fund_id}/audit/checkpoint")
    assert checkpoint.status_code == 200
    assert f"\n{size}\n" in checkpoint.text
    receipt = await auditor.get(f"/v1/entries/{posted.json()['id']}/receipt")
    assert receipt.status_code == 200
    assert receipt.json()["head"]["tree_size"] == size
    assert await audit_rows(owner_connection) == before


async def test_a_write_keeps_a_signed_head_of_its_size(client, owner_connection):
    fund = await posted_fund(client, entries=1)
    kept = await owner_connection.fetchval(
        "SELECT max(tree_size) FROM audit_heads WHERE fund_id = $1", uuid.UUID(fund["id"]))
    assert kept == 4


async def test_a_saved_checkpoint_is_checked_and_bad_ones_refused_naming_what_failed(
    anonymous, client, superuser_connection
):
    fund = await posted_fund(client, entries=3)
    url = f"/v1/funds/{fund['id']}/audit/checkpoint"
    saved = (await client.get(url)).text
    cash, capital = (fund["entries"][0]["postings"][p]["account_id"] for p in (0, 1))
    assert (await client.post(f"/v1/funds/{fund['id']}/entries",
                              json=entry_body(cash, capital, 9))).status_code == 201

    async def check(note: str):
        return await client.get(f"{url}/verification", params={"checkpoint": note})

    assert (await anonymous.get(f"{url}/verification",
                                params={"checkpoint": saved})).status_code == 401
    response = await check(saved)
    assert response.status_code == 200, response.text
    assert response.json() == {"ok": True, "tree_size": 6, "current_tree_size": 7,
                               "cosigned_by": []}

    async def refused(note: str, code: str, fragment: str) -> None:
        answer = await check(note)
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["code"] == code and fragment in problem["detail"], problem

    await refused(saved.replace("\n6\n", "\n5\n", 1), "invalid_note_signature",
                  "does not verify")
    await refused(saved[: saved.index("\n\n")], "malformed_note", "truncated")
    stranger = cosign_note_text(Ed25519PrivateKey.generate(), "stranger.test/w",
                                saved[: saved.index("\n\n") + 1], 1_780_000_000)
    await refused(saved + stranger, "unknown_signer", "stranger.test/w+")
    other = await posted_fund(client, entries=1)
    foreign = (await client.get(f"/v1/funds/{other['id']}/audit/checkpoint")).text
    await refused(foreign, "invalid_checkpoint", "is not")

    await rewrite_history(superuser_connection, fund["id"], 4, 1)
    await refused(saved, "log_mismatch", "history was rewritten")


async def test_check_receipt_verifies_an_api_receipt_and_its_checkpoint(
    anonymous, client, tmp_path, capsys
):
    fund = await posted_fund(client, entries=1)
    keys_file = tmp_path / "audit-keys.json"
    keys_file.write_text((await anonymous.get("/.well-known/clubfund/audit-keys")).text)
    receipt = (await client.get(f"/v1/entries/{fund['entries'][0]['id']}/receipt")).json()
    path = tmp_path / "receipt.json"
    path.write_text(json.dumps(receipt))
    assert main(["audit", "check-receipt", str(path), "--key", str(keys_file)]) == 0
    assert "checkpoint signature" in capsys.readouterr().out
    receipt["checkpoint"] = receipt["checkpoint"].replace("\n4\n", "\n5\n", 1)
    path.write_text(json.dumps(receipt))
    assert main(["audit", "check-receipt", str(path), "--key", str(keys_file)]) == 1
    out = capsys.readouterr().out
    assert "REFUSED (invalid_note_signature)" in out and "does not verify" in out
