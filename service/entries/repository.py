"""Every query on entries and postings. The posting path is hand-written SQL:
one statement writes the entry and its postings and moves the fund's entry counter
to the entry's sequence; the database's triggers move the balances (see the
foundation migration)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from ledger.entries import Entry
from service.audit.repository import (
    AuditRecords,
    append_records_query,
    appended_in_order,
    audit_stamp_column,
)

ENTRY_SELECT = """
    SELECT e.id, e.fund_id, e.sequence, e.voucher_number, e.effective_date, e.recorded_at,
           e.description, e.currency, e.metadata, e.reverses_entry_id, e.actor, e.hash,
           (SELECT json_agg(json_build_object(
                       'line', p.line, 'account_id', p.account_id, 'side', p.side,
                       'amount', p.amount, 'currency', p.currency) ORDER BY p.line)
              FROM postings p
             WHERE p.fund_id = e.fund_id AND p.entry_id = e.id) AS postings,
           """ + audit_stamp_column(
    "e.fund_id", "e.id", ("entry.posted", "entry.reversal_posted")
) + """ AS audit
      FROM entries e
"""


@dataclass
class EntryRows:
    """Entries to insert in one statement, as columns; their postings as columns too, each
    with its entry's place in `entry_ids` (1-based)."""

    entry_ids: list[uuid.UUID] = field(default_factory=list)
    sequences: list[int] = field(default_factory=list)
    voucher_numbers: list[str | None] = field(default_factory=list)
    effective_dates: list[date] = field(default_factory=list)
    descriptions: list[str] = field(default_factory=list)
    currencies: list[str] = field(default_factory=list)
    metadata: list[dict[str, Any]] = field(default_factory=list)
    reverses_entry_ids: list[uuid.UUID | None] = field(default_factory=list)
    hashes: list[str] = field(default_factory=list)
    posting_entries: list[int] = field(default_factory=list)
    posting_lines: list[int] = field(default_factory=list)
    account_ids: list[uuid.UUID] = field(default_factory=list)
    sides: list[str] = field(default_factory=list)
    amounts: list[int] = field(default_factory=list)
    posting_currencies: list[str] = field(default_factory=list)

    def add(self, entry_id: uuid.UUID, sequence: int, voucher_number: str | None,
            entry: Entry, currency: str, hash: str) -> None:
        self.entry_ids.append(entry_id)
        self.sequences.append(sequence)
        self.voucher_numbers.append(voucher_number)
        self.effective_dates.append(entry.effective_date)
        self.descriptions.append(entry.description)
        self.currencies.append(currency)
        self.metadata.append(dict(entry.metadata))
        self.reverses_entry_ids.append(
            uuid.UUID(entry.reverses_entry_id) if entry.reverses_entry_id else None)
        self.hashes.append(hash)
        for line, posting in enumerate(entry.postings, start=1):
            self.posting_entries.append(len(self.entry_ids))
            self.posting_lines.append(line)
            self.account_ids.append(uuid.UUID(posting.account_id))
            self.sides.append(posting.side.value)
            self.amounts.append(posting.amount)
            self.posting_currencies.append(posting.currency)


async def insert_entries(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, recorded_at: datetime, actor: str,
    entries: EntryRows, audit: AuditRecords,
) -> list[tuple[int, bytes]]:
    """One statement: the entries, all their postings, the fund's entry counter moved to
    the last entry's sequence, and the entries' audit records appended to the fund's log
    (`append_records_query`). Returns (sequence, leaf hash) of each audit record."""
    rows = await connection.fetch(
        """
        WITH counted AS (
            UPDATE funds SET entry_count = $4 WHERE id = $1
        ), new_entries AS (
            SELECT e.*, $5::jsonb -> (e.place - 1)::int AS metadata
              FROM unnest($6::uuid[], $7::bigint[], $8::text[], $9::date[], $10::text[],
                          $11::text[], $12::uuid[], $13::text[])
                   WITH ORDINALITY AS e(id, sequence, voucher_number, effective_date,
                                        description, currency, reverses_entry_id, hash, place)
        ), entry AS (
            INSERT INTO entries (fund_id, id, sequence, voucher_number, effective_date,
                                 recorded_at, description, currency, metadata,
                                 reverses_entry_id, actor, hash)
            SELECT $1, e.id, e.sequence, e.voucher_number, e.effective_date, $2,
                   e.description, e.currency, e.metadata, e.reverses_entry_id, $3, e.hash
              FROM new_entries e
             ORDER BY e.place
        ), posting AS (
            INSERT INTO postings (fund_id, entry_id, line, account_id, side, amount, currency,
                                  effective_date, sequence)
            SELECT $1, e.id, p.line, p.account_id, p.side, p.amount, p.currency,
                   e.effective_date, e.sequence
              FROM unnest($14::bigint[], $15::int[], $16::uuid[], $17::text[],
                          $18::bigint[], $19::text[])
                   AS p(place, line, account_id, side, amount, currency)
              JOIN new_entries e ON e.place = p.place
             ORDER BY p.place, p.line
        )
        """ + append_records_query(20),
        fund_id, recorded_at, actor, entries.sequences[-1], entries.metadata,
        entries.entry_ids, entries.sequences, entries.voucher_numbers, entries.effective_dates,
        entries.descriptions, entries.currencies, entries.reverses_entry_ids, entries.hashes,
        entries.posting_entries, entries.posting_lines, entries.account_ids, entries.sides,
        entries.amounts, entries.posting_currencies, *audit.arguments(),
    )
    return appended_in_order(rows, len(audit.actions))


async def get_entry(connection: asyncpg.Connection, entry_id: uuid.UUID) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        ENTRY_SELECT + " WHERE e.id = $1", entry_id
    )
    return record


async def find_reversal(
    connection: asyncpg.Connection, fund_id: uuid.UUID, entry_id: uuid.UUID
) -> uuid.UUID | None:
    value: uuid.UUID | None = await connection.fetchval(
        "SELECT id FROM entries WHERE fund_id = $1 AND reverses_entry_id = $2", fund_id, entry_id
    )
    return value


async def list_entries(
    connection: asyncpg.Connection, fund_id: uuid.UUID, after_sequence: int | None, limit: int
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        ENTRY_SELECT + " WHERE e.fund_id = $1 AND ($2::bigint IS NULL OR e.sequence > $2)"
        " ORDER BY e.sequence LIMIT $3",
        fund_id, after_sequence, limit,
    ))
