"""The audit tables are append-only in the database itself, the record lives and dies with
the write it describes, and the database's incremental append builds exactly the tree of
the core (`ledger.merkle.append_leaf`)."""

from __future__ import annotations

import json

import asyncpg
import pytest

from ledger.merkle import append_leaf, leaf_hash
from tests.api.factories import create_account, create_fund, entry_body

AUDIT_TABLES = ("audit_records", "audit_nodes", "audit_heads")


@pytest.fixture
async def fund_with_records(client):
    fund = await create_fund(client)
    cash = await create_account(client, fund["id"], "111", "asset", allow_negative=False)
    capital = await create_account(client, fund["id"], "4111", "equity")
    for n in range(5):
        response = await client.post(f"/v1/funds/{fund['id']}/entries",
                                     json=entry_body(cash["id"], capital["id"], 10 + n))
        assert response.status_code == 201
    assert (await client.get(f"/v1/funds/{fund['id']}/audit/head")).status_code == 200
    return {"id": fund["id"], "cash": cash["id"], "capital": capital["id"]}


@pytest.mark.parametrize("table", AUDIT_TABLES)
async def test_the_service_role_may_not_change_audit_rows(app_connection, fund_with_records,
                                                          table):
    for statement in (f"UPDATE {table} SET fund_id = fund_id", f"DELETE FROM {table}",
                      f"TRUNCATE {table}"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_connection.execute(statement)


@pytest.mark.parametrize("table", AUDIT_TABLES)
async def test_not_even_the_owner_may_change_audit_rows(owner_connection, fund_with_records,
                                                        table):
    for statement in (f"UPDATE {table} SET fund_id = fund_id", f"DELETE FROM {table}",
                      f"TRUNCATE {table}"):
        with pytest.raises(asyncpg.PostgresError) as raised:
            await owner_connection.execute(statement)
        assert raised.value.sqlstate == "CF001"


async def test_a_refused_write_leaves_no_record(client, superuser_connection,
                                                fund_with_records):
    count = "SELECT count(*) FROM audit_records WHERE fund_id = $1"
    before = await superuser_connection.fetchval(count, fund_with_records["id"])
    overdraft = entry_body(fund_with_records["capital"], fund_with_records["cash"], 10**9)
    response = await client.post(f"/v1/funds/{fund_with_records['id']}/entries", json=overdraft)
    assert response.json()["code"] == "insufficient_funds"
    assert await superuser_connection.fetchval(count, fund_with_records["id"]) == before
    assert (await superuser_connection.fetchval(
        "SELECT tree_size FROM audit_trees WHERE fund_id = $1", fund_with_records["id"]
    )) == before


async def test_every_write_has_its_record_and_the_database_tree_is_the_cores(
    superuser_connection, fund_with_records
):
    db = superuser_connection
    fund_id = fund_with_records["id"]
    rows = await db.fetch("SELECT sequence, action, subject_id, record, leaf_hash"
                          " FROM audit_records WHERE fund_id = $1 ORDER BY sequence", fund_id)
    actions = [r["action"] for r in rows]
    assert actions == ["fund.created", "account.created", "account.created", *["entry.posted"] * 5]
    entries = await db.fetch("SELECT id FROM entries WHERE fund_id = $1 ORDER BY sequence",
                             fund_id)
    assert [r["subject_id"] for r in rows[3:]] == [e["id"] for e in entries]

    frontier: tuple[bytes, ...] = ()
    size = 0
    expected_nodes = {}
    for row in rows:
        record = json.loads(bytes(row["record"]))
        assert record["sequence"] == row["sequence"] and record["fund_id"] == fund_id
        assert leaf_hash(record) == bytes(row["leaf_hash"])
        appended = append_leaf(frontier, size, leaf_hash(record))
        expected_nodes.update({n.id: n.hash for n in appended.new_nodes[1:]})
        frontier, size = appended.frontier, appended.tree_size
    stored = {(r["level"], r["index"]): bytes(r["hash"]) for r in await db.fetch(
        "SELECT level, index, hash FROM audit_nodes WHERE fund_id = $1", fund_id)}
    assert stored == expected_nodes
    tree = await db.fetchrow("SELECT tree_size, frontier FROM audit_trees WHERE fund_id = $1",
                             fund_id)
    assert tree["tree_size"] == size == 8
    assert tuple(bytes(h) for h in tree["frontier"]) == frontier


async def test_feed_keys_never_go_backwards_within_a_fund(superuser_connection,
                                                          fund_with_records):
    keys = [r["feed_key"] for r in await superuser_connection.fetch(
        "SELECT feed_key FROM audit_records WHERE fund_id = $1 ORDER BY sequence",
        fund_with_records["id"])]
    assert keys == sorted(keys) and keys[0] > 0
