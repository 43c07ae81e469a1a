"""Report benchmarks: statements, trial balances and the portfolio roll-up at scale.

    /work/main/.venv/bin/python bench/reports.py [--data-dir DIR] [--national-postings N]

Starts the embedded PostgreSQL (in a temporary directory, or in `--data-dir`, where
the loaded data is kept and reused by the next run), migrates a database, builds the
data with set-based SQL as the schema owner — every entry a valid balanced entry
inserted through the real triggers (balances, daily balances, the deferred balancing
check): nothing is bypassed — and prints a table of latencies with a baseline measured
in the same run. Not a test: nothing here asserts a time.

Data
    big fund: one fund, 1,000,000 entries of two postings from 1 January 2024 to 30
    November 2026 (about 940 a day, 2 % backdated by two days), cash on every entry:
    the cash account has 1,000,000 postings and the fund 2,000,000.
    national: 10,000 clubs (a province of 20 districts × 50 communes × 10 clubs),
    established over 2024, one fund each with the default chart, from 1 January 2025
    to 30 November 2026: 200 ledger entries (seed grants — a decision number each, by
    source; one club in twenty receives its grants as plain entries, so it still waits
    for seed money — deposits, expenses, other income) and a loan register — 30
    members and 24 loans of 12 monthly installments each, their disbursements,
    repayments (one in ten loans stops paying after three installments; a third of
    those are written off) and write-offs posted to each loan's own 131.NNNN account,
    with the loans' events and schedules. Nothing is dated after 30 November 2026, as
    in real books written by then. About 10,000,000 postings and 240,000 loans in all.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402

from service import migrate  # noqa: E402
from service.app import create_app  # noqa: E402
from service.context import BUSINESS_TIMEZONE  # noqa: E402
from service.database import create_pool  # noqa: E402
from service.embedded import FAST_UNSAFE_SETTINGS, EmbeddedDatabase, start_embedded  # noqa: E402
from service.settings import Settings  # noqa: E402

DATABASE = "clubfund_bench"
PREWARM = [
    "daily_balances", "pk_daily_balances", "daily_fund_figures", "pk_daily_fund_figures",
    "ix_postings_fund_id_account_id_effective_date_sequence", "postings", "entries",
    "pk_entries", "accounts", "pk_accounts", "account_balances", "pk_account_balances",
    "loans", "members", "funds", "clubs", "areas", "area_parents", "club_areas",
]
BIG_START = date(2024, 1, 1)
BIG_DAYS = 1065  # 2024-01-01 to 2026-11-30
NATIONAL_START = date(2025, 1, 1)
NATIONAL_DAYS = 699  # 2025-01-01 to 2026-11-30
ENTRIES_PER_FUND = 200  # ledger entries per club fund, besides its loans
LOANS_PER_FUND = 24
MEMBERS_PER_CLUB = 30
# Nothing is dated on or after this: the books end before the day they were written,
# as real books do (the service refuses later dates).
NATIONAL_END = date(2026, 12, 1)
# Reports are asked as of today at the latest: the service refuses later dates.
TODAY = datetime.now(BUSINESS_TIMEZONE).date()
PROVINCES, DISTRICTS, COMMUNES, CLUBS = 1, 20, 50, 10  # per parent
PROVINCE = "91"  # the first province's code
WAITING_EVERY = 20  # one club in twenty has had no seed money
CHART = [
    ("111", "Tiền mặt", "asset", False), ("112", "Tiền gửi ngân hàng", "asset", False),
    ("131", "Cho vay hội viên", "asset", True), ("4111", "Vốn ngân sách huyện", "equity", True),
    ("4112", "Vốn ngân sách xã, tỉnh", "equity", True), ("4113", "Vốn tài trợ", "equity", True),
    ("4114", "Vốn hội viên", "equity", True), ("4118", "Thặng dư giữ lại", "equity", True),
    ("515", "Thu lãi cho vay", "income", True), ("642", "Chi phí hoạt động", "expense", True),
    ("711", "Thu nhập khác", "income", True), ("811", "Xóa nợ", "expense", True),
]


def md5_uuid(text: str) -> uuid.UUID:
    """The id the loader's SQL gives (`md5(text)::uuid`), so Python can name rows."""
    return uuid.UUID(hashlib.md5(text.encode()).hexdigest())


def fund_id(name: str) -> uuid.UUID:
    return md5_uuid(f"fund/{name}")


def account_id(fund: uuid.UUID, code: str) -> uuid.UUID:
    return md5_uuid(f"{fund}/{code}")


BIG_FUND = fund_id("big")


# --- loading -------------------------------------------------------------------------

