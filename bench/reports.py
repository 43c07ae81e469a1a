"""Report benchmarks: statements, trial balances and the portfolio roll-up at scale.

    /work/main/.venv/bin/python bench/reports.py [--data-dir DIR] [--national-postings N]

Starts the embedded PostgreSQL (in a temporary directory, or in `--data-dir`, where
the loaded data is kept and reused by the next run), migrates a database, builds the
data with set-based SQL as the schema owner — every entry a valid balanced entry
inserted through the real triggers (balances, daily balances, the deferred balancing
check): nothing is bypassed — and prints a table of latencies with a baseline measured
in the same run. Not a test: nothing here asserts a time.

Data
    big fund: one fund, 1,000,000 entries of two postings over 2024–2026 (about 900 a
    day, 2 % backdated by two days), cash on every entry: the cash account has
    1,000,000 postings and the fund 2,000,000.
    national: 10,000 clubs (2 provinces × 10 districts × 50 communes × 10 clubs), one
    fund each with the default chart, 500 entries (1,000 postings) each over 2025–2026:
    10,000,000 postings in all.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
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
from service.database import create_pool  # noqa: E402
from service.embedded import FAST_UNSAFE_SETTINGS, EmbeddedDatabase, start_embedded  # noqa: E402
from service.settings import Settings  # noqa: E402

DATABASE = "clubfund_bench"
BIG_START = date(2024, 1, 1)
BIG_DAYS = 1096
NATIONAL_START = date(2025, 1, 1)
NATIONAL_DAYS = 730
ENTRIES_PER_FUND = 500
PROVINCES, DISTRICTS, COMMUNES, CLUBS = 2, 10, 50, 10  # per parent
CHART = [
    ("111", "Tiền mặt", "asset", False), ("112", "Tiền gửi ngân hàng", "asset", False),
    ("131", "Cho vay hội viên", "asset", True), ("4111", "Vốn ngân sách huyện", "equity", True),
    ("4112", "Vốn ngân sách xã, tỉnh", "equity", True), ("4113", "Vốn tài trợ", "equity", True),
    ("4114", "Vốn hội viên", "equity", True), ("4115", "Vốn bổ sung", "equity", True),
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

# A club fund's entry n, by n % 10: seed grant from a source 4111..4114 (Dr 111), two
# loans (Dr 131 / Cr 111), a bank deposit (Dr 112 / Cr 111), three repayments
# (Dr 111 / Cr 131), interest (Dr 111 / Cr 515), an expense (Dr 642 / Cr 111) and a
# write-off (Dr 811 / Cr 131). Cash and loans outstanding stay positive.
NATIONAL_KINDS = """
    SELECT (ARRAY['111', '131', '131', '112', '111', '111', '111', '111', '642', '811'])
               [e.sequence % 10 + 1],
           CASE WHEN e.sequence % 10 = 0 THEN '411' || (1 + (e.sequence / 10) % 4)
                ELSE (ARRAY['', '111', '111', '111', '131', '131', '131', '515', '111', '131'])
                         [e.sequence % 10 + 1] END,
           (ARRAY[2000000, 500000, 500000, 200000, 150000, 150000, 150000, 30000, 20000,
                  50000])[e.sequence % 10 + 1]
"""
NATIONAL_CHUNK_SQL = """
    WITH e AS (
        INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at, description,
                             currency, metadata, actor, hash)
        SELECT md5('fund/' || f)::uuid, gen_random_uuid(), n,
               $3::date + ((n - 1) * $4::int / $5::int), now(), 'Bench entry', 'VND',
               '{}'::jsonb, 'bench', md5(f || '/' || n)
          FROM generate_series($1::int, $2::int) AS f
         CROSS JOIN generate_series(1, $5::int) AS n
        RETURNING fund_id, id, sequence, effective_date
    )
""" + POSTINGS_FROM_E.format(kinds=NATIONAL_KINDS)


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
