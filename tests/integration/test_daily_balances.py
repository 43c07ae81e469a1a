"""`daily_balances` is derived from the postings by a trigger: whatever order entries
arrive in (backdated ones included, several per statement or one by one), each row
holds exactly the totals of the postings dated on or before its day. So for the fund
figures by day and the fund months."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import chart
from tests.report_figures import FIGURE_PREFIXES, figure_of

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


# Accounts of every figure (a loan's receivable sub-accounts among them, one with the
# other normal side), two of the same figure (cash and bank), and two of none.
FIGURE_ACCOUNTS = [("131.0001", "debit"), ("131.0002", "debit"), ("131.0003", "credit"),
                   ("111", "debit"), ("112", "debit"), ("4111", "credit"),
                   ("4112", "credit"), ("4113", "credit"), ("4114", "credit"),
                   ("4118", "credit"), ("515", "credit"), ("811", "debit"),
                   ("3388.1", "credit"), ("1311", "debit"), ("411", "credit")]

async def make_figures_fund(connection: asyncpg.Connection) -> tuple[uuid.UUID, list]:
    fund = uuid.uuid4()
    await connection.execute(
        "INSERT INTO funds (id, name, currency, created_at) VALUES ($1, 'F', 'VND', $2)",
        fund, NOW,
    )
    ids = [uuid.uuid4() for _ in FIGURE_ACCOUNTS]
    for account, (code, side) in zip(ids, FIGURE_ACCOUNTS, strict=True):
        await connection.execute(
            "INSERT INTO accounts (fund_id, id, code, name, type, normal_side, allow_negative,"
            " currency, created_at) VALUES ($1, $2, $3, $3, $4, $5, true, 'VND', $6)",
            fund, account, code, "asset" if side == "debit" else "liability", side, NOW,
        )
    return fund, ids


def figures_expected(batches: list) -> list[tuple]:
    """Per day on which a posting moved an account of a figure, every figure's balance
    at the end of the day (on each account's normal side), from the entries alone."""
    moves: dict[date, dict[str, int]] = {}
    for batch in batches:
        for offset, debit, credit, amount in batch:
            for index, side in ((debit, "debit"), (credit, "credit")):
                code, normal_side = FIGURE_ACCOUNTS[index]
                figure = figure_of(code)
                if figure is not None:
                    day = moves.setdefault(DAY_ZERO + timedelta(days=offset), {})
                    day[figure] = day.get(figure, 0) + (
                        amount if side == normal_side else -amount)
    running = dict.fromkeys(FIGURE_PREFIXES, 0)
    rows = []
    for day in sorted(moves):
        for figure, amount in moves[day].items():
            running[figure] += amount
        rows.append((day, *running.values()))
    return rows


async def figures_stored(connection: asyncpg.Connection, fund: uuid.UUID) -> list[tuple]:
    rows = await connection.fetch(
        f"SELECT effective_date, {', '.join(FIGURE_PREFIXES)} FROM daily_fund_figures"
        " WHERE fund_id = $1 ORDER BY effective_date", fund)
    return [tuple(r) for r in rows]


def figures_batches(day_offset_max: int) -> st.SearchStrategy[list]:
    """Batches of entries (day offset, debit account, credit account, amount) between
    the figures fund's accounts, dated up to `day_offset_max` days after day zero."""
    entry = st.tuples(
        st.integers(min_value=0, max_value=day_offset_max),
        st.integers(min_value=0, max_value=len(FIGURE_ACCOUNTS) - 1),
        st.integers(min_value=0, max_value=len(FIGURE_ACCOUNTS) - 1),
        st.integers(min_value=1, max_value=10**6),
    )
    return st.lists(st.lists(entry, min_size=1, max_size=6), min_size=1, max_size=6)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=figures_batches(40))
async def test_daily_fund_figures_equal_the_balances_of_their_accounts(
    owner_connection, batches
):
    """Whatever order the entries arrive in (backdated ones, several a statement), each
    stored day holds every figure's balance at its end, and only days on which an
    account of a figure moved are stored."""
    fund, accounts = await make_figures_fund(owner_connection)
    await insert_batches(owner_connection, fund, accounts, batches)
    assert await figures_stored(owner_connection, fund) == figures_expected(batches)


