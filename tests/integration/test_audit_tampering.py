"""A database superuser who edits the books behind the service's back is caught.

With the append-only triggers off (`session_replication_role = replica`), each of
these is named by `GET /audit/verify` and `clubfund audit verify`, with the exact
fund and sequence: one posting's amount changed, one audit record deleted, two
records swapped. A superuser who also rewrites the record and recomputes every
hash passes the internal checks, and is still caught by a signed head saved
before the rewrite: its consistency proof fails, and an old receipt's record is
no longer in the new tree.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import rfc8785

from ledger.entries import content_hash
from ledger.merkle import InvalidProof, append_leaf, hashes_from_hex, leaf_hash, verify_inclusion
from ledger.receipts import check_consistency_against_saved_head, check_receipt
from service.cli import main
from service.settings import Settings
from tests.api.factories import create_account, create_fund, entry_body
from tests.conftest import run_in_thread


async def build_fund(client, entries: int = 6) -> dict:
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset", allow_negative=False)
    capital = await create_account(client, fund["id"], "4111", "equity")
    posted = []
    for n in range(entries):
        response = await client.post(f"/v1/funds/{fund['id']}/entries",
                                     json=entry_body(cash["id"], capital["id"], 100_000 + n))
        assert response.status_code == 201, response.text
        posted.append(response.json())
    return {"id": fund["id"], "entries": posted}


@pytest.fixture
async def two_funds(client):
    """Two funds with records 1 (fund), 2-3 (accounts), 4-9 (entries) each."""
    return await build_fund(client), await build_fund(client)


async def verify(client, fund_id: str) -> dict:
    response = await client.get(f"/v1/funds/{fund_id}/audit/verify")
    assert response.status_code == 200, response.text
    return dict(response.json())


def cli(database, *args: str) -> int:
    return run_in_thread(lambda: main(["audit", *args, "--database-url", database.app_url]))


async def test_an_untouched_ledger_verifies(client, two_funds, database, capsys):
    for fund in two_funds:
        answer = await verify(client, fund["id"])
        assert answer["ok"] is True and answer["tree_size"] == 9
    assert cli(database, "verify") == 0
    out = capsys.readouterr().out
    assert "all OK" in out and "records/s" in out and "BROKEN" not in out


async def test_a_changed_posting_amount_is_named(client, two_funds, superuser_connection,
                                                 database, capsys):
    untouched, fund = two_funds
    entry = fund["entries"][2]
    sequence = entry["audit"]["sequence"]
    assert sequence == 6
    db = superuser_connection
    await db.execute("SET session_replication_role = replica")
    await db.execute("UPDATE postings SET amount = amount + 1"
                     " WHERE fund_id = $1 AND entry_id = $2 AND line = 1",
                     fund["id"], entry["id"])
    answer = await verify(client, fund["id"])
    assert answer["ok"] is False
    assert (answer["fund_id"], answer["sequence"]) == (fund["id"], sequence)
    assert entry["id"] in answer["reason"] and "postings" in answer["reason"]
    assert (await verify(client, untouched["id"]))["ok"] is True

    assert cli(database, "verify", "--fund", fund["id"]) == 1
    out = capsys.readouterr().out
    assert f"BROKEN at sequence {sequence}" in out and fund["id"] in out


async def test_a_balance_moved_without_a_posting_is_named(client, two_funds,
                                                          superuser_connection):
    _, fund = two_funds
    cash_id = fund["entries"][0]["postings"][0]["account_id"]
    db = superuser_connection
    await db.execute("SET session_replication_role = replica")
    await db.execute("UPDATE account_balances SET debits = debits + 5"
                     " WHERE fund_id = $1 AND account_id = $2", fund["id"], cash_id)
    answer = await verify(client, fund["id"])
    assert answer["ok"] is False and answer["fund_id"] == fund["id"]
    # The last record that moved the account: the sixth entry, record 9.
    assert answer["sequence"] == 9 and "111" in answer["reason"]


async def test_a_deleted_audit_record_is_named(client, two_funds, superuser_connection,
                                               database, capsys):
    untouched, fund = two_funds
    db = superuser_connection
    await db.execute("SET session_replication_role = replica")
    await db.execute("DELETE FROM audit_records WHERE fund_id = $1 AND sequence = 5", fund["id"])
    answer = await verify(client, fund["id"])
    assert (answer["ok"], answer["fund_id"], answer["sequence"]) == (False, fund["id"], 5)
    assert "missing" in answer["reason"]
    assert (await verify(client, untouched["id"]))["ok"] is True
    assert cli(database, "verify") == 1
    out = capsys.readouterr().out
    assert f"fund {fund['id']}" in out and "BROKEN at sequence 5" in out


async def test_the_last_record_deleted_is_named(client, two_funds, superuser_connection):
    _, fund = two_funds
    db = superuser_connection
    await db.execute("SET session_replication_role = replica")
    await db.execute("DELETE FROM audit_records WHERE fund_id = $1 AND sequence = 9", fund["id"])
    answer = await verify(client, fund["id"])
    assert (answer["ok"], answer["sequence"]) == (False, 9)


async def test_two_swapped_records_are_named(client, two_funds, superuser_connection):
    _, fund = two_funds
    db = superuser_connection
    await db.execute("SET session_replication_role = replica")
    async with db.transaction():
        await db.execute("UPDATE audit_records SET sequence = 1000007"
                         " WHERE fund_id = $1 AND sequence = 7", fund["id"])
        await db.execute("UPDATE audit_records SET sequence = 7"
                         " WHERE fund_id = $1 AND sequence = 4", fund["id"])
        await db.execute("UPDATE audit_records SET sequence = 4"
                         " WHERE fund_id = $1 AND sequence = 1000007", fund["id"])
    answer = await verify(client, fund["id"])
    assert (answer["ok"], answer["fund_id"], answer["sequence"]) == (False, fund["id"], 4)
    assert "moved" in answer["reason"]


async def test_swapped_record_contents_are_named(client, two_funds, superuser_connection):
    _, fund = two_funds
    db = superuser_connection
    await db.execute("SET session_replication_role = replica")
    await db.execute(
        """
        UPDATE audit_records r SET record = o.record, leaf_hash = o.leaf_hash
          FROM audit_records o
         WHERE r.fund_id = $1 AND o.fund_id = $1
           AND ((r.sequence = 5 AND o.sequence = 8) OR (r.sequence = 8 AND o.sequence = 5))
        """,
        fund["id"],
    )
    answer = await verify(client, fund["id"])
    assert (answer["ok"], answer["sequence"]) == (False, 5)


async def test_an_entry_without_its_record_is_found(client, two_funds, superuser_connection):
    _, fund = two_funds
    db = superuser_connection
    await db.execute("SET session_replication_role = replica")
    await db.execute("DELETE FROM audit_records WHERE fund_id = $1 AND sequence = 9", fund["id"])
    await db.execute("UPDATE audit_trees t SET tree_size = 8,"
                     " frontier = ARRAY[(SELECT hash FROM audit_nodes n WHERE n.fund_id = t.fund_id"
                     " AND level = 3 AND index = 0)] WHERE fund_id = $1", fund["id"])
    answer = await verify(client, fund["id"])
    assert answer["ok"] is False
    assert fund["entries"][-1]["id"] in answer["reason"]


async def rewrite_history(db, fund_id: str, sequence: int, amount: int) -> None:
    """What a thorough superuser does: change an entry and its record, then recompute
    every hash, node, frontier and balance so that everything agrees again."""
    await db.execute("SET session_replication_role = replica")
    row = await db.fetchrow("SELECT record FROM audit_records WHERE fund_id = $1"
                            " AND sequence = $2", fund_id, sequence)
    record = json.loads(bytes(row["record"]))
    entry_id = record["data"]["id"]
    for posting in record["data"]["postings"]:
        posting["amount"] = amount
    await db.execute("UPDATE postings SET amount = $3 WHERE fund_id = $1 AND entry_id = $2",
                     fund_id, entry_id, amount)
    await db.execute("UPDATE entries SET hash = $3 WHERE fund_id = $1 AND id = $2",
                     fund_id, entry_id, content_hash(record["data"]))
    await db.execute("UPDATE audit_records SET record = $3, leaf_hash = $4"
                     " WHERE fund_id = $1 AND sequence = $2",
                     fund_id, sequence, rfc8785.dumps(record), leaf_hash(record))
    await db.execute("DELETE FROM audit_nodes WHERE fund_id = $1", fund_id)
    await db.execute("DELETE FROM audit_heads WHERE fund_id = $1", fund_id)
    frontier: tuple[bytes, ...] = ()
    size = 0
    for stored in await db.fetch("SELECT leaf_hash FROM audit_records WHERE fund_id = $1"
                                 " ORDER BY sequence", fund_id):
        appended = append_leaf(frontier, size, bytes(stored["leaf_hash"]))
        for node in appended.new_nodes[1:]:
            await db.execute("INSERT INTO audit_nodes VALUES ($1, $2, $3, $4)",
                             fund_id, node.level, node.index, node.hash)
        frontier, size = appended.frontier, appended.tree_size
    await db.execute("UPDATE audit_trees SET frontier = $2 WHERE fund_id = $1",
                     fund_id, list(frontier))
    await db.execute(
        """
        UPDATE account_balances b
           SET debits = s.debits, credits = s.credits
          FROM (SELECT account_id,
                       coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0) AS debits,
                       coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0) AS credits
                  FROM postings WHERE fund_id = $1 GROUP BY account_id) s
         WHERE b.fund_id = $1 AND b.account_id = s.account_id
        """,
        fund_id,
    )
    await db.execute("SET session_replication_role = origin")


async def test_a_rewrite_with_recomputed_hashes_is_caught_by_a_saved_head(
    client, anonymous, superuser_connection, database, tmp_path, capsys
):
    fund = await build_fund(client)
    fund_id = fund["id"]
    url = f"/v1/funds/{fund_id}/audit"
    keys_document = (await anonymous.get("/.well-known/clubfund/audit-keys")).json()
    keys = {k["key_id"]: base64.b64decode(k["public_key"]) for k in keys_document["keys"]}

    # The auditor saves a signed head; a member keeps a receipt for record 6.
    saved_head = (await client.get(f"{url}/head")).json()
    records = (await client.get(url)).json()["items"]
    old = records[5]
    receipt = {
        "record": old["record"], "leaf_hash": old["leaf_hash"],
        "proof": (await client.get(f"{url}/proof", params={"sequence": 6,
                                                           "tree_size": 9})).json(),
        "head": saved_head,
    }
    assert check_receipt(receipt, keys).sequence == 6

    await rewrite_history(superuser_connection, fund_id, 6, 1)
    # The books agree with themselves again: internal verification alone cannot tell.
    assert (await verify(client, fund_id))["ok"] is True
    # The log grows on; the service signs its new head.
    cash, capital = (fund["entries"][0]["postings"][p]["account_id"] for p in (0, 1))
    response = await client.post(f"{url[:-6]}/entries", json=entry_body(cash, capital, 7))
    assert response.status_code == 201
    new_head = (await client.get(f"{url}/head")).json()
    assert new_head["tree_size"] == 10

    # 1. The consistency proof from the saved head to the new one fails.
    answer = (await client.get(f"{url}/consistency", params={"first": 9, "second": 10})).json()
    with pytest.raises(InvalidProof):
        check_consistency_against_saved_head(saved_head, new_head, answer, keys)
    # 2. The old receipt's record is no longer in the tree.
    proof = (await client.get(f"{url}/proof", params={"sequence": 6, "tree_size": 10})).json()
    assert proof["leaf_hash"] != old["leaf_hash"]
    with pytest.raises(InvalidProof):
        verify_inclusion(bytes.fromhex(old["leaf_hash"]), 5, 10,
                         hashes_from_hex(proof["audit_path"]),
                         bytes.fromhex(new_head["root_hash"]))
    # 3. The offline verifier, given the saved head, says so.
    heads_file = tmp_path / "heads.json"
    heads_file.write_text(json.dumps([saved_head]))
    key_file = tmp_path / "audit-keys.json"
    key_file.write_text(json.dumps(keys_document))
    assert cli(database, "verify", "--fund", fund_id, "--heads", str(heads_file),
               "--key", str(key_file)) == 1
    out = capsys.readouterr().out
    assert "history was rewritten" in out and "tree size 9" in out
    # Without the saved head, the rewrite would have passed.
    assert cli(database, "verify", "--fund", fund_id, "--key", str(key_file)) == 0


async def test_the_owner_switching_a_guard_off_is_named(client, two_funds, owner_connection):
    """PostgreSQL lets a table's owner (the role that runs migrations) disable its
    triggers: the database cannot stop it, the audit log's verification names it."""
    untouched, fund = two_funds
    entry = fund["entries"][3]
    db = owner_connection
    await db.execute("ALTER TABLE postings DISABLE TRIGGER trg_postings_append_only")
    try:
        deleted = await db.execute("DELETE FROM postings WHERE fund_id = $1 AND entry_id = $2",
                                   fund["id"], entry["id"])
    finally:
        await db.execute("ALTER TABLE postings ENABLE TRIGGER trg_postings_append_only")
    assert deleted == "DELETE 2"
    answer = await verify(client, fund["id"])
    assert answer["ok"] is False
    assert (answer["fund_id"], answer["sequence"]) == (fund["id"], entry["audit"]["sequence"])
    assert entry["id"] in answer["reason"]
    assert (await verify(client, untouched["id"]))["ok"] is True


def test_the_suite_never_reads_the_data_directory_of_the_clone():
    # `python3 dev.py serve` keeps its audit signing key in the clone's var/: a command
    # run in process by a test would verify the tests' signed heads with that key.
    clone = Path(__file__).resolve().parents[2]
    assert not Settings().data_dir.resolve().is_relative_to(clone)
