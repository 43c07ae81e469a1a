"""The scale-out rules, read from the catalog of the migrated database, so that one
PostgreSQL outgrown becomes Citus by configuration (docs/operators.md, "Scale-out").

- Every table is either fund-scoped (it has `fund_id`; `funds` itself is keyed by `id`)
  and is distributed by that column, or a named reference table (copied to every node).
- A fund-scoped table has its fund column first in its primary key and in every unique
  index; each of its foreign keys to another fund-scoped table pairs fund column with
  fund column; a foreign key may go from a fund-scoped table to a reference table, never
  from a reference table to a fund-scoped one.
- No function or trigger reads two funds. The checkable form: a function whose source
  names a fund-scoped table takes its funds from its inputs (a trigger's row or
  transition table, which carry `fund_id`, or a parameter naming funds: `p_fund_id`,
  `fund_ids`), and each of its statements that names a fund-scoped table constrains
  `fund_id` (or the row's own fund). So a statement reaches only the funds it was given.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

# Small tables every node holds a copy of (Citus reference tables): the area tree, the
# clubs, their members and the people with roles (with their tokens and web sign-ins),
# the programme's targets.
REFERENCE_TABLES = {
    "areas", "area_parents", "clubs", "club_areas", "members", "people", "tokens",
    "web_credentials", "web_sessions", "programme_targets",
}
# Kept on the coordinator only.
LOCAL_TABLES = {"alembic_version"}
# The parameters through which a function is given the funds it may touch.
FUND_PARAMETERS = {"p_fund_id", "fund_ids"}


async def catalog_tables(connection: asyncpg.Connection) -> dict[str, str | None]:
    """Every table of the schema: its fund column (None: not fund-scoped)."""
    rows = await connection.fetch("""
        SELECT c.relname::text AS name,
               CASE WHEN c.relname = 'funds' THEN 'id'
                    WHEN EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid
                                    AND a.attname = 'fund_id' AND NOT a.attisdropped)
                    THEN 'fund_id' END AS fund_column
          FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
    """)
    return {row["name"]: row["fund_column"] for row in rows}


async def test_every_table_is_fund_scoped_or_a_named_reference_table(owner_connection):
    tables = await catalog_tables(owner_connection)
    unscoped = {name for name, column in tables.items() if column is None}
    assert unscoped == REFERENCE_TABLES | LOCAL_TABLES
    assert len(tables) - len(unscoped) >= 19


def column_names(numbers: str, table: str) -> str:
    """SQL: the names of the columns numbered `numbers` (an int2 array) of `table` (oid)."""
    return (f"(SELECT array_agg(a.attname::text ORDER BY k.n)"
            f"   FROM unnest({numbers}) WITH ORDINALITY AS k(attnum, n)"
            f"   JOIN pg_attribute a ON a.attrelid = {table} AND a.attnum = k.attnum)")


async def keys_not_led_by_the_fund(connection: asyncpg.Connection) -> list[str]:
    """Unique keys of fund-scoped tables whose first column is not the fund column, and
    fund-scoped tables with no primary key."""
    tables = await catalog_tables(connection)
    keys = await connection.fetch(f"""
        SELECT t.relname::text AS table_name, i.relname::text AS index_name,
               x.indisprimary AS is_primary, {column_names("x.indkey", "t.oid")} AS columns
          FROM pg_index x
          JOIN pg_class t ON t.oid = x.indrelid
          JOIN pg_class i ON i.oid = x.indexrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = current_schema() AND x.indisunique
    """)
    broken = []
    primaries = set()
    for key in keys:
        fund_column = tables.get(key["table_name"])
        if fund_column is None:
            continue
        if key["is_primary"]:
            primaries.add(key["table_name"])
        if not key["columns"] or key["columns"][0] != fund_column:
            broken.append(f"{key['index_name']} on {key['table_name']}{tuple(key['columns'])}")
    for name in sorted({name for name, column in tables.items() if column} - primaries):
        broken.append(f"{name} has no primary key")
    return broken


async def test_the_fund_column_leads_every_key_of_a_fund_scoped_table(owner_connection):
    assert await keys_not_led_by_the_fund(owner_connection) == []


async def foreign_keys(connection: asyncpg.Connection) -> list[Any]:
    return list(await connection.fetch(f"""
        SELECT f.conname::text AS name, t.relname::text AS source, r.relname::text AS target,
               {column_names("f.conkey", "f.conrelid")} AS source_columns,
               {column_names("f.confkey", "f.confrelid")} AS target_columns
          FROM pg_constraint f
          JOIN pg_class t ON t.oid = f.conrelid
          JOIN pg_class r ON r.oid = f.confrelid
          JOIN pg_namespace n ON n.oid = t.relnamespace
         WHERE n.nspname = current_schema() AND f.contype = 'f'
    """))


async def keys_across_funds(connection: asyncpg.Connection) -> tuple[list[str], int]:
    """Foreign keys that could join two funds; how many join fund-scoped tables."""
    tables = await catalog_tables(connection)
    broken = []
    between_funds = 0
    for key in await foreign_keys(connection):
        source_fund, target_fund = tables[key["source"]], tables[key["target"]]
        if target_fund is None:
            continue  # to a reference table: every node holds it
        if source_fund is None:
            broken.append(f"{key['name']}: reference table {key['source']} refers to "
                          f"fund-scoped {key['target']}")
            continue
        pairs = list(zip(key["source_columns"], key["target_columns"], strict=True))
        if (source_fund, target_fund) not in pairs:
            broken.append(f"{key['name']}: {pairs} does not pair {source_fund} with "
                          f"{target_fund}")
        between_funds += 1
    return broken, between_funds


async def test_foreign_keys_stay_within_one_fund_or_point_at_reference_tables(
    owner_connection,
):
    broken, between_funds = await keys_across_funds(owner_connection)
    assert broken == []
    assert between_funds >= 15


FUND_TABLE_USE = r"\b(FROM|JOIN|UPDATE|INTO)\s+{table}\b"
# Functions allowed to read several funds, each with its reason.
READS_SEVERAL_FUNDS = {
    # Sign-in: which funds a person's scope holds (her club's, or every club's of her
    # area) is read from `funds` by club, before any fund's transaction begins. A read
    # of one column across the shards of a small table; it writes nothing.
    "clubfund_authenticate(text)",
}


async def functions_reading_several_funds(
    connection: asyncpg.Connection,
) -> tuple[list[str], set[str]]:
    """Functions that break the rule (see the module); the functions checked."""
    tables = await catalog_tables(connection)
    fund_tables = [name for name, column in tables.items() if column is not None]
    functions = await connection.fetch("""
        SELECT p.oid::regprocedure::text AS signature, p.prosrc AS source,
               coalesce(p.proargnames, '{}')::text[] AS parameters,
               p.prorettype = 'trigger'::regtype AS is_trigger
          FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
         WHERE n.nspname = current_schema() AND p.prokind = 'f'
           AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e')
    """)
    broken = []
    checked = set()
    for function in functions:
        source = re.sub(r"--[^\n]*", "", function["source"])
        named = [t for t in fund_tables
                 if re.search(FUND_TABLE_USE.format(table=t), source, re.IGNORECASE)]
        if not named or function["signature"] in READS_SEVERAL_FUNDS:
            continue
        checked.add(function["signature"])
        if not function["is_trigger"] and not FUND_PARAMETERS & set(function["parameters"]):
            broken.append(f"{function['signature']}: names {named} but is given no fund")
        for statement in source.split(";"):
            uses = [t for t in named
                    if re.search(FUND_TABLE_USE.format(table=t), statement, re.IGNORECASE)]
            if uses and "fund_id" not in statement:
                broken.append(f"{function['signature']}: a statement on {uses} without "
                              f"fund_id: {' '.join(statement.split())[:160]}")
    return broken, checked


async def test_no_function_or_trigger_reads_two_funds(owner_connection):
    broken, checked = await functions_reading_several_funds(owner_connection)
    assert broken == []
    assert {"append_audit_record(uuid,text,uuid,bytea,bytea)", "refuse_closed_period()",
            "apply_postings_to_balances()"} <= checked
    assert len(checked) >= 8


async def test_each_rule_names_what_breaks_it(owner_connection):
    await owner_connection.execute("""
        CREATE TABLE receipts_by_id (fund_id uuid NOT NULL, id uuid PRIMARY KEY,
                                     entry_id uuid NOT NULL,
                                     FOREIGN KEY (fund_id, entry_id)
                                         REFERENCES entries (id, fund_id));
        CREATE FUNCTION total_posted() RETURNS numeric LANGUAGE sql
            AS 'SELECT sum(amount) FROM postings';
        CREATE FUNCTION account_count(p_fund_id uuid) RETURNS bigint LANGUAGE sql
            AS 'SELECT count(*) FROM accounts WHERE fund_id = p_fund_id';
    """)
    assert await keys_not_led_by_the_fund(owner_connection) == [
        "receipts_by_id_pkey on receipts_by_id('id',)"]
    broken, _ = await keys_across_funds(owner_connection)
    assert [b.split(":")[0] for b in broken] == ["receipts_by_id_fund_id_entry_id_fkey"]
    broken, checked = await functions_reading_several_funds(owner_connection)
    assert "account_count(uuid)" in checked
    assert broken == [
        "total_posted(): names ['postings'] but is given no fund",
        "total_posted(): a statement on ['postings'] without fund_id: "
        "SELECT sum(amount) FROM postings"]
