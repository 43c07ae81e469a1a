"""`clubfund audit verify --url … --fund …` verifies a fund from the API alone (a served
`clubfund serve` process, an auditor's token, no database URL), against checkpoints saved
earlier, and catches a superuser's rewrite that leaves the database agreeing with itself."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ledger.signed_notes import verifier_key_for
from ledger.tree_heads import public_key_raw
from service.cli import main
from tests.api.factories import accounts_by_code, post_club, post_commune
from tests.conftest import run_in_thread
from tests.integration.test_audit_tampering import rewrite_history
from tests.integration.test_witnesses import free_port, loopback_process
from tests.unit.test_signed_notes import LOG_KEY


@pytest.fixture
def served(database, audit_signing_key: str, tmp_path: Path) -> Iterator[str]:
    """`clubfund serve` on loopback against this test's database; stopped whatever happens."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database.app_url,
                   "CLUBFUND_AUDIT_SIGNING_KEY": audit_signing_key,
                   "CLUBFUND_DATA_DIR": str(tmp_path / "var"),
                   # the test server runs with fsync off for speed
                   "CLUBFUND_ALLOW_NON_DURABLE_DATABASE": "true"}
    with loopback_process(["serve", "--host", "127.0.0.1", "--port", str(port)], port,
                          environment) as url:
        yield url


def verify(url: str, token: str, fund_id: str, *extra: str) -> int:
    return run_in_thread(lambda: main(["audit", "verify", "--url", url, "--token", token,
                                       "--fund", fund_id, *extra]))


@pytest.mark.slow
async def test_api_only_verification_catches_a_rewrite_against_a_saved_checkpoint(
    served, new_token, superuser_connection, tmp_path, capsys, monkeypatch
):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    admin = await new_token("admin")
    async with httpx.AsyncClient(base_url=served,
                                 headers={"Authorization": f"Bearer {admin}"}) as http:
        commune = await post_commune(http)
        club = await post_club(http, commune)
        fund_id = club["fund_id"]
        accounts = await accounts_by_code(http, fund_id)

        async def post(amount: int) -> None:
            response = await http.post(f"/v1/funds/{fund_id}/entries", json={
                "effective_date": "2026-03-05", "description": "Góp vốn", "currency": "VND",
                "postings": [
                    {"account_id": accounts["111"]["id"], "side": "debit", "amount": amount},
                    {"account_id": accounts["4111"]["id"], "side": "credit", "amount": amount},
                ]})
            assert response.status_code == 201, response.text

        for amount in (5_000_000, 466_667, 466_667):
            await post(amount)
        keys_file = tmp_path / "audit-keys.json"
        keys_file.write_text((await http.get("/.well-known/clubfund/audit-keys")).text)

        auditor = await new_token("auditor", scope=f"area:{commune}")
        saved = tmp_path / "checkpoints.jsonl"
        # First visit: verified, and the checkpoint saved.
        assert verify(served, auditor, fund_id, "--key", str(keys_file),
                      "--checkpoints", str(saved)) == 0
        out = capsys.readouterr().out
        assert "OK" in out and "balances:" in out and "rebuild the checkpoint's root" in out
        first_size = int(json.loads(saved.read_text().splitlines()[0]).split("\n")[1])

        await post(100_000)
        assert verify(served, auditor, fund_id, "--key", str(keys_file),
                      "--checkpoints", str(saved)) == 0
        assert "saved checkpoint 1: size" in capsys.readouterr().out

        # A superuser rewrites an entry already covered by the saved checkpoints and
        # recomputes every hash, node and balance; the log grows on.
        first_entry = first_size - 2
        await rewrite_history(superuser_connection, fund_id, first_entry, 1)
        await post(7)
        assert verify(served, auditor, fund_id, "--key", str(keys_file),
                      "--checkpoints", str(saved)) == 1
        out = capsys.readouterr().out
        assert "REFUSED" in out
        assert f"saved checkpoint 1 (size {first_size})" in out
        assert "history was rewritten" in out
        # Without the saved checkpoints the rewritten books agree with themselves.
        assert verify(served, auditor, fund_id, "--key", str(keys_file)) == 0
        capsys.readouterr()

        # A server that substituted its key (the log's name, another key) is refused.
        stranger = str(verifier_key_for("clubfund.localhost/log", public_key_raw(LOG_KEY)))
        assert verify(served, auditor, fund_id, "--key", stranger) == 1
        assert "the current checkpoint: no signature by a known key" in capsys.readouterr().out
        # A balance moved without a posting: the records do not post it.
        await superuser_connection.execute(
            "SET session_replication_role = replica;"
            f"UPDATE account_balances SET debits = debits + 1 WHERE account_id = "
            f"'{accounts['111']['id']}'; SET session_replication_role = origin")
        assert verify(served, auditor, fund_id, "--key", str(keys_file)) == 1
        out = capsys.readouterr().out
        assert "account 111" in out and "the records posted" in out
