"""Audit log cost at 10^3, 10^5 and 10^6 records in one fund.

Starts a private embedded PostgreSQL (durable defaults unless --fast), migrates it,
and for each size builds one fund's log: the bulk of it through the Merkle core
(`ledger.merkle.append_leaf`, COPY into audit_records and audit_nodes, the
frontier into audit_trees), then measures, as the service role:

- append: `append_audit_record` (the one round trip every write makes), each in
  its own committed transaction, appended onto the log of that size;
- inclusion and consistency proofs: nodes read, proof size, time to serve (the
  repository read plus assembly) and to verify;
- full verification (`service.audit.verification.verify_log`) in records/s.

    .venv/bin/python bench/audit_log.py [--sizes 1000 100000 1000000] [--appends 500] [--fast]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ledger.audit_records import canonical_record, record_parts  # noqa: E402
from ledger.merkle import (  # noqa: E402
    append_leaf,
    consistency_proof,
    consistency_proof_nodes,
    inclusion_proof,
    inclusion_proof_nodes,
    root_from_frontier,
    verify_consistency,
    verify_inclusion,
)
from service import migrate  # noqa: E402
from service.audit import repository  # noqa: E402
from service.audit.verification import verify_log  # noqa: E402
from service.database import init_connection  # noqa: E402
from service.embedded import FAST_UNSAFE_SETTINGS, start_embedded  # noqa: E402

PROOFS = 200
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def sample_record(fund_id: uuid.UUID, n: int) -> dict:
    """About the size of a real `entry.posted` record (two postings)."""
    at = (BASE_TIME + timedelta(seconds=n)).isoformat()
    amount = 100_000 + n % 900_000
    return {
        "fund_id": str(fund_id), "recorded_at": at, "actor": "tok_0123456789abcdef",
        "action": "bench.appended", "request_id": uuid.UUID(int=n).hex,
        "data": {
            "id": str(uuid.UUID(int=n + 1)), "fund_id": str(fund_id), "sequence": n,
            "voucher_number": None, "effective_date": "2026-03-05", "recorded_at": at,
            "description": "Thu nợ gốc và lãi kỳ 3", "currency": "VND",
            "postings": [
                {"line": 1, "account_id": str(uuid.UUID(int=7)), "side": "debit",
                 "amount": amount, "currency": "VND"},
                {"line": 2, "account_id": str(uuid.UUID(int=8)), "side": "credit",
                 "amount": amount, "currency": "VND"},
            ],
            "metadata": {}, "reverses_entry_id": None, "actor": "tok_0123456789abcdef",
        },
    }


async def bulk_build(owner: asyncpg.Connection, fund_id: uuid.UUID, size: int) -> float:
    """Build a log of `size` records through the core; returns seconds taken."""
    import hashlib

    started = time.perf_counter()
    await owner.execute("INSERT INTO funds (id, name, currency, created_at)"
                        " VALUES ($1, $2, 'VND', now())", fund_id, f"Bench {size}")
    frontier: tuple[bytes, ...] = ()
    tree_size = 0
    batch = 50_000
    async with owner.transaction():
        for start in range(0, size, batch):
            nodes = []
            rows = []
            for n in range(start + 1, min(start + batch, size) + 1):
                record = canonical_record({**sample_record(fund_id, n), "sequence": n})
                leaf = hashlib.sha256(b"\x00" + record).digest()
                appended = append_leaf(frontier, tree_size, leaf)
                frontier, tree_size = appended.frontier, appended.tree_size
                nodes.extend((fund_id, node.level, node.index, node.hash)
                             for node in appended.new_nodes[1:])
                rows.append((fund_id, n, "bench.appended", None, record, leaf, 1))
            await owner.copy_records_to_table(
                "audit_records", records=rows,
                columns=["fund_id", "sequence", "action", "subject_id", "record", "leaf_hash",
                         "feed_key"])
            await owner.copy_records_to_table(
                "audit_nodes", records=nodes, columns=["fund_id", "level", "index", "hash"])
        await owner.execute(
            "INSERT INTO audit_trees (fund_id, tree_size, frontier, last_feed_key)"
            " VALUES ($1, $2, $3, 1)", fund_id, tree_size, list(frontier))
    seconds = time.perf_counter() - started
    # Measure appends on a settled table, not against autovacuum of the bulk load.
    await owner.execute("VACUUM ANALYZE audit_records, audit_nodes, audit_trees")
    return seconds


async def see_every_fund(connection: asyncpg.Connection) -> None:
    """Row-level security: this session sees every fund, as an admin's request does."""
    await connection.execute("SET clubfund.all_funds = 'on'")


def superuser_url(owner_url: str) -> str:
    """The embedded server's superuser, on the same database."""
    return owner_url.replace("clubfund_owner@", "postgres@", 1)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


