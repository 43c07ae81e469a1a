"""`daily_balances` is derived from the postings by a trigger: whatever order entries
arrive in (backdated ones included, several per statement or one by one), each row
holds exactly the totals of the postings dated on or before its day."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOW = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
DAY_ZERO = date(2026, 1, 1)


async def make_fund(connection: asyncpg.Connection, accounts: int) -> tuple[uuid.UUID, list]:
    fund = uuid.uuid4()
    await connection.execute(
        "INSERT INTO funds (id, name, currency, created_at) VALUES ($1, 'F', 'VND', $2)",
        fund, NOW,
    )
    ids = [uuid.uuid4() for _ in range(accounts)]
    for number, account in enumerate(ids):
        await connection.execute(
            "INSERT INTO accounts (fund_id, id, code, name, type, normal_side, allow_negative,"
            " currency, created_at) VALUES ($1, $2, $3, $3, 'asset', 'debit', true, 'VND', $4)",
            fund, account, f"A{number}", NOW,
        )
    return fund, ids


async def insert_entries(
    connection: asyncpg.Connection, fund: uuid.UUID, first_sequence: int,
    entries: list[tuple[date, list[tuple[uuid.UUID, str, int]]]],
) -> None:
    """Insert several entries with one INSERT for the entries and one for all postings."""
    entry_ids = [uuid.uuid4() for _ in entries]
    await connection.executemany(
        "INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at, description,"
        " currency, metadata, actor, hash) VALUES ($1, $2, $3, $4, $5, 'x', 'VND', $6, 't', 'h')",
        [(fund, entry_id, first_sequence + n, when, NOW, json.dumps({}))
         for n, (entry_id, (when, _)) in enumerate(zip(entry_ids, entries, strict=True))],
    )
    rows = [
        (entry_id, line, account, side, amount, when, first_sequence + n)
        for n, (entry_id, (when, lines)) in enumerate(zip(entry_ids, entries, strict=True))
        for line, (account, side, amount) in enumerate(lines, start=1)
    ]
    await connection.execute(
        """
        INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,
                              effective_date, sequence)
        SELECT $1, r.entry_id, r.line, r.account_id, r.side, r.amount, 'VND', r.day, r.sequence
          FROM unnest($2::uuid[], $3::int[], $4::uuid[], $5::text[], $6::bigint[], $7::date[],
                      $8::bigint[]) AS r(entry_id, line, account_id, side, amount, day, sequence)
        """,
        fund, *[list(column) for column in zip(*rows, strict=True)],
    )


async def insert_batches(
    connection: asyncpg.Connection, fund: uuid.UUID, accounts: list, batches: list
) -> None:
    """Each batch of (day offset, debit account, credit account, amount) in one
    transaction: one INSERT of entries and one of postings per batch."""
    sequence = 1
    for batch in batches:
        entries = [
            (DAY_ZERO + timedelta(days=offset),
             [(accounts[debit], "debit", amount), (accounts[credit], "credit", amount)])
            for offset, debit, credit, amount in batch
        ]
        async with connection.transaction():
            await insert_entries(connection, fund, sequence, entries)
        sequence += len(entries)


async def recomputed(connection: asyncpg.Connection, fund: uuid.UUID) -> list[tuple]:
    rows = await connection.fetch(
        """
        SELECT account_id, effective_date,
               sum(debits) OVER w AS debits, sum(credits) OVER w AS credits,
               sum(n) OVER w AS postings_count
          FROM (SELECT account_id, effective_date,
                       coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0) AS debits,
                       coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0) AS credits,
                       count(*) AS n
                  FROM postings WHERE fund_id = $1
                 GROUP BY account_id, effective_date) AS d
        WINDOW w AS (PARTITION BY account_id ORDER BY effective_date)
         ORDER BY account_id, effective_date
        """,
        fund,
    )
    return [tuple(r) for r in rows]


async def stored(connection: asyncpg.Connection, fund: uuid.UUID) -> list[tuple]:
    rows = await connection.fetch(
        "SELECT account_id, effective_date, debits, credits, postings_count FROM daily_balances"
        " WHERE fund_id = $1 ORDER BY account_id, effective_date",
        fund,
    )
    return [tuple(r) for r in rows]


entry_strategy = st.tuples(
    st.integers(min_value=0, max_value=40),  # day offset
    st.integers(min_value=0, max_value=3),  # debit account
    st.integers(min_value=0, max_value=3),  # credit account
    st.integers(min_value=1, max_value=10**6),
)
batches_strategy = st.lists(st.lists(entry_strategy, min_size=1, max_size=6),
                            min_size=1, max_size=6)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=batches_strategy)
async def test_daily_balances_equal_the_totals_recomputed_from_postings(
    owner_connection, batches
):
    fund, accounts = await make_fund(owner_connection, 4)
    await insert_batches(owner_connection, fund, accounts, batches)
    assert await stored(owner_connection, fund) == await recomputed(owner_connection, fund)


async def test_a_backdated_entry_moves_the_later_days_of_its_accounts_only(owner_connection):
    fund, (cash, capital, other) = await make_fund(owner_connection, 3)
    async with owner_connection.transaction():
        await insert_entries(owner_connection, fund, 1, [
            (date(2026, 3, 1), [(cash, "debit", 100), (capital, "credit", 100)]),
            (date(2026, 3, 10), [(cash, "debit", 20), (capital, "credit", 20)]),
            (date(2026, 3, 20), [(other, "debit", 5), (capital, "credit", 5)]),
        ])
    async with owner_connection.transaction():
        await insert_entries(owner_connection, fund, 4, [
            (date(2026, 3, 5), [(capital, "debit", 7), (cash, "credit", 7)]),
        ])
    rows = {(r[0], r[1]): r[2:] for r in await stored(owner_connection, fund)}
    assert rows == {
        (cash, date(2026, 3, 1)): (100, 0, 1),
        (cash, date(2026, 3, 5)): (100, 7, 2),
        (cash, date(2026, 3, 10)): (120, 7, 3),
        (capital, date(2026, 3, 1)): (0, 100, 1),
        (capital, date(2026, 3, 5)): (7, 100, 2),
        (capital, date(2026, 3, 10)): (7, 120, 3),
        (capital, date(2026, 3, 20)): (7, 125, 4),
        (other, date(2026, 3, 20)): (5, 0, 1),
    }


async def test_the_service_role_may_only_read_daily_balances(app_connection):
    for statement in ("UPDATE daily_balances SET debits = 0", "DELETE FROM daily_balances",
                      "INSERT INTO daily_balances VALUES (gen_random_uuid(), gen_random_uuid(),"
                      " '2026-01-01', 1, 1, 1)"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_connection.execute(statement)
    assert await app_connection.fetchval("SELECT count(*) FROM daily_balances") == 0


# Sub-accounts in two groups (one with both normal sides) and one plain account.
GROUP_ACCOUNTS = [("131.0001", "debit"), ("131.0002", "debit"), ("131.0003", "credit"),
                  ("3388.1", "credit"), ("111", "debit")]


async def make_grouped_fund(connection: asyncpg.Connection) -> tuple[uuid.UUID, list]:
    fund = uuid.uuid4()
    await connection.execute(
        "INSERT INTO funds (id, name, currency, created_at) VALUES ($1, 'F', 'VND', $2)",
        fund, NOW,
    )
    ids = [uuid.uuid4() for _ in GROUP_ACCOUNTS]
    for account, (code, side) in zip(ids, GROUP_ACCOUNTS, strict=True):
        await connection.execute(
            "INSERT INTO accounts (fund_id, id, code, name, type, normal_side, allow_negative,"
            " currency, created_at) VALUES ($1, $2, $3, $3, $4, $5, true, 'VND', $6)",
            fund, account, code, "asset" if side == "debit" else "liability", side, NOW,
        )
    return fund, ids


async def groups_recomputed(connection: asyncpg.Connection, fund: uuid.UUID) -> list[tuple]:
    rows = await connection.fetch(
        """
        SELECT group_code, normal_side, effective_date,
               sum(debits) OVER w, sum(credits) OVER w, sum(n) OVER w
          FROM (SELECT split_part(a.code, '.', 1) AS group_code, a.normal_side,
                       p.effective_date,
                       coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0) AS debits,
                       coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0) AS credits,
                       count(*) AS n
                  FROM postings p JOIN accounts a ON a.fund_id = p.fund_id
                                                 AND a.id = p.account_id
                 WHERE p.fund_id = $1 AND a.code LIKE '%.%'
                 GROUP BY 1, 2, 3) AS d
        WINDOW w AS (PARTITION BY group_code, normal_side ORDER BY effective_date)
         ORDER BY 1, 2, 3
        """,
        fund,
    )
    return [tuple(r) for r in rows]


async def groups_stored(connection: asyncpg.Connection, fund: uuid.UUID) -> list[tuple]:
    rows = await connection.fetch(
        "SELECT group_code, normal_side, effective_date, debits, credits, postings_count"
        " FROM daily_group_balances WHERE fund_id = $1 ORDER BY 1, 2, 3", fund)
    return [tuple(r) for r in rows]


grouped_entry = st.tuples(
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=len(GROUP_ACCOUNTS) - 1),
    st.integers(min_value=0, max_value=len(GROUP_ACCOUNTS) - 1),
    st.integers(min_value=1, max_value=10**6),
)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=st.lists(st.lists(grouped_entry, min_size=1, max_size=6), min_size=1,
                        max_size=6))
async def test_daily_group_balances_equal_the_totals_of_their_sub_accounts(
    owner_connection, batches
):
    fund, accounts = await make_grouped_fund(owner_connection)
    await insert_batches(owner_connection, fund, accounts, batches)
    assert await groups_stored(owner_connection, fund) == await groups_recomputed(
        owner_connection, fund)