FUNDS_SQL = """
    INSERT INTO funds (id, name, currency, created_at, club_id)
    SELECT md5('fund/' || f)::uuid, 'Quỹ ' || f, 'VND', now(),
           CASE WHEN $2::bool THEN md5('club/' || f)::uuid END
      FROM unnest($1::text[]) AS f
"""
ACCOUNTS_SQL = """
    INSERT INTO accounts (fund_id, id, code, name, type, normal_side, allow_negative,
                          currency, created_at)
    SELECT md5('fund/' || f)::uuid, md5(md5('fund/' || f)::uuid::text || '/' || c.code)::uuid,
           c.code, c.name, c.type,
           CASE WHEN c.type IN ('asset', 'expense') THEN 'debit' ELSE 'credit' END,
           c.allow_negative, 'VND', now()
      FROM unnest($1::text[]) AS f
     CROSS JOIN unnest($2::text[], $3::text[], $4::text[], $5::bool[])
           AS c(code, name, type, allow_negative)
"""


async def create_funds(connection: asyncpg.Connection, names: list[str], clubs: bool) -> None:
    await connection.execute(FUNDS_SQL, names, clubs)
    await connection.execute(ACCOUNTS_SQL, names, *(list(c) for c in zip(*CHART, strict=True)))


# The account of a posting: md5(fund_id || '/' || code), as in ACCOUNTS_SQL.
POSTINGS_FROM_E = """
    INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,
                          effective_date, sequence)
    SELECT e.fund_id, e.id, l.line,
           md5(e.fund_id::text || '/' || CASE l.line WHEN 1 THEN k.debit ELSE k.credit END)::uuid,
           CASE l.line WHEN 1 THEN 'debit' ELSE 'credit' END,
           k.amount, 'VND', e.effective_date, e.sequence
      FROM e
     CROSS JOIN LATERAL ({kinds}) AS k(debit, credit, amount)
     CROSS JOIN (VALUES (1::smallint), (2::smallint)) AS l(line)
"""

# Big fund: entry n of kind n % 4 — grant (Dr 111 / Cr 4111), loan (Dr 131 / Cr 111),
# interest (Dr 111 / Cr 515), expense (Dr 642 / Cr 111); 2 % dated two days back.
BIG_KINDS = """
    SELECT (ARRAY['111', '131', '111', '642'])[e.sequence % 4 + 1],
           (ARRAY['4111', '111', '515', '111'])[e.sequence % 4 + 1],
           (ARRAY[1000000 + (e.sequence * 7919) % 1000 * 1000, 300000 + e.sequence % 97 * 1000,
                  50000 + e.sequence % 1000, 100000 + e.sequence % 500])[e.sequence % 4 + 1]
"""
BIG_CHUNK_SQL = """
    WITH e AS (
        INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at, description,
                             currency, metadata, actor, hash)
        SELECT $1, gen_random_uuid(), n,
               $4::date + ((n - 1) * $5::bigint / $6::bigint)::int
                   - CASE WHEN n % 50 = 0 THEN 2 ELSE 0 END,
               now(), 'Bench entry ' || n, 'VND', '{}'::jsonb, 'bench', md5(n::text)
          FROM generate_series($2::bigint, $3::bigint) AS n
        RETURNING fund_id, id, sequence, effective_date
    )
""" + POSTINGS_FROM_E.format(kinds=BIG_KINDS)

# A club fund's ledger entry n, by n % 5: a grant from a source 4111..4114 (Dr 111),
# a bank deposit (Dr 112 / Cr 111), an expense (Dr 642 / Cr 111), other income
# (Dr 111 / Cr 711) and a smaller expense. Its loans are posted by LOANS_SQL.
NATIONAL_KINDS = """
    SELECT (ARRAY['111', '112', '642', '111', '642'])[e.sequence % 5 + 1],
           CASE WHEN e.sequence % 5 = 0 THEN '411' || (1 + (e.sequence / 5) % 4)
                ELSE (ARRAY['', '111', '111', '711', '111'])[e.sequence % 5 + 1] END,
           (ARRAY[5000000, 200000, 50000, 30000, 20000])[e.sequence % 5 + 1]
"""
NATIONAL_CHUNK_SQL = """
    WITH e AS (
        INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at, description,
                             currency, metadata, actor, hash)
        SELECT md5('fund/' || f)::uuid, gen_random_uuid(), n,
               $3::date + ((n - 1) * $4::int / $5::int), now(), 'Bench entry', 'VND',
               CASE WHEN n % 5 = 0 AND f % $6::int <> 0 THEN jsonb_build_object(
                   'operation', 'seed_grant',
                   'source', (ARRAY['district_budget', 'commune_budget', 'donor',
                                    'members'])[1 + (n / 5) % 4],
                   'decision_number', n || '/QĐ-UBND')
               ELSE '{}'::jsonb END,
               'bench', md5(f || '/' || n)
          FROM generate_series($1::int, $2::int) AS f
         CROSS JOIN generate_series(1, $5::int) AS n
        RETURNING fund_id, id, sequence, effective_date
    )
""" + POSTINGS_FROM_E.format(kinds=NATIONAL_KINDS)


