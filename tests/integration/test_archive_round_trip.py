"""`clubfund export` then `clubfund import --archive` on another, empty database: the
fund comes back with the same ids, rows, hashes and audit roots, and its log verifies
against the original signed heads. An archive that does not verify, a fund the target
holds with another history, and a malformed line are refused with nothing written."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.tree_heads import key_id_for, public_key_raw
from service.archive.commands import connect, import_on
from service.archive.tables import ARCHIVED_TABLES, SERVER_LOCAL_COLUMNS
from service.audit.verification import verify_log
from service.errors import ArchiveRefused
from tests.api.factories import club_with_seed_grant
from tests.api.test_corrections_api import disbursed, repay, reversed_by_two
from tests.conftest import Database, clone_database, drop_database
from tests.integration.test_token_cli import clubfund

# What the database derives from the archived rows, compared too ($1: the fund).
DERIVED_TABLES = {
    "account_balances": "account_id",
    "daily_balances": "account_id, effective_date",
    "daily_fund_figures": "effective_date",
    "seed_grant_credits": "entry_id, line",
    "fund_months": "month",
    "audit_nodes": "level, index",
    "audit_trees": "fund_id",
}
SERVER_LOCAL = {**SERVER_LOCAL_COLUMNS, "audit_trees": ("last_feed_key",)}


@pytest.fixture
def folder() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="clubfund-archive-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
async def second_database(test_server: Any, template_database: str) -> AsyncIterator[Database]:
    """Another empty, migrated database on the same server: the target of a restore."""
    db = await clone_database(test_server, template_database)
    yield db
    await drop_database(db)


def public_key_of(signing_key: str) -> bytes:
    return public_key_raw(Ed25519PrivateKey.from_private_bytes(base64.b64decode(signing_key)))


async def export(database: Database, fund: str, out: Path, signing_key: str) -> None:
    code, printed, errors = await clubfund(database.owner_url, "export", "--fund", fund,
                                           "--out", str(out),
                                           CLUBFUND_AUDIT_SIGNING_KEY=signing_key)
    assert code == 0, errors
    assert str(out) in printed


async def fund_rows(url: str, fund_id: uuid.UUID) -> dict[str, list[dict[str, Any]]]:
    """Every row of the fund (and of its club and areas), archived or derived, by table."""
    connection = await asyncpg.connect(url, server_settings={"clubfund.all_funds": "on",
                                                             "timezone": "UTC"})
    try:
        queries = {table.name: (f"SELECT row_to_json(t)::text FROM {table.name} t"
                                f" WHERE {table.selection} ORDER BY {table.order_by}")
                   for table in ARCHIVED_TABLES}
        queries.update({name: f"SELECT row_to_json(t)::text FROM {name} t"
                              f" WHERE t.fund_id = $1 ORDER BY {order}"
                        for name, order in DERIVED_TABLES.items()})
        rows = {}
        for name, query in queries.items():
            found = [json.loads(text) for text in await connection.fetchval(
                f"SELECT coalesce(array_agg(x), '{{}}') FROM ({query}) AS q(x)", fund_id)]
            for row in found:
                for column in SERVER_LOCAL.get(name, ()):
                    row.pop(column)
            rows[name] = found
        return rows
    finally:
        await connection.close()


async def verified_against(url: str, fund_id: uuid.UUID, heads: list[dict[str, Any]],
                           keys: dict[str, bytes]) -> Any:
    connection = await connect(url)
    try:
        return await verify_log(connection, fund_id, heads, keys)
    finally:
        await connection.close()


async def signed_heads(database: Database, fund_id: uuid.UUID) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(database.owner_url,
                                       server_settings={"clubfund.all_funds": "on"})
    try:
        return [{**dict(row), "fund_id": str(row["fund_id"])} for row in await connection.fetch(
            "SELECT fund_id, tree_size, root_hash, timestamp, key_id, signature"
            " FROM audit_heads WHERE fund_id = $1 ORDER BY tree_size", fund_id)]
    finally:
        await connection.close()


async def imports_recorded(database: Database) -> list[dict[str, Any]]:
    """The data of each `archive.imported` record of the service-wide log."""
    connection = await asyncpg.connect(database.owner_url,
                                       server_settings={"clubfund.all_funds": "on"})
    try:
        return [json.loads(bytes(record))["data"] for record in await connection.fetchval(
            "SELECT coalesce(array_agg(record ORDER BY sequence), '{}') FROM audit_records"
            " WHERE fund_id = $1 AND action = 'archive.imported'", uuid.UUID(int=0))]
    finally:
        await connection.close()


async def books_of_a_club(client: Any, client_for: Any, new_token: Any) -> dict[str, Any]:
    """A club's fund through the API: seed money, January closed, two loans (one repaid
    twice, one repayment out of date order), a donation and a seed grant reversed by two
    people, an expense sent with an Idempotency-Key."""
    club = await club_with_seed_grant(client, client_for, new_token)
    fund, treasurer, chair = club["fund"], club["treasurer"], club["chair"]
    assert (await chair.post(f"/v1/funds/{fund}/periods/2026-01/close")).status_code == 201
    loans = [await disbursed(club, principal=3_000_000),
             await disbursed(club, principal=2_000_000)]
    await repay(club, loans[0], 300_000, "2026-04-05")
    await repay(club, loans[0], 280_000, "2026-03-05")
    await repay(club, loans[1], 190_000, "2026-03-06")
    donation = await treasurer.post(f"/v1/funds/{fund}/donations",
                                    json={"amount": 50_000, "effective_date": "2026-03-10"})
    assert donation.status_code == 201, donation.text
    await reversed_by_two(club, donation.json()["id"], "ghi nhầm số tiền")
    grant = await treasurer.post(f"/v1/funds/{fund}/seed-grants", json={
        "amount": 1_000_000, "source": "donor", "effective_date": "2026-03-11"})
    assert grant.status_code == 201, grant.text
    await reversed_by_two(club, grant.json()["id"], "cấp nhầm quỹ")
    expense = await treasurer.post(f"/v1/funds/{fund}/expenses",
                                   json={"amount": 20_000, "effective_date": "2026-03-12",
                                         "description": "văn phòng phẩm"},
                                   headers={"Idempotency-Key": "expense-march"})
    assert expense.status_code == 201, expense.text
    return {**club, "loans": loans, "reversed_grant": grant.json()["id"]}


@pytest.mark.slow
async def test_a_fund_comes_back_on_another_database_the_same(
    client, client_for, new_token, database, second_database, folder, audit_signing_key
):
    club = await books_of_a_club(client, client_for, new_token)
    fund_id = uuid.UUID(club["fund"])
    archive = folder / "fund.jsonl"
    await export(database, club["fund"], archive, audit_signing_key)

    code, printed, errors = await clubfund(second_database.owner_url, "import",
                                           "--archive", str(archive))
    assert code == 0, errors
    assert "log verified" in printed
    assert (f"heads signed by key {key_id_for(public_key_of(audit_signing_key))}, checked with"
            " the archive's published keys") in printed
    imported = await imports_recorded(second_database)
    assert [(r["fund_id"], r["archive_sha256"]) for r in imported] == [
        (club["fund"], hashlib.sha256(archive.read_bytes()).hexdigest())]

    original = await fund_rows(database.owner_url, fund_id)
    restored = await fund_rows(second_database.owner_url, fund_id)
    for table in ("entries", "postings", "loans", "loan_events", "loan_installments",
                  "corrections", "closed_periods", "audit_records",
                  "audit_heads", "members", "people", "areas", "daily_balances",
                  "seed_grant_credits"):
        assert original[table], f"the books hold no {table}: the test proves nothing of it"
    # A restore writes every entry before any posting: the reversed grant's credit is
    # rebuilt with its reversal's date all the same.
    reversed_on = {e["reverses_entry_id"]: e["effective_date"] for e in original["entries"]}
    assert {r["entry_id"]: r["reversed_on"] for r in original["seed_grant_credits"]
            if r["reversed_on"]} == {club["reversed_grant"]: reversed_on[club["reversed_grant"]]}
    assert len(original["seed_grant_credits"]) == 2
    assert restored == original
    heads = await signed_heads(database, fund_id)
    keys = {h["key_id"]: public_key_of(audit_signing_key) for h in heads}
    source = await verified_against(database.owner_url, fund_id, heads, keys)
    target = await verified_against(second_database.owner_url, fund_id, heads, keys)
    assert source.ok and target.ok, target.reason
    assert (target.tree_size, target.root_hash) == (source.tree_size, source.root_hash)
    assert target.heads_checked == 2 * len(heads)

    # The fund goes on at the origin; its later archive continues the restored one.
    await repay(club, club["loans"][1], 190_000, "2026-04-06")
    later = folder / "later.jsonl"
    await export(database, club["fund"], later, audit_signing_key)
    report = await import_on(second_database.owner_url, later)
    assert f"continuing its {source.tree_size} records" in report
    assert await fund_rows(second_database.owner_url, fund_id) == await fund_rows(
        database.owner_url, fund_id)

    # The earlier archive is not the restored fund's continuation any more.
    with pytest.raises(ArchiveRefused, match="not the beginning of the archive's"):
        await import_on(second_database.owner_url, archive)
    code, _, errors = await clubfund(second_database.owner_url, "import",
                                     "--archive", str(archive))
    assert code == 2 and "nothing written" in errors
    assert len(await imports_recorded(second_database)) == 2


async def counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url, server_settings={"clubfund.all_funds": "on"})
    try:
        return {table.name: int(await connection.fetchval(f"SELECT count(*) FROM {table.name}"))
                for table in ARCHIVED_TABLES}
    finally:
        await connection.close()


def rewrite_line(source: Path, target: Path, change: Any) -> None:
    """Copy an archive, each line passed through `change(line_number, line) -> line`."""
    lines = source.read_text(encoding="utf-8").splitlines()
    target.write_text("\n".join(change(n, line) for n, line in enumerate(lines, start=1))
                      + "\n", encoding="utf-8")


def first_line_of(path: Path, table: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if number > 1 and json.loads(line)["table"] == table:
            return number
    raise AssertionError(f"no {table} in {path}")


async def test_a_bad_archive_is_refused_and_nothing_is_written(
    client, client_for, new_token, database, second_database, folder, audit_signing_key
):
    club = await club_with_seed_grant(client, client_for, new_token)
    donation = await club["treasurer"].post(f"/v1/funds/{club['fund']}/donations",
                                            json={"amount": 70_000,
                                                  "effective_date": "2026-02-10"})
    assert donation.status_code == 201, donation.text
    archive = folder / "fund.jsonl"
    await export(database, club["fund"], archive, audit_signing_key)
    empty = await counts(second_database.owner_url)

    def amount_changed(number: int, line: str) -> str:
        item = json.loads(line)
        if number == first_line_of(archive, "postings") + 2:
            item["row"]["amount"] += 1
        return json.dumps(item, ensure_ascii=False)

    tampered = folder / "tampered.jsonl"
    rewrite_line(archive, tampered, amount_changed)
    with pytest.raises(ArchiveRefused, match=r"line \d+: entry .* differ from audit record"):
        await import_on(second_database.owner_url, tampered)

    def record_changed(number: int, line: str) -> str:
        item = json.loads(line)
        if item.get("table") == "audit_records":
            record = bytes.fromhex(item["row"]["record"][2:]).replace(b"70000", b"70001")
            item["row"]["record"] = "\\x" + record.hex()
        return json.dumps(item, ensure_ascii=False)

    rewritten = folder / "rewritten.jsonl"
    rewrite_line(archive, rewritten, record_changed)
    with pytest.raises(ArchiveRefused, match="does not hash to its leaf hash"):
        await import_on(second_database.owner_url, rewritten)

    def record_and_leaf_changed(number: int, line: str) -> str:
        item = json.loads(record_changed(number, line))
        if item.get("table") == "audit_records":
            record = bytes.fromhex(item["row"]["record"][2:])
            item["row"]["leaf_hash"] = "\\x" + hashlib.sha256(b"\x00" + record).hexdigest()
        return json.dumps(item, ensure_ascii=False)

    rehashed = folder / "rehashed.jsonl"
    rewrite_line(archive, rehashed, record_and_leaf_changed)
    with pytest.raises(ArchiveRefused, match=r"signed head of tree size \d+ does not match the"
                                             r" records"):
        await import_on(second_database.owner_url, rehashed)

    malformed_line = first_line_of(archive, "accounts") + 1
    malformed = folder / "malformed.jsonl"
    rewrite_line(archive, malformed,
                 lambda n, line: line[:-7] if n == malformed_line else line)
    with pytest.raises(ArchiveRefused, match=f"^line {malformed_line}: not a JSON object"):
        await import_on(second_database.owner_url, malformed)

    unknown_column = folder / "unknown-column.jsonl"

    def column_added(number: int, line: str) -> str:
        item = json.loads(line)
        if number == malformed_line:
            item["row"]["colour"] = 1
        return json.dumps(item, ensure_ascii=False)

    rewrite_line(archive, unknown_column, column_added)
    with pytest.raises(ArchiveRefused, match=f"^line {malformed_line}: a row of accounts has"
                                             " unknown colour"):
        await import_on(second_database.owner_url, unknown_column)
    assert await counts(second_database.owner_url) == empty

    # The origin holds the fund with more entries than the archive: another history.
    before = await counts(database.owner_url)
    more = await club["treasurer"].post(f"/v1/funds/{club['fund']}/donations",
                                        json={"amount": 5_000, "effective_date": "2026-02-11"})
    assert more.status_code == 201, more.text
    grown = await counts(database.owner_url)
    assert grown != before
    with pytest.raises(ArchiveRefused, match="already holds 3 entries and a log of"):
        await import_on(database.owner_url, archive)
    assert await counts(database.owner_url) == grown
