"""Receipts end to end: a real receipt verifies offline, a tampered one is refused, a head
signed by an unknown key is refused; key rotation keeps old heads verifiable."""

from __future__ import annotations

import base64
import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.errors import LedgerError
from ledger.receipts import check_receipt
from ledger.tree_heads import check_tree_head, key_id_for, public_key_raw, sign_tree_head
from service.app import create_app
from service.audit.signing import private_key_to_base64
from service.cli import main
from service.settings import Settings, get_settings
from tests.api.factories import create_account, create_fund, entry_body
from tests.conftest import run_in_thread


async def published_keys(http) -> dict[str, bytes]:
    document = (await http.get("/.well-known/clubfund/audit-keys")).json()
    return {k["key_id"]: base64.b64decode(k["public_key"]) for k in document["keys"]}


@pytest.fixture
async def posted(client):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset")
    capital = await create_account(client, fund["id"], "4111", "equity")
    entries = []
    for n in range(5):
        response = await client.post(f"/v1/funds/{fund['id']}/entries",
                                     json=entry_body(cash["id"], capital["id"], 466_667 + n))
        entries.append(response.json())
    return {"fund_id": fund["id"], "entries": entries}


async def api_receipt(client, fund_id: str, sequence: int) -> dict:
    url = f"/v1/funds/{fund_id}/audit"
    head = (await client.get(f"{url}/head")).json()
    record = (await client.get(url, params={"limit": 500})).json()["items"][
        sequence - 1]
    proof = (await client.get(f"{url}/proof", params={"sequence": sequence,
                                                      "tree_size": head["tree_size"]})).json()
    return {"record": record["record"], "leaf_hash": record["leaf_hash"], "proof": proof,
            "head": head}


async def test_the_audit_keys_are_public(anonymous):
    response = await anonymous.get("/.well-known/clubfund/audit-keys")
    assert response.status_code == 200
    (key,) = response.json()["keys"]
    assert key["algorithm"] == "ed25519"
    assert key["key_id"] == key_id_for(base64.b64decode(key["public_key"]))


def tamperings(receipt: dict) -> dict[str, dict]:
    cases = {}

    def case(name: str, change) -> None:
        tampered = copy.deepcopy(receipt)
        change(tampered)
        cases[name] = tampered

    case("amount in the record", lambda r: r["record"]["data"]["postings"][0].update(amount=1))
    case("record's sequence", lambda r: r["record"].update(sequence=r["record"]["sequence"] + 1))
    def flip_first_path_hash(r: dict) -> None:
        path = r["proof"]["audit_path"]
        path[0] = ("0" if path[0][0] != "0" else "1") + path[0][1:]

    case("a path hash", flip_first_path_hash)
    case("path one hash short", lambda r: r["proof"]["audit_path"].pop())
    case("path one hash long", lambda r: r["proof"]["audit_path"].append("ab" * 32))
    case("tree size", lambda r: r["proof"].update(tree_size=r["proof"]["tree_size"] + 1))
    case("head root", lambda r: r["head"].update(root_hash="00" * 32))
    case("head timestamp", lambda r: r["head"].update(timestamp="2020-01-01T00:00:00Z"))
    case("leaf hash", lambda r: r.update(leaf_hash="11" * 32))
    return cases


async def test_a_receipt_from_the_api_verifies_and_tampering_is_refused(
    client, anonymous, posted
):
    keys = await published_keys(anonymous)
    entry = posted["entries"][2]
    receipt = await api_receipt(client, posted["fund_id"], entry["audit"]["sequence"])
    checked = check_receipt(receipt, keys)
    assert (checked.sequence, checked.tree_size) == (entry["audit"]["sequence"], 8)
    assert checked.leaf_hash == entry["audit"]["leaf_hash"]
    for name, tampered in tamperings(receipt).items():
        with pytest.raises(LedgerError):
            check_receipt(tampered, keys)
            pytest.fail(f"accepted a receipt with a changed {name}")