# The loan register of funds $1..$2: loan j of fund f lends 600,000 × (1 + j % 5) on
# day (j − 1) × 30 from $3, repaid in 12 installments due every 30 days (principal
# P / 12, flat interest P / 100). When (f + j) % 10 = 0 the borrower stops after three
# installments, and loans 1..8 among those are written off 300 days after disbursement.
LOANS_CTE = """
    WITH loan AS (
        SELECT f, md5('fund/' || f)::uuid AS fund_id, j,
               md5('loan/' || f || '/' || j)::uuid AS loan_id,
               md5(md5('fund/' || f)::uuid::text || '/131.' || lpad(j::text, 4, '0'))::uuid
                   AS account_id,
               md5('member/' || f || '/' || (j % $5 + 1))::uuid AS member_id,
               600000 * (1 + j % 5) AS principal, $3::date + (j - 1) * 30 AS disbursed_on,
               CASE WHEN (f + j) % 10 = 0 THEN 3 ELSE 12 END AS paying,
               (f + j) % 10 = 0 AND j <= 8 AS written_off
          FROM generate_series($1::int, $2::int) AS f
         CROSS JOIN generate_series(1, $6::int) AS j
    ),
    event AS (
        SELECT loan.*, 'disbursed' AS kind, 0 AS i, disbursed_on AS day FROM loan
        UNION ALL
        SELECT loan.*, 'repayment', i, disbursed_on + 30 * i FROM loan
         CROSS JOIN generate_series(1, 12) AS i
         WHERE i <= paying AND disbursed_on + 30 * i < $4::date
        UNION ALL
        SELECT loan.*, 'written_off', 13, disbursed_on + 300 FROM loan WHERE written_off
    ),
    numbered AS (
        SELECT event.*, md5('entry/' || f || '/' || j || '/' || i)::uuid AS entry_id,
               $7::int + row_number() OVER (PARTITION BY f ORDER BY day, j, i) AS sequence,
               count(*) FILTER (WHERE kind = 'repayment')
                   OVER (PARTITION BY f, j ORDER BY i) AS repayments_so_far
          FROM event
    )
"""
LOAN_MEMBERS_SQL = """
    INSERT INTO members (id, club_id, name, gender, birth_year, status, joined_on, created_at)
    SELECT md5('member/' || f || '/' || k)::uuid, md5('club/' || f)::uuid,
           'Thành viên ' || k, CASE WHEN k % 3 = 0 THEN 'male' ELSE 'female' END,
           1940 + (k * 7 + f) % 40, 'active', '2024-12-01', now()
      FROM generate_series($1::int, $2::int) AS f CROSS JOIN generate_series(1, $3::int) AS k
"""
LOAN_ACCOUNTS_SQL = """
    INSERT INTO accounts (fund_id, id, code, name, type, normal_side, allow_negative,
                          currency, created_at)
    SELECT md5('fund/' || f)::uuid,
           md5(md5('fund/' || f)::uuid::text || '/131.' || lpad(j::text, 4, '0'))::uuid,
           '131.' || lpad(j::text, 4, '0'), 'Cho vay thành viên — khoản vay số ' || j,
           'asset', 'debit', false, 'VND', now()
      FROM generate_series($1::int, $2::int) AS f CROSS JOIN generate_series(1, $3::int) AS j
"""
LOANS_ROWS_SQL = LOANS_CTE + """
    INSERT INTO loans (fund_id, id, number, member_id, status, principal, installments,
                       frequency, interest_method, amortization, rate_per_period, day_count,
                       grace_periods, rounding_unit, penalty_rate_per_day, first_due_date,
                       applied_on, applied_by, approved_by, disbursed_on, account_id,
                       outstanding_principal, closed_on, events_count, created_at,
                       updated_at)
    SELECT loan.fund_id, loan_id, j, member_id,
           CASE WHEN written_off THEN 'written_off'
                WHEN paid.count = 12 THEN 'repaid' ELSE 'disbursed' END,
           principal, 12, 'monthly', 'flat', 'equal_installments', 0.01, 'per_period', 0, 1,
           0, disbursed_on + 30, disbursed_on, 'bench', 'bench-chair', disbursed_on,
           account_id,
           CASE WHEN written_off THEN 0 ELSE principal - paid.count * principal / 12 END,
           CASE WHEN written_off THEN disbursed_on + 300
                WHEN paid.count = 12 THEN disbursed_on + 360 END,
           3 + paid.count + written_off::int, now(), now()
      FROM loan
     CROSS JOIN LATERAL (
         SELECT count(*)::int AS count FROM event
          WHERE event.f = loan.f AND event.j = loan.j AND event.kind = 'repayment'
     ) AS paid
"""
LOAN_ENTRIES_SQL = LOANS_CTE + """,
    e AS (
        INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at, description,
                             currency, metadata, actor, hash)
        SELECT fund_id, entry_id, sequence, day, now(), 'Khoản vay ' || j || ': ' || kind,
               'VND', jsonb_build_object('loan_id', loan_id), 'bench',
               md5(entry_id::text)
          FROM numbered
        RETURNING fund_id, id, sequence, effective_date
    )
    INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,
                          effective_date, sequence)
    SELECT e.fund_id, e.id, l.line,
           CASE l.code WHEN 'loan' THEN n.account_id
                ELSE md5(e.fund_id::text || '/' || l.code)::uuid END,
           l.side, l.amount, 'VND', e.effective_date, e.sequence
      FROM e
      JOIN numbered n ON n.fund_id = e.fund_id AND n.sequence = e.sequence
     CROSS JOIN LATERAL (
         SELECT * FROM (VALUES
             ('disbursed', 1::smallint, 'loan', 'debit', n.principal),
             ('disbursed', 2::smallint, '111', 'credit', n.principal),
             ('repayment', 1::smallint, '111', 'debit', n.principal / 12 + n.principal / 100),
             ('repayment', 2::smallint, 'loan', 'credit', n.principal / 12),
             ('repayment', 3::smallint, '515', 'credit', n.principal / 100),
             ('written_off', 1::smallint, '811', 'debit', n.principal - 3 * (n.principal / 12)),
             ('written_off', 2::smallint, 'loan', 'credit',
              n.principal - 3 * (n.principal / 12))
         ) AS v(kind, line, code, side, amount)
          WHERE v.kind = n.kind
     ) AS l
"""
LOAN_EVENTS_SQL = LOANS_CTE + """
    INSERT INTO loan_events (fund_id, loan_id, sequence, kind, effective_date, recorded_at,
                             actor, entry_id, data, penalty, interest, principal)
    SELECT fund_id, loan_id, s, k, disbursed_on, now(), 'bench', NULL, '{}'::jsonb, 0, 0, 0
      FROM loan CROSS JOIN (VALUES (1, 'applied'), (2, 'approved')) AS x(s, k)
    UNION ALL
    SELECT fund_id, loan_id, 3 + (kind <> 'disbursed')::int * repayments_so_far
               + (kind = 'written_off')::int,
           kind, day, now(), 'bench', entry_id,
           CASE kind
               WHEN 'repayment' THEN jsonb_build_object(
                   'amount', principal / 12 + principal / 100)
               WHEN 'disbursed' THEN jsonb_build_object('amount', principal)
               ELSE jsonb_build_object('amount', principal - 3 * (principal / 12))
           END,
           0, CASE kind WHEN 'repayment' THEN principal / 100 ELSE 0 END,
           CASE kind WHEN 'repayment' THEN principal / 12 ELSE 0 END
      FROM numbered
"""
LOAN_INSTALLMENTS_SQL = LOANS_CTE + """
    INSERT INTO loan_installments (fund_id, loan_id, disbursement, number, due_date, principal,
                                   interest)
    SELECT fund_id, loan_id, 3, i, disbursed_on + 30 * i, principal / 12, principal / 100
      FROM loan CROSS JOIN generate_series(1, 12) AS i
"""


