"""The audit log's proofs, checked by an independent RFC 9162 reference verifier.

A fund gets 70 records through the API (the fund, two accounts, 67 entries); the
signed head is fetched after each write, so there is a head for every tree size
1..70. For every size n and every record s <= n, the served inclusion proof must
verify under `tests/unit/rfc9162_reference.py` against the reference MTH over
the records' canonical JSON; for every pair m <= n, so must the consistency
proof. Nothing from `ledger.merkle` is used to check.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from tests.api.factories import create_account, create_fund, entry_body
from tests.unit import rfc9162_reference as rfc

SIZE = 70
PROBLEM = "application/problem+json"


def independent_head_check(head: dict, keys: dict[str, bytes]) -> None:
    message = rfc8785.dumps({k: head[k] for k in ("fund_id", "tree_size", "root_hash",
                                                  "timestamp")})
    Ed25519PublicKey.from_public_bytes(keys[head["key_id"]]).verify(
        base64.b64decode(head["signature"]), message
    )
    assert head["key_id"] == hashlib.sha256(keys[head["key_id"]]).hexdigest()[:16]


@pytest.fixture
async def log_of_70(client):
    fund = await create_fund(client)
    fund_id = fund["id"]
    heads = {}

    async def save_head() -> None:
        head = (await client.get(f"/v1/funds/{fund_id}/audit/head")).json()
        heads[head["tree_size"]] = head

    stamps = [fund["audit"]]
    await save_head()
    cash = await create_account(client, fund_id, "111", "asset")
    await save_head()
    capital = await create_account(client, fund_id, "4111", "equity")
    await save_head()
    stamps += [cash["audit"], capital["audit"]]
    for n in range(SIZE - 3):
        response = await client.post(f"/v1/funds/{fund_id}/entries",
                                     json=entry_body(cash["id"], capital["id"], 1000 + n))
        assert response.status_code == 201, response.text
        stamps.append(response.json()["audit"])
        await save_head()
    records = []
    cursor = None
    while True:
        page = (await client.get(f"/v1/funds/{fund_id}/audit",
                                 params={"limit": 25, **({"cursor": cursor} if cursor else {})}
                                 )).json()
        records += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    return {"fund_id": fund_id, "heads": heads, "records": records, "stamps": stamps}


async def test_every_proof_for_every_size_verifies_independently(client, anonymous, log_of_70):
    fund_id, heads, records = log_of_70["fund_id"], log_of_70["heads"], log_of_70["records"]
    keys_document = (await anonymous.get("/.well-known/clubfund/audit-keys")).json()
    keys = {k["key_id"]: base64.b64decode(k["public_key"]) for k in keys_document["keys"]}
    assert all(k["algorithm"] == "ed25519" and len(base64.b64decode(k["public_key"])) == 32
               for k in keys_document["keys"])

    # Records: gapless, each re-hashes to its leaf, each write answered with its stamp.
    assert [item["sequence"] for item in records] == list(range(1, SIZE + 1))
    data = [rfc8785.dumps(item["record"]) for item in records]
    for item, canonical in zip(records, data, strict=True):
        assert item["leaf_hash"] == rfc.leaf(canonical).hex()
        assert item["record"]["sequence"] == item["sequence"]
        assert item["record"]["fund_id"] == fund_id
        assert {"recorded_at", "actor", "action", "data", "request_id"} <= set(item["record"])
    assert log_of_70["stamps"] == [{"sequence": r["sequence"], "leaf_hash": r["leaf_hash"]}
                                   for r in records]

    assert sorted(heads) == list(range(1, SIZE + 1))
    for n, head in heads.items():
        independent_head_check(head, keys)
        assert head["fund_id"] == fund_id
        assert head["timestamp"].endswith("Z")
        assert head["root_hash"] == rfc.MTH(data[:n]).hex(), n

    url = f"/v1/funds/{fund_id}/audit"
    for n in range(1, SIZE + 1):
        root = bytes.fromhex(heads[n]["root_hash"])
        for s in range(1, n + 1):
            proof = (await client.get(f"{url}/proof",
                                      params={"sequence": s, "tree_size": n})).json()
            assert (proof["sequence"], proof["tree_size"]) == (s, n)
            assert proof["leaf_hash"] == records[s - 1]["leaf_hash"]
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            assert path == rfc.PATH(s - 1, data[:n])
            assert rfc.verify_inclusion(s - 1, n, bytes.fromhex(proof["leaf_hash"]), path, root)
        for m in range(1, n + 1):
            answer = (await client.get(f"{url}/consistency",
                                       params={"first": m, "second": n})).json()
            assert (answer["first"], answer["second"]) == (m, n)
            proof = [bytes.fromhex(h) for h in answer["proof"]]
            first_root = bytes.fromhex(heads[m]["root_hash"])
            if m == n:
                assert proof == []
            else:
                assert proof == rfc.PROOF(m, data[:n])
                assert rfc.verify_consistency(m, n, first_root, root, proof), (m, n)

    # Defaults: the current tree.
    latest = (await client.get(f"{url}/proof", params={"sequence": 5})).json()
    assert latest["tree_size"] == SIZE
    assert (await client.get(f"{url}/consistency", params={"first": 9})).json()["second"] == SIZE
    verified = (await client.get(f"{url}/verify")).json()
    assert verified == {"ok": True, "tree_size": SIZE, "root_hash": heads[SIZE]["root_hash"]}


async def test_a_head_is_signed_once_per_size(client):
    fund = await create_fund(client)
    first = (await client.get(f"/v1/funds/{fund['id']}/audit/head")).json()
    again = (await client.get(f"/v1/funds/{fund['id']}/audit/head")).json()
    assert first == again
    assert first["tree_size"] == 1
    await create_account(client, fund["id"], "111", "asset")
    later = (await client.get(f"/v1/funds/{fund['id']}/audit/head")).json()
    assert later["tree_size"] == 2 and later["root_hash"] != first["root_hash"]


@pytest.mark.parametrize(("path", "params", "code"), [
    ("proof", {"sequence": 0, "tree_size": 2}, "sequence_out_of_range"),
    ("proof", {"sequence": -1}, "sequence_out_of_range"),
    ("proof", {"sequence": 3, "tree_size": 2}, "sequence_out_of_range"),
    ("proof", {"sequence": 4}, "sequence_out_of_range"),
    ("proof", {"sequence": 1, "tree_size": 4}, "tree_size_out_of_range"),
    ("proof", {"sequence": 1, "tree_size": 0}, "tree_size_out_of_range"),
    ("proof", {"sequence": "x"}, "validation_error"),
    ("proof", {}, "validation_error"),
    ("consistency", {"first": 0, "second": 2}, "invalid_consistency_range"),
    ("consistency", {"first": 3, "second": 2}, "invalid_consistency_range"),
    ("consistency", {"first": 1, "second": 4}, "invalid_consistency_range"),
    ("consistency", {"first": 4}, "invalid_consistency_range"),
    ("consistency", {}, "validation_error"),
])
async def test_bad_proof_parameters_are_refused(client, path, params, code):
    fund = await create_fund(client)
    await create_account(client, fund["id"], "111", "asset")
    await create_account(client, fund["id"], "112", "asset")
    response = await client.get(f"/v1/funds/{fund['id']}/audit/{path}", params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    assert response.json()["code"] == code


@pytest.mark.parametrize("path", ["", "/head", "/proof?sequence=1", "/consistency?first=1",
                                  "/verify"])
async def test_an_unknown_fund_has_no_audit_log(client, path):
    response = await client.get(f"/v1/funds/{'0' * 7}1-0000-7000-8000-000000000000/audit{path}")
    assert response.status_code == 404, response.text
    assert response.json()["code"] == "not_found"


async def test_the_service_wide_log_is_served_under_the_nil_fund(client):
    nil = "00000000-0000-0000-0000-000000000000"
    head = (await client.get(f"/v1/funds/{nil}/audit/head")).json()
    assert head["fund_id"] == nil and head["tree_size"] == 0
    assert head["root_hash"] == hashlib.sha256(b"").hexdigest()
    assert (await client.get(f"/v1/funds/{nil}/audit/verify")).json()["ok"] is True