async def test_a_head_signed_by_an_unknown_key_is_refused(client, anonymous, posted):
    keys = await published_keys(anonymous)
    receipt = await api_receipt(client, posted["fund_id"], 4)
    forger = Ed25519PrivateKey.generate()
    head = receipt["head"]
    receipt["head"] = sign_tree_head(forger, key_id_for(public_key_raw(forger)),
                                     head["fund_id"], head["tree_size"], head["root_hash"],
                                     head["timestamp"])
    with pytest.raises(LedgerError) as refused:
        check_receipt(receipt, keys)
    assert refused.value.code == "unknown_key"
    # Claiming the real key id does not help: the signature does not verify.
    receipt["head"]["key_id"] = head["key_id"]
    with pytest.raises(LedgerError) as refused:
        check_receipt(receipt, keys)
    assert refused.value.code == "invalid_signature"


async def test_the_receipt_commands(client, posted, database, audit_signing_key, tmp_path,
                                    monkeypatch, capsys, anonymous):
    monkeypatch.setenv("CLUBFUND_AUDIT_SIGNING_KEY", audit_signing_key)
    get_settings.cache_clear()
    try:
        entry = posted["entries"][4]
        path = tmp_path / "receipt.json"
        assert run_in_thread(lambda: main(["audit", "receipt", entry["id"], "-o", str(path),
                                           "--database-url", database.app_url])) == 0
    finally:
        get_settings.cache_clear()
    receipt = json.loads(path.read_text())
    assert receipt["record"]["data"]["id"] == entry["id"]
    assert receipt["leaf_hash"] == entry["audit"]["leaf_hash"]
    # The CLI signed the same head the API serves at this size.
    assert receipt["head"] == (await client.get(
        f"/v1/funds/{posted['fund_id']}/audit/head")).json()

    keys_file = tmp_path / "audit-keys.json"
    keys_file.write_text((await anonymous.get("/.well-known/clubfund/audit-keys")).text)
    public_key = base64.b64encode(next(iter((await published_keys(anonymous)).values()))).decode()
    capsys.readouterr()
    for key in (public_key, str(keys_file)):
        assert main(["audit", "check-receipt", str(path), "--key", key]) == 0
        out = capsys.readouterr().out
        assert "receipt OK" in out and "records/s" in out
        assert f"record {entry['audit']['sequence']} of fund" in out

    for name, tampered in tamperings(receipt).items():
        bad = tmp_path / "tampered.json"
        bad.write_text(json.dumps(tampered))
        assert main(["audit", "check-receipt", str(bad), "--key", public_key]) == 1, name
        assert "receipt REFUSED" in capsys.readouterr().out
    stranger = base64.b64encode(public_key_raw(Ed25519PrivateKey.generate())).decode()
    assert main(["audit", "check-receipt", str(path), "--key", stranger]) == 1
    assert "unknown_key" in capsys.readouterr().out


async def test_key_rotation_keeps_old_heads_verifiable(app_pool, client, new_token, posted,
                                                       audit_signing_key):
    from service.audit.signing import private_key_from_base64

    old_public = base64.b64encode(
        public_key_raw(private_key_from_base64(audit_signing_key))).decode()
    new_key = private_key_to_base64(Ed25519PrivateKey.generate())
    old_head = (await client.get(f"/v1/funds/{posted['fund_id']}/audit/head")).json()

    rotated = create_app(Settings(database_url="postgresql://unused", audit_signing_key=new_key,
                                  audit_previous_public_keys=old_public), pool=app_pool)
    import httpx

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=rotated), base_url="http://clubfund.test",
        headers={"Authorization": f"Bearer {await new_token('admin')}"},
    ) as http:
        keys = await published_keys(http)
        assert len(keys) == 2
        new_head = (await http.get(f"/v1/funds/{posted['fund_id']}/audit/head")).json()
    assert new_head["key_id"] != old_head["key_id"]
    assert new_head["root_hash"] == old_head["root_hash"]
    check_tree_head(old_head, keys)
    check_tree_head(new_head, keys)


async def test_serve_keeps_a_generated_key_in_the_data_directory(tmp_path):
    from service.audit.signing import load_signer, with_audit_key

    settings = with_audit_key(Settings(data_dir=tmp_path))
    assert settings.audit_key_file == tmp_path / "audit-signing.key"
    assert (settings.audit_key_file.stat().st_mode & 0o777) == 0o600
    first = load_signer(settings).key_id
    assert load_signer(with_audit_key(Settings(data_dir=tmp_path))).key_id == first