async def load_loan_register(connection: asyncpg.Connection, first: int, last: int) -> None:
    """The members, loans, loan entries, events and schedules of funds first..last (in
    the caller's transaction, after the funds' ledger entries: their grants fund the
    loans)."""
    loans = (first, last, NATIONAL_START, NATIONAL_END, MEMBERS_PER_CLUB, LOANS_PER_FUND,
             ENTRIES_PER_FUND)
    await connection.execute(LOAN_MEMBERS_SQL, first, last, MEMBERS_PER_CLUB)
    await connection.execute(LOAN_ACCOUNTS_SQL, first, last, LOANS_PER_FUND)
    await connection.execute(LOANS_ROWS_SQL, *loans)
    await connection.execute(LOAN_ENTRIES_SQL, *loans)
    await connection.execute(LOAN_INSTALLMENTS_SQL, *loans)
    await connection.execute(LOAN_EVENTS_SQL, *loans)


async def load_big_fund(connection: asyncpg.Connection, entries: int, chunk: int) -> float:
    started = time.perf_counter()
    await create_funds(connection, ["big"], clubs=False)
    for first in range(1, entries + 1, chunk):
        last = min(first + chunk - 1, entries)
        async with connection.transaction():
            await connection.execute(BIG_CHUNK_SQL, BIG_FUND, first, last, BIG_START,
                                     BIG_DAYS, entries)
        print(f"  big fund: {last:,} of {entries:,} entries", flush=True, end="\r")
    await connection.execute("UPDATE funds SET entry_count = $2 WHERE id = $1", BIG_FUND,
                             entries)
    print()
    return time.perf_counter() - started


AREAS_SQL = """
    INSERT INTO areas (code, name, level, valid_from, created_at)
    SELECT code, name, level, '2020-01-01', now()
      FROM unnest($1::text[], $2::text[], $3::text[]) AS a(code, name, level);
"""


def area_rows() -> tuple[list[tuple[str, str, str, str | None]], list[str]]:
    """(code, name, level, parent) of every area, and each club's commune in order."""
    rows: list[tuple[str, str, str, str | None]] = []
    communes: list[str] = []
    for p in range(1, PROVINCES + 1):
        province = f"9{p}"
        rows.append((province, f"Tỉnh {p}", "province", None))
        for d in range(1, DISTRICTS + 1):
            district = f"{province}{d:02d}"
            rows.append((district, f"Huyện {p}.{d}", "district", province))
            for c in range(1, COMMUNES + 1):
                commune = f"{district}{c:03d}"
                rows.append((commune, f"Xã {p}.{d}.{c}", "commune", district))
                communes.extend([commune] * CLUBS)
    return rows, communes