async def measure(app_url: str, owner_url: str, size: int, appends: int) -> dict:
    fund_id = uuid.uuid4()
    # The bulk load uses COPY, which row-level security allows only to a superuser.
    owner = await asyncpg.connect(superuser_url(owner_url))
    try:
        build_seconds = await bulk_build(owner, fund_id, size)
        storage = await owner.fetchval(
            "SELECT (pg_total_relation_size('audit_records')"
            " + pg_total_relation_size('audit_nodes')) / (SELECT count(*) FROM audit_records)"
        )
        await owner.execute("CHECKPOINT")
    finally:
        await owner.close()

    app = await asyncpg.connect(app_url)
    await init_connection(app)
    await see_every_fund(app)
    try:
        # Appends: one committed transaction each, the service's own statement.
        latencies = []
        nodes_before = await app.fetchval("SELECT count(*) FROM audit_nodes WHERE fund_id = $1",
                                          fund_id)
        for n in range(appends):
            head, tail = record_parts(sample_record(fund_id, size + n + 1))
            started = time.perf_counter()
            async with app.transaction():
                await repository.append_records(app, repository.AuditRecords(
                    fund_id, ["bench.appended"], [None], [head], [tail]))
            latencies.append(time.perf_counter() - started)
        nodes_after = await app.fetchval("SELECT count(*) FROM audit_nodes WHERE fund_id = $1",
                                         fund_id)
        tree_size, frontier = await repository.get_tree(app, fund_id)
        root = root_from_frontier(tuple(frontier), tree_size)

        # Inclusion proofs of random records in the full tree.
        rng = random.Random(size)
        serve, check, lengths = [], [], []
        for _ in range(PROOFS):
            index = rng.randrange(tree_size)
            started = time.perf_counter()
            wanted = (*inclusion_proof_nodes(index, tree_size), (0, index))
            stored = await repository.get_nodes(app, fund_id, wanted)
            path = inclusion_proof(index, tree_size, stored)
            serve.append(time.perf_counter() - started)
            started = time.perf_counter()
            verify_inclusion(stored[(0, index)], index, tree_size, path, root)
            check.append(time.perf_counter() - started)
            lengths.append(len(path))

        # Consistency proofs from random earlier sizes (their roots from a fresh read).
        c_serve, c_lengths = [], []
        for _ in range(PROOFS // 4):
            first = rng.randrange(1, tree_size)
            first_root_nodes = await repository.get_nodes(
                app, fund_id, [(level, index) for level, index in _frontier_ids(first)])
            first_root = _fold([first_root_nodes[i] for i in _frontier_ids(first)])
            started = time.perf_counter()
            stored = await repository.get_nodes(app, fund_id,
                                                consistency_proof_nodes(first, tree_size))
            proof = consistency_proof(first, tree_size, stored)
            c_serve.append(time.perf_counter() - started)
            verify_consistency(first, tree_size, first_root, root, proof)
            c_lengths.append(len(proof))

        report = await verify_log(app, fund_id)
        assert report.ok, report.reason
    finally:
        await app.close()
    return {
        "size": size, "build_s": build_seconds,
        "append_ms_mean": statistics.mean(latencies) * 1000,
        "append_ms_p50": percentile(latencies, 0.5) * 1000,
        "append_ms_p99": percentile(latencies, 0.99) * 1000,
        "nodes_per_append": (nodes_after - nodes_before) / appends,
        "proof_hashes": statistics.mean(lengths), "proof_hashes_max": max(lengths),
        "proof_serve_ms": statistics.mean(serve) * 1000,
        "proof_verify_us": statistics.mean(check) * 1e6,
        "consistency_hashes": statistics.mean(c_lengths),
        "consistency_serve_ms": statistics.mean(c_serve) * 1000,
        "verify_records_per_s": report.records_per_second, "verify_s": report.seconds,
        "bytes_per_record": float(storage),
    }


def _frontier_ids(size: int) -> list[tuple[int, int]]:
    from ledger.merkle import frontier_nodes

    return list(frontier_nodes(size))


def _fold(hashes: list[bytes]) -> bytes:
    from ledger.merkle import node_hash

    result = hashes[-1]
    for piece in reversed(hashes[:-1]):
        result = node_hash(piece, result)
    return result


def print_table(results: list[dict], durable: bool) -> None:
    print()
    print(f"Audit log, one fund (PostgreSQL {'durable defaults' if durable else 'fsync off'})")
    print()
    print("| records | append mean / p50 / p99 (ms) | nodes per append | inclusion proof "
          "(hashes, mean/max) | serve proof (ms) | verify proof (µs) | consistency proof "
          "(hashes) | serve consistency (ms) | full verify (records/s) | bytes per record |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['size']:,} | {r['append_ms_mean']:.2f} / {r['append_ms_p50']:.2f} / "
              f"{r['append_ms_p99']:.2f} | {r['nodes_per_append']:.2f} | "
              f"{r['proof_hashes']:.1f} / {r['proof_hashes_max']} | {r['proof_serve_ms']:.2f} | "
              f"{r['proof_verify_us']:.0f} | {r['consistency_hashes']:.1f} | "
              f"{r['consistency_serve_ms']:.2f} | {r['verify_records_per_s']:,.0f} | "
              f"{r['bytes_per_record']:.0f} |")
    print()
    print(json.dumps(results, indent=1))


async def measure_sizes(app_url: str, owner_url: str, args: argparse.Namespace) -> list[dict]:
    results = []
    for size in args.sizes:
        result = await measure(app_url, owner_url, size, args.appends)
        print(f"{size:,} records: built in {result['build_s']:.1f} s, "
              f"append {result['append_ms_mean']:.2f} ms, "
              f"proof {result['proof_hashes']:.1f} hashes in "
              f"{result['proof_serve_ms']:.2f} ms, verify "
              f"{result['verify_records_per_s']:,.0f} records/s", flush=True)
        results.append(result)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000, 1_000_000])
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--fast", action="store_true", help="fsync off (not durable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clubfund-bench-audit-") as data_dir:
        Path(data_dir).chmod(0o755)
        db = start_embedded(Path(data_dir), settings=FAST_UNSAFE_SETTINGS if args.fast else None)
        try:
            migrate.upgrade(db.owner_url)
            results = asyncio.run(measure_sizes(db.app_url, db.owner_url, args))
            print_table(results, not args.fast)
        finally:
            db.server.cleanup()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