async def test_a_backdated_entry_moves_every_later_day_of_the_fund_figures(owner_connection):
    fund, accounts = await make_figures_fund(owner_connection)
    await insert_batches(owner_connection, fund, accounts, [
        [(10, 3, 5, 1_000)],  # 11 January: capital 1,000 into cash
        [(20, 0, 3, 300)],  # 21 January: a loan of 300 from cash
        [(5, 3, 5, 50)],  # backdated to 6 January: capital 50 more
    ])
    rows = {r[0]: r[1:] for r in await figures_stored(owner_connection, fund)}
    names = list(FIGURE_PREFIXES)
    at = {day: dict(zip(names, values, strict=True)) for day, values in rows.items()}
    assert sorted(at) == [date(2026, 1, 6), date(2026, 1, 11), date(2026, 1, 21)]
    assert (at[date(2026, 1, 6)]["cash"], at[date(2026, 1, 6)]["capital_district_budget"]) \
        == (50, 50)
    assert (at[date(2026, 1, 11)]["cash"], at[date(2026, 1, 11)]["capital_district_budget"]) \
        == (1_050, 1_050)
    assert (at[date(2026, 1, 21)]["cash"], at[date(2026, 1, 21)]["loans_outstanding"],
            at[date(2026, 1, 21)]["capital_district_budget"]) == (750, 300, 1_050)


async def test_an_entry_on_a_new_day_reads_the_stored_days_of_its_own_fund_only(
    owner_connection,
):
    """The figures before an entry's day come from one probe of its fund's stored days,
    never from a scan of every fund's (which grows with every fund and day)."""
    crowded, crowded_accounts = await make_figures_fund(owner_connection)
    await insert_batches(owner_connection, crowded, crowded_accounts,
                         [[(offset, 3, 5, 10) for offset in range(2_000)]])
    fund, accounts = await make_figures_fund(owner_connection)
    await insert_batches(owner_connection, fund, accounts, [[(10, 3, 5, 1_000)]])
    await owner_connection.execute("ANALYZE daily_fund_figures")
    async with owner_connection.transaction():
        await insert_entries(owner_connection, fund, 2, [
            (DAY_ZERO + timedelta(days=20), [(accounts[0], "debit", 300),
                                             (accounts[3], "credit", 300)])])
        scanned = await owner_connection.fetchval(
            "SELECT seq_tup_read FROM pg_stat_xact_user_tables"
            " WHERE relname = 'daily_fund_figures'")
    assert scanned == 0
    assert await figures_stored(owner_connection, fund) == figures_expected(
        [[(10, 3, 5, 1_000)], [(20, 0, 3, 300)]])


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batches=figures_batches(120))
async def test_fund_months_hold_the_first_day_of_their_entries(owner_connection, batches):
    """Whatever order the entries arrive in (a backdated one moves its month's first
    day earlier), each month in which the fund has an entry is stored once, with the
    earliest date of its entries."""
    fund, accounts = await make_figures_fund(owner_connection)
    await insert_batches(owner_connection, fund, accounts, batches)
    first_days: dict[date, date] = {}
    for batch in batches:
        for offset, *_ in batch:
            day = DAY_ZERO + timedelta(days=offset)
            month = day.replace(day=1)
            first_days[month] = min(first_days.get(month, day), day)
    rows = await owner_connection.fetch(
        "SELECT month, first_day FROM fund_months WHERE fund_id = $1 ORDER BY month", fund)
    assert [tuple(r) for r in rows] == sorted(first_days.items())


async def test_the_database_s_figures_follow_the_default_chart(owner_connection):
    """The accounts of each figure are named once, in the database
    (`clubfund_report_figure`); they are the default chart's (ledger/chart.py), a loan's
    receivable sub-accounts with their group, and no other chart account."""
    expected = {
        chart.CAPITAL_DISTRICT_BUDGET: "capital_district_budget",
        chart.CAPITAL_COMMUNE_PROVINCE_BUDGET: "capital_other_budgets",
        chart.CAPITAL_DONORS: "capital_donors", chart.CAPITAL_MEMBERS: "capital_members",
        chart.RETAINED_SURPLUS: "capital_retained_surplus", chart.CASH: "cash",
        chart.BANK: "cash", chart.LOANS_RECEIVABLE: "loans_outstanding",
        f"{chart.LOANS_RECEIVABLE}.0042": "loans_outstanding",
        chart.INTEREST_INCOME: "interest_earned", chart.LOAN_WRITE_OFFS: "write_offs",
    }
    codes = sorted({account.code for account in chart.DEFAULT_CHART} | set(expected))
    rows = await owner_connection.fetch(
        "SELECT code, clubfund_report_figure(code) AS figure FROM unnest($1::text[]) AS code",
        codes)
    assert {r["code"]: r["figure"] for r in rows} == {
        code: expected.get(code) for code in codes}
    assert set(expected.values()) == set(FIGURE_PREFIXES)
