"""The journal's checks run once per statement (and the balancing rule once per entry at
commit), and still refuse what the row-by-row checks refused: these tests write several
entries and postings per INSERT statement, in SQL, as the service's role."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

import asyncpg
import pytest

from tests.integration.test_journal_integrity import balance_of, make_ledger, see_every_fund

NOW = datetime(2026, 3, 5, 3, 0, tzinfo=UTC)
DAY = date(2026, 3, 5)

Line = tuple[uuid.UUID, str, int]


async def insert_entries(connection: asyncpg.Connection, fund: uuid.UUID,
                         entries: list[tuple[uuid.UUID, int, date, list[Line]]],
                         posting_day: date | None = None) -> None:
    """Every entry in one INSERT, then every posting in one INSERT."""
    await connection.execute(
        "INSERT INTO entries (fund_id, id, sequence, effective_date, recorded_at, description,"
        " currency, metadata, actor, hash)"
        " SELECT $1, e.id, e.sequence, e.day, $2, 'x', 'VND', $3::jsonb, 't', 'h'"
        "   FROM unnest($4::uuid[], $5::bigint[], $6::date[]) AS e(id, sequence, day)",
        fund, NOW, json.dumps({}), [e[0] for e in entries], [e[1] for e in entries],
        [e[2] for e in entries],
    )
    postings = [(entry, line, account, side, amount, posting_day or day, sequence)
                for entry, sequence, day, lines in entries
                for line, (account, side, amount) in enumerate(lines, start=1)]
    if not postings:
        return
    await connection.execute(
        "INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,"
        " effective_date, sequence)"
        " SELECT $1, p.entry_id, p.line, p.account_id, p.side, p.amount, 'VND', p.day,"
        "        p.sequence"
        "   FROM unnest($2::uuid[], $3::int[], $4::uuid[], $5::text[], $6::bigint[],"
        "               $7::date[], $8::bigint[])"
        "     AS p(entry_id, line, account_id, side, amount, day, sequence)",
        fund, *(list(column) for column in zip(*postings, strict=True)),
    )


def balanced(ids: dict[str, uuid.UUID], amount: int) -> list[Line]:
    return [(ids["cash"], "debit", amount), (ids["capital"], "credit", amount)]


async def close_month(connection: asyncpg.Connection, fund: uuid.UUID, month: date) -> None:
    await connection.execute(
        "INSERT INTO closed_periods (fund_id, period, closed_at, actor) VALUES ($1, $2, $3, 't')",
        fund, month, NOW)


async def entries_count(connection: asyncpg.Connection) -> int:
    return int(await connection.fetchval("SELECT count(*) FROM entries"))


async def test_balanced_entries_in_one_statement_each_pass(app_connection, owner_connection):
    ids = await make_ledger(owner_connection)
    async with app_connection.transaction():
        await see_every_fund(app_connection)
        await insert_entries(app_connection, ids["fund"], [
            (uuid.uuid4(), sequence, DAY, balanced(ids, 10 * sequence))
            for sequence in range(2, 12)])
    assert await entries_count(owner_connection) == 11
    assert await balance_of(owner_connection, ids["cash"]) == (500 + sum(
        10 * sequence for sequence in range(2, 12)), 0)


@pytest.mark.parametrize("unbalanced_lines, message", [
    ([("cash", "debit", 100), ("capital", "credit", 99)], "does not balance"),
    ([("cash", "debit", 100)], "at least two"),
    ([], "has 0 postings"),
])
async def test_one_unbalanced_entry_among_many_is_refused_at_commit(
    unbalanced_lines, message, app_connection, owner_connection
):
    ids = await make_ledger(owner_connection)
    entries = [(uuid.uuid4(), sequence, DAY, balanced(ids, 5)) for sequence in range(2, 7)]
    entries.insert(2, (uuid.uuid4(), 7, DAY,
                       [(ids[account], side, amount) for account, side, amount in
                        unbalanced_lines]))
    with pytest.raises(asyncpg.CheckViolationError, match=message) as raised:
        async with app_connection.transaction():
            await see_every_fund(app_connection)
            await insert_entries(app_connection, ids["fund"], entries)
    assert raised.value.constraint_name == "ck_entries_balanced"
    assert await entries_count(owner_connection) == 1
    assert await balance_of(owner_connection, ids["cash"]) == (500, 0)


async def test_an_entry_whose_postings_come_in_two_statements_is_judged_at_commit(
    app_connection, owner_connection
):
    ids = await make_ledger(owner_connection)
    entry = uuid.uuid4()
    async with app_connection.transaction():
        await see_every_fund(app_connection)
        await insert_entries(app_connection, ids["fund"], [(entry, 2, DAY, balanced(ids, 7)[:1])])
        await app_connection.execute(
            "INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,"
            " effective_date, sequence) VALUES ($1, $2, 2, $3, 'credit', 7, 'VND', $4, 2)",
            ids["fund"], entry, ids["capital"], DAY)
    assert await balance_of(owner_connection, ids["capital"]) == (0, 507)


@pytest.mark.parametrize("closed_day", ["entry", "posting"])
async def test_a_statement_with_one_row_in_a_closed_month_is_refused(
    closed_day, app_connection, owner_connection
):
    ids = await make_ledger(owner_connection)
    await close_month(owner_connection, ids["fund"], date(2026, 1, 1))
    entries = [(uuid.uuid4(), sequence, DAY, balanced(ids, 5)) for sequence in range(2, 6)]
    if closed_day == "entry":
        entries.append((uuid.uuid4(), 6, date(2026, 1, 31), balanced(ids, 5)))
        posting_day = None
    else:
        posting_day = date(2026, 1, 15)  # every posting dated in the closed month
    with pytest.raises(asyncpg.CheckViolationError, match="closed period") as raised:
        async with app_connection.transaction():
            await see_every_fund(app_connection)
            await insert_entries(app_connection, ids["fund"], entries, posting_day)
    assert raised.value.constraint_name == "ck_entries_period_open"
    assert await entries_count(owner_connection) == 1


async def test_a_posting_is_judged_by_its_entry_date_too(app_connection, owner_connection):
    ids = await make_ledger(owner_connection)
    entry = uuid.uuid4()
    with pytest.raises(asyncpg.CheckViolationError, match="2026-01-31 is in a closed period"):
        async with app_connection.transaction():
            await see_every_fund(app_connection)
            await insert_entries(app_connection, ids["fund"], [(entry, 2, date(2026, 1, 31), [])])
            await close_month(owner_connection, ids["fund"], date(2026, 1, 1))
            await app_connection.execute(
                "INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount,"
                " currency, effective_date, sequence) VALUES ($1, $2, 1, $3, 'debit', 5, 'VND',"
                " $4, 2), ($1, $2, 2, $5, 'credit', 5, 'VND', $4, 2)",
                ids["fund"], entry, ids["cash"], DAY, ids["capital"])


async def test_a_reopened_month_takes_entries_again(app_connection, owner_connection):
    ids = await make_ledger(owner_connection)
    await close_month(owner_connection, ids["fund"], date(2026, 1, 1))
    await owner_connection.execute(
        "UPDATE closed_periods SET reopened_at = $2, reopened_by = 't' WHERE fund_id = $1",
        ids["fund"], NOW)
    async with app_connection.transaction():
        await see_every_fund(app_connection)
        await insert_entries(app_connection, ids["fund"], [
            (uuid.uuid4(), 2, date(2026, 1, 10), balanced(ids, 5)),
            (uuid.uuid4(), 3, DAY, balanced(ids, 5))])
    assert await entries_count(owner_connection) == 3


async def test_a_statement_taking_a_never_negative_account_below_zero_is_refused(
    app_connection, owner_connection
):
    ids = await make_ledger(owner_connection)
    spend = [(ids["capital"], "debit", 300), (ids["cash"], "credit", 300)]
    with pytest.raises(asyncpg.CheckViolationError) as raised:
        async with app_connection.transaction():
            await see_every_fund(app_connection)
            await insert_entries(app_connection, ids["fund"], [
                (uuid.uuid4(), 2, DAY, spend), (uuid.uuid4(), 3, DAY, spend)])
    assert raised.value.constraint_name == "ck_account_balances_non_negative"
    assert await balance_of(owner_connection, ids["cash"]) == (500, 0)


async def test_the_journal_checks_no_inserted_row_one_by_one(owner_connection):
    """Besides the foreign keys, only the balancing rule runs per row (once per entry, at
    commit: a deferred constraint trigger cannot read a statement's new rows)."""
    per_row = await owner_connection.fetch(
        """
        SELECT c.relname AS table_name, t.tgname AS trigger_name
          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
         WHERE c.relname IN ('entries', 'postings') AND NOT t.tgisinternal
           AND t.tgtype & 1 = 1  -- FOR EACH ROW
           AND t.tgtype & 4 = 4  -- ON INSERT
         ORDER BY 1, 2
        """)
    assert [(row["table_name"], row["trigger_name"]) for row in per_row] == [
        ("entries", "trg_entries_balanced")]