async def load_national(url: str, funds: int, chunk_funds: int) -> float:
    started = time.perf_counter()
    connection = await connect(url)
    try:
        async with connection.transaction():
            rows, communes = area_rows()
            columns = [list(c) for c in zip(*rows, strict=True)]
            await connection.execute(AREAS_SQL, *columns[:3])
            await connection.execute(
                "INSERT INTO area_parents (code, valid_from, parent_code)"
                " SELECT code, '2020-01-01', parent FROM unnest($1::text[], $2::text[])"
                " AS a(code, parent)",
                [r[0] for r in rows], [r[3] for r in rows],
            )
            names = [str(n) for n in range(1, funds + 1)]
            await connection.execute(
                "INSERT INTO clubs (id, name, area_code, created_at)"
                " SELECT md5('club/' || f)::uuid, 'CLB ' || f, c, now()"
                " FROM unnest($1::text[], $2::text[]) AS x(f, c)",
                names, [communes[n % len(communes)] for n in range(funds)],
            )
            await connection.execute(
                "INSERT INTO club_areas (club_id, valid_from, area_code)"
                " SELECT id, '2024-01-01'::date + (hashtext(id::text) & 1023) % 366, area_code"
                " FROM clubs")
            await create_funds(connection, names, clubs=True)
    finally:
        await connection.close()
    chunks = [(first, min(first + chunk_funds - 1, funds))
              for first in range(1, funds + 1, chunk_funds)]
    done = 0

    async def worker() -> None:
        nonlocal done
        worker_connection = await connect(url)
        try:
            while chunks:
                first, last = chunks.pop(0)
                async with worker_connection.transaction():
                    await worker_connection.execute(
                        NATIONAL_CHUNK_SQL, first, last, NATIONAL_START, NATIONAL_DAYS,
                        ENTRIES_PER_FUND, WAITING_EVERY,
                    )
                    await load_loan_register(worker_connection, first, last)
                done += last - first + 1
                print(f"  national: {done:,} of {funds:,} funds", flush=True, end="\r")
        finally:
            await worker_connection.close()

    await asyncio.gather(worker(), worker())  # two cores: two loaders
    connection = await connect(url)
    try:
        await connection.execute(
            "UPDATE funds f SET entry_count = (SELECT max(sequence) FROM entries e"
            " WHERE e.fund_id = f.id) WHERE club_id IS NOT NULL")
    finally:
        await connection.close()
    print()
    return time.perf_counter() - started


async def connect(url: str) -> asyncpg.Connection:
    """The schema owner, seeing every fund (row-level security binds the owner too)."""
    return await asyncpg.connect(url, server_settings={"clubfund.all_funds": "on"})


# --- measuring ---------------------------------------------------------------------------


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def timed(
    runs: int, action: Callable[[int], Awaitable[Any]]
) -> list[float]:
    """Milliseconds of each run (after a few warm-up runs)."""
    for n in range(max(3, runs // 10)):
        await action(-1 - n)
    samples = []
    for n in range(runs):
        started = time.perf_counter()
        await action(n)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def timed_pair(
    runs: int, first: Callable[[int], Awaitable[Any]], second: Callable[[int], Awaitable[Any]]
) -> tuple[list[float], list[float]]:
    """Both actions, run by turns (same cache state for each): milliseconds of each."""
    for n in range(max(3, runs // 10)):
        await first(-1 - n)
        await second(-1 - n)
    samples: tuple[list[float], list[float]] = ([], [])
    for n in range(runs):
        for action, into in ((first, samples[0]), (second, samples[1])):
            started = time.perf_counter()
            await action(n)
            into.append((time.perf_counter() - started) * 1000)
    return samples


class Results:
    def __init__(self) -> None:
        self.rows: list[tuple[str, int, float, float, str]] = []

    def add(self, name: str, samples: list[float], baseline: list[float] | None = None,
            note: str = "") -> None:
        p50, p99 = statistics.median(samples), percentile(samples, 0.99)
        if baseline:
            note = (f"{p50 / statistics.median(baseline):.1f}× baseline p50"
                    + (f"; {note}" if note else ""))
        self.rows.append((name, len(samples), p50, p99, note))
        print(f"  {name}: p50 {p50:.2f} ms, p99 {p99:.2f} ms {note}", flush=True)

    def table(self) -> str:
        lines = ["| measurement | runs | p50 ms | p99 ms | note |", "|---|---:|---:|---:|---|"]
        lines += [f"| {name} | {runs} | {p50:.2f} | {p99:.2f} | {note} |"
                  for name, runs, p50, p99, note in self.rows]
        return "\n".join(lines)


def pgbench_select_only(db: EmbeddedDatabase, seconds: int) -> tuple[float, float]:
    """(tps, mean latency ms) of pgbench's built-in select-only script, 2 clients."""
    db.psql("DROP DATABASE IF EXISTS pgbench", "CREATE DATABASE pgbench")
    url = db.url("postgres", "pgbench")
    subprocess.run([str(db.bin_path("pgbench")), "-i", "-q", "-s", "10", url], check=True,
                   capture_output=True)
    output = subprocess.run(
        [str(db.bin_path("pgbench")), "-n", "-S", "-c", "2", "-j", "2", "-T", str(seconds),
         url], check=True, capture_output=True, text=True,
    ).stdout
    tps = float(output.split("tps = ")[1].split()[0])
    latency = float(output.split("latency average = ")[1].split()[0])
    return tps, latency


async def measure(db: EmbeddedDatabase, args: argparse.Namespace) -> Results:
    from service.pagination import encode_cursor
    from service.people.schemas import PersonCreate
    from service.programme import repository as programme_repository
    from service.reports import repository
    from service.tokens.service import issue_token_to_new_person

    results = Results()
    rng = random.Random(7)
    owner = await connect(db.owner_url)
    async with owner.transaction():
        created = await issue_token_to_new_person(
            owner, PersonCreate(name="bench", role="admin"), created_by="bench",
            now=datetime.now(UTC),
        )
    pool = await create_pool(db.app_url, min_size=2, max_size=4)
    app = create_app(Settings(database_url="postgresql://unused"), pool=pool)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                             headers={"Authorization": f"Bearer {created.token}"})
    cash = account_id(BIG_FUND, "111")
    postings = await owner.fetchval(
        "SELECT postings_count FROM account_balances WHERE fund_id = $1 AND account_id = $2",
        BIG_FUND, cash)
    fund_postings = await owner.fetchval(
        "SELECT sum(postings_count)::bigint FROM account_balances WHERE fund_id = $1", BIG_FUND)
    print(f"big fund: cash has {postings:,} postings, the fund {fund_postings:,}")

    def random_day(start: date, days: int) -> date:
        """A day of the `days` from `start`, not after today (the service refuses later)."""
        return start + timedelta(days=rng.randrange(min(days, (TODAY - start).days + 1)))

    def year_from(start: date) -> date:
        return min(start + timedelta(365), TODAY)

    # Statements: the first page of a year from a random day; a page at a random cursor.
    async def statement_page(_: int) -> None:
        start = random_day(BIG_START, BIG_DAYS - 365)
        response = await http.get(f"/v1/accounts/{cash}/statement",
                                  params={"from": str(start), "to": str(year_from(start))})
        assert response.status_code == 200 and len(response.json()["items"]) == 50

    cursors = []
    for _ in range(args.samples + 2):
        start = random_day(BIG_START, BIG_DAYS - 365)
        position = await owner.fetchrow(
            "SELECT effective_date, sequence, line FROM postings WHERE fund_id = $1"
            " AND account_id = $2 AND effective_date >= $3 ORDER BY effective_date, sequence"
            " LIMIT 1 OFFSET $4", BIG_FUND, cash, start, rng.randrange(min(100_000,
                                                                            postings // 4)))
        cursors.append((start, encode_cursor(
            [position[0].isoformat(), position[1], position[2]])))

    async def statement_cursor(n: int) -> None:
        start, cursor = cursors[n]
        response = await http.get(f"/v1/accounts/{cash}/statement", params={
            "from": str(start), "to": str(year_from(start)), "cursor": cursor})
        assert response.status_code == 200 and len(response.json()["items"]) == 50

    async def statement_sql(_: int) -> None:
        start = random_day(BIG_START, BIG_DAYS - 365)
        rows = await repository.statement_page(
            owner, fund_id=BIG_FUND, account_id=cash, start=start,
            end=year_from(start), after=(start, 0, 0), limit=51)
        assert len(rows) == 51

    async def plain_select(_: int) -> None:
        start = random_day(BIG_START, BIG_DAYS - 365)
        rows = await owner.fetch(
            "SELECT p.effective_date, p.sequence, p.line, p.side, p.amount, e.voucher_number,"
            " e.description FROM postings p JOIN entries e ON e.fund_id = p.fund_id"
            " AND e.id = p.entry_id WHERE p.fund_id = $1 AND p.account_id = $2"
            " AND p.effective_date >= $3 ORDER BY p.effective_date, p.sequence, p.line"
            " LIMIT 51", BIG_FUND, cash, start)
        assert len(rows) == 51

    async def naive_opening(_: int) -> None:
        start = random_day(BIG_START, BIG_DAYS)
        await owner.fetchval(
            "SELECT sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) FROM postings"
            " WHERE fund_id = $1 AND account_id = $2 AND effective_date < $3",
            BIG_FUND, cash, start)

    print("measuring statements", flush=True)
    baseline, page_http = await timed_pair(args.samples, plain_select, statement_page)
    results.add(f"baseline: plain indexed SELECT of 51 statement rows ({postings:,} postings)",
                baseline)
    results.add("statement, first page (HTTP, 50 lines)", page_http, baseline)
    results.add("statement, page at a random cursor (HTTP)", await timed(args.samples,
                statement_cursor), baseline)
    results.add("statement page SQL alone (one statement)", await timed(args.samples,
                statement_sql), baseline)
    results.add("for comparison: opening balance summed from postings", await timed(
        10, naive_opening), baseline, "what daily_balances avoids")

    # Trial balance as of a random date over the big fund.
    async def trial_balance(_: int) -> None:
        day = random_day(BIG_START, BIG_DAYS)
        response = await http.get(f"/v1/funds/{BIG_FUND}/trial-balance",
                                  params={"as_of": str(day)})
        assert response.status_code == 200 and response.json()["balanced"]

    async def current_balances(_: int) -> None:
        await owner.fetch("SELECT * FROM account_balances WHERE fund_id = $1", BIG_FUND)

    async def naive_trial_balance(_: int) -> None:
        await owner.fetch(
            "SELECT account_id, sum(amount) FILTER (WHERE side = 'debit'),"
            " sum(amount) FILTER (WHERE side = 'credit') FROM postings"
            " WHERE fund_id = $1 AND effective_date <= $2 GROUP BY account_id",
            BIG_FUND, random_day(BIG_START, BIG_DAYS))

    print("measuring trial balances", flush=True)
    baseline, trial_http = await timed_pair(args.samples, current_balances, trial_balance)
    results.add("baseline: plain SELECT of the fund's current balances", baseline)
    results.add(f"trial balance as of a random date (HTTP, {fund_postings:,} postings)",
                trial_http, baseline)
    results.add("for comparison: trial balance summed from postings", await timed(
        3, naive_trial_balance), baseline, "what daily_balances avoids")

    # Portfolio over every club.
    clubs = await owner.fetchval("SELECT count(*) FROM clubs")
    national = await owner.fetchval(
        "SELECT sum(b.postings_count)::bigint FROM account_balances b"
        " JOIN funds f ON f.id = b.fund_id WHERE f.club_id IS NOT NULL")
    loans = await owner.fetchval("SELECT count(*) FROM loans")
    print(f"national: {clubs:,} clubs, {national:,} postings, {loans:,} loans;"
          " measuring the portfolio", flush=True)

    def read_in_full(response: httpx.Response, run: int, items_min: int) -> None:
        """A report's answer as its client receives it: the clock stops at its last
        byte. Its JSON (15 MB for a province) is parsed and checked on the warm-up runs
        only (`run` < 0), so that the client's own parsing, in this process, is not
        counted as the service's time."""
        assert response.status_code == 200, response.text
        if run < 0:
            body = response.json()
            assert len(body["items"]) > items_min
            assert "waiting" not in body or body["waiting"]  # the programme: clubs wait

    async def portfolio(run: int) -> None:
        day = random_day(NATIONAL_START, NATIONAL_DAYS)
        response = await http.get("/v1/reports/portfolio", params={"as_of": str(day)})
        read_in_full(response, run, clubs)

    last_day = min(NATIONAL_START + timedelta(days=NATIONAL_DAYS - 1), TODAY)
    disbursed = await owner.fetchval("SELECT count(*) FROM loans WHERE disbursed_on <= $1",
                                     last_day)

    async def portfolio_last_day(run: int) -> None:
        response = await http.get("/v1/reports/portfolio", params={"as_of": str(last_day)})
        read_in_full(response, run, clubs)

    def portfolio_sql(two_connections: bool) -> Callable[[int], Awaitable[None]]:
        async def run(_: int) -> None:
            day = random_day(NATIONAL_START, NATIONAL_DAYS)
            codes = [r[0] for r in await repository.area_tree(owner, None, day)]
            club_ids = [r["id"] for r in await repository.clubs_in(owner, codes, day, None)]
            async with owner.transaction():
                figures = await repository.portfolio_figures(
                    owner, pool if two_connections else None, club_ids,
                    date(day.year, 1, 1), day, 30, 60, None)
            assert len(figures) == len(club_ids)
        return run

    async def portfolio_baseline(_: int) -> None:
        await owner.fetch(
            "SELECT c.id, a.code, b.debits, b.credits FROM clubs c"
            " JOIN funds f ON f.club_id = c.id JOIN accounts a ON a.fund_id = f.id"
            " JOIN account_balances b ON b.fund_id = a.fund_id AND b.account_id = a.id")

    baseline, portfolio_http = await timed_pair(args.portfolio_samples, portfolio_baseline,
                                                portfolio)
    results.add("baseline: plain SELECT of every club account's current balance", baseline)
    results.add(f"portfolio of {clubs:,} clubs as of a random date (HTTP)", portfolio_http,
                baseline)
    results.add(f"portfolio as of {last_day}, {disbursed:,} of {loans:,} loans disbursed (HTTP)",
                await timed(args.portfolio_samples, portfolio_last_day), baseline)
    results.add("portfolio figures SQL alone, one statement", await timed(
        args.portfolio_samples, portfolio_sql(False)), baseline)
    results.add("portfolio figures SQL alone, two connections of one snapshot", await timed(
        args.portfolio_samples, portfolio_sql(True)), baseline)

    # The programme report of the province, for a past year and the current one.
    print("measuring the programme report", flush=True)
    province_ids = [r["id"] for r in await repository.clubs_in(
        owner, [r[0] for r in await repository.area_tree(owner, PROVINCE, NATIONAL_END)],
        NATIONAL_END, None)]
    province_clubs = len(province_ids)

    def programme(year: int, export: str = "json") -> Callable[[int], Awaitable[None]]:
        async def run(n: int) -> None:
            response = await http.get("/v1/reports/programme", params={
                "area": PROVINCE, "year": str(year), "format": export})
            if export == "json":
                read_in_full(response, n, province_clubs)
            else:
                assert response.status_code == 200, response.text
        return run

    for year in (NATIONAL_START.year, NATIONAL_START.year + 1):
        results.add(f"programme of a province of {province_clubs:,} clubs, {year} (HTTP)",
                    await timed(args.portfolio_samples, programme(year)), baseline)

    async def programme_sql_one_statement(_: int) -> None:
        """The programme's figures as one statement: what a report reads when the pool
        has not two connections free."""
        year = NATIONAL_START.year
        async with owner.transaction():
            figures = await programme_repository.programme_figures(
                owner, None, province_ids, date(year, 1, 1), date(year, 12, 31), 30, 60, None)
        assert len(figures.programme) == len(province_ids)

    results.add(f"programme figures SQL alone, {NATIONAL_START.year}, one statement",
                await timed(max(args.portfolio_samples // 3, 1), programme_sql_one_statement),
                baseline, "when two connections are not free")
    results.add(f"programme, {NATIONAL_START.year}, as the committee's XLSX (HTTP)",
                await timed(max(args.portfolio_samples // 3, 1),
                            programme(NATIONAL_START.year, "xlsx")), baseline)
    await http.aclose()
    await pool.close()
    await owner.close()
    return results


async def load(db: EmbeddedDatabase, args: argparse.Namespace) -> None:
    owner = await connect(db.owner_url)
    try:
        big = await owner.fetchval("SELECT entry_count FROM funds WHERE id = $1", BIG_FUND)
        clubs = await owner.fetchval("SELECT count(*) FROM clubs")
    finally:
        await owner.close()
    if big is None:
        print(f"loading the big fund: {args.big_entries:,} entries", flush=True)
        owner = await connect(db.owner_url)
        try:
            seconds = await load_big_fund(owner, args.big_entries, 50_000)
        finally:
            await owner.close()
        print(f"  {args.big_entries * 2 / seconds:,.0f} postings/s through the triggers")
    if clubs == 0 and args.funds:
        print(f"loading {args.funds:,} club funds with {LOANS_PER_FUND} loans each", flush=True)
        seconds = await load_national(db.owner_url, args.funds, 100)
        print(f"  {seconds:,.0f} s, two loaders")
    owner = await connect(db.owner_url)
    try:
        # What autovacuum does on a live server: statistics, and the visibility map
        # that lets balance probes be index-only.
        await owner.execute("VACUUM (ANALYZE)")
    finally:
        await owner.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="keep (and reuse) the loaded cluster here")
    parser.add_argument("--big-entries", type=int, default=1_000_000)
    parser.add_argument("--funds", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--portfolio-samples", type=int, default=10)
    parser.add_argument("--pgbench-seconds", type=int, default=10)
    parser.add_argument("--shared-buffers", default="6GB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="clubfund-bench-") as scratch:
        data_dir = args.data_dir or Path(scratch)
        data_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(data_dir, 0o755)
        # A national server is sized like one: a quarter of this machine's memory as
        # shared buffers (the default 128 MB is for a laptop), room for sorts.
        settings = {**FAST_UNSAFE_SETTINGS, "shared_buffers": args.shared_buffers,
                    "effective_cache_size": "16GB", "work_mem": "64MB"}
        db = start_embedded(data_dir, database=DATABASE, settings=settings)
        db.server.cleanup()  # type: ignore[attr-defined]  # shared_buffers takes a restart
        db = start_embedded(data_dir, database=DATABASE)
        # The restart emptied the buffers: read the relations the reports use back in,
        # as a server that has been answering reports would hold them.
        db.psql("CREATE EXTENSION IF NOT EXISTS pg_prewarm", database=DATABASE)
        db.psql("SELECT sum(pg_prewarm(c.oid)) FROM pg_class c WHERE c.relname = ANY(ARRAY["
                + ", ".join(f"'{name}'" for name in PREWARM) + "])", database=DATABASE)
        print("server:", ", ".join(
            f"{name} {db.psql(f'SHOW {name}').strip()}" for name in settings), flush=True)
        migrate.upgrade(db.owner_url)
        asyncio.run(load(db, args))
        results = asyncio.run(measure(db, args))
        tps, latency = pgbench_select_only(db, args.pgbench_seconds)
        print()
        print(results.table())
        print()
        print(f"pgbench select-only on the same server (scale 10, 2 clients): {tps:,.0f} tps,"
              f" {latency:.3f} ms average latency")
    return 0


if __name__ == "__main__":
    sys.exit(main())
