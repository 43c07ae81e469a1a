"""Every query on loans and their events."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

import asyncpg

from ledger.loans import Allocation
from service.audit.repository import audit_stamp_column

NOTHING_ALLOCATED = Allocation(penalty=0, interest=0, principal=0)

LOAN_SELECT = """
    SELECT l.*, a.code AS account_code,
           (SELECT f.currency FROM funds f WHERE f.id = l.fund_id) AS currency,
           (SELECT max(e.effective_date) FROM loan_events e
             WHERE e.fund_id = l.fund_id AND e.loan_id = l.id AND e.kind = 'approved')
               AS approved_on,
           (SELECT max(e.effective_date) FROM loan_events e
             WHERE e.fund_id = l.fund_id AND e.loan_id = l.id
               AND e.kind = 'write_off_requested') AS write_off_requested_on,
           (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'sequence', e.sequence, 'effective_date', e.effective_date,
                       'part', e.data ->> 'part', 'amount', (e.data ->> 'amount')::bigint)
                       ORDER BY e.sequence), '[]'::jsonb)
              FROM loan_events e
             WHERE e.fund_id = l.fund_id AND e.loan_id = l.id AND e.kind = 'waived')
               AS waivers,
           (SELECT coalesce(sum(CASE e.kind WHEN 'recovered' THEN 1 ELSE -1 END
                                * (e.data ->> 'amount')::bigint), 0)::bigint
              FROM loan_events e
             WHERE e.fund_id = l.fund_id AND e.loan_id = l.id
               AND e.kind IN ('recovered', 'recovery_reversed')) AS recovered,
           """ + audit_stamp_column("l.fund_id", "l.id", ("loan.applied",)) + """ AS audit
      FROM loans l
      LEFT JOIN accounts a ON a.fund_id = l.fund_id AND a.id = l.account_id
"""
EVENT_COLUMNS = """sequence, kind, effective_date, recorded_at, actor, entry_id, data, penalty,
    interest, principal, repayment_sequence"""



async def fund_of_loan(connection: asyncpg.Connection, loan_id: uuid.UUID) -> uuid.UUID | None:
    value: uuid.UUID | None = await connection.fetchval(
        "SELECT fund_id FROM loans WHERE id = $1", loan_id
    )
    return value


async def get_loan(
    connection: asyncpg.Connection, loan_id: uuid.UUID, fund_id: uuid.UUID | None = None
) -> asyncpg.Record | None:
    record: asyncpg.Record | None = await connection.fetchrow(
        LOAN_SELECT + " WHERE l.id = $1 AND ($2::uuid IS NULL OR l.fund_id = $2)",
        loan_id, fund_id,
    )
    return record


async def list_loans(
    connection: asyncpg.Connection, fund_id: uuid.UUID, status: str | None,
    after_number: int | None, limit: int,
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        LOAN_SELECT + " WHERE l.fund_id = $1 AND ($2::text IS NULL OR l.status = $2)"
        " AND ($3::integer IS NULL OR l.number > $3) ORDER BY l.number LIMIT $4",
        fund_id, status, after_number, limit,
    ))


async def next_loan_number(connection: asyncpg.Connection, fund_id: uuid.UUID) -> int:
    """The fund's next loan number (call under the fund lock: gapless, unique)."""
    number: int = await connection.fetchval(
        "SELECT coalesce(max(number), 0) + 1 FROM loans WHERE fund_id = $1", fund_id
    )
    return number


async def insert_loan(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, loan_id: uuid.UUID, number: int,
    member_id: uuid.UUID, principal: int, installments: int, frequency: str,
    interest_method: str, amortization: str, rate_per_period: Decimal, day_count: str,
    grace_periods: int, rounding_unit: int, penalty_rate_per_day: Decimal, prepayment: str,
    first_due_date: date, purpose: str | None, applied_on: date, actor: str,
    now: datetime, event_data: dict[str, Any],
) -> None:
    """The loan, status applied, with its first event."""
    await connection.execute(
        """
        WITH loan AS (
            INSERT INTO loans (fund_id, id, number, member_id, status, principal, installments,
                               frequency, interest_method, amortization, rate_per_period,
                               day_count, grace_periods, rounding_unit, penalty_rate_per_day,
                               first_due_date, purpose, applied_on, applied_by,
                               outstanding_principal, events_count, created_at, updated_at,
                               prepayment)
            VALUES ($1, $2, $3, $4, 'applied', $5, $6, $7, $8, $9, $10, $11, $12, $13, $14,
                    $15, $16, $17, $18, 0, 1, $19, $19, $21)
        )
        INSERT INTO loan_events (fund_id, loan_id, sequence, kind, effective_date, recorded_at,
                                 actor, data, penalty, interest, principal)
        VALUES ($1, $2, 1, 'applied', $17, $19, $18, $20, 0, 0, 0)
        """,
        fund_id, loan_id, number, member_id, principal, installments, frequency,
        interest_method, amortization, rate_per_period, day_count, grace_periods, rounding_unit,
        penalty_rate_per_day, first_due_date, purpose, applied_on, actor, now, event_data,
        prepayment,
    )


async def insert_installments(
    connection: asyncpg.Connection, fund_id: uuid.UUID, loan_id: uuid.UUID,
    disbursement: int, installments: list[tuple[int, date, int, int]],
) -> None:
    """The loan's schedule fixed by its disbursement (the event numbered
    `disbursement`), or the schedule in force after a later event changed it (that
    event's number): (number, due date, principal, interest) per installment, in one
    statement. The latest is the one in force."""
    await connection.execute(
        """
        INSERT INTO loan_installments (fund_id, loan_id, disbursement, number, due_date,
                                       principal, interest)
        SELECT $1, $2, $3, i.number, i.due_date, i.principal, i.interest
          FROM unnest($4::int[], $5::date[], $6::bigint[], $7::bigint[])
               AS i(number, due_date, principal, interest)
        """,
        fund_id, loan_id, disbursement,
        *(list(column) for column in zip(*installments, strict=True)),
    )


async def update_schedule_terms(
    connection: asyncpg.Connection, fund_id: uuid.UUID, loan_id: uuid.UUID,
    first_due_date: date, installments: int,
) -> None:
    """A rescheduled loan's new first due date and instalment count (before it is paid
    out; its event is appended by `record_change`)."""
    await connection.execute(
        "UPDATE loans SET first_due_date = $3, installments = $4"
        " WHERE fund_id = $1 AND id = $2",
        fund_id, loan_id, first_due_date, installments,
    )


class LoanEvent(NamedTuple):
    """One event to append: its kind, date, entry (if it posted one) and data; for a
    repayment, its adjustment or its reversal, what it moves between penalty, interest
    and principal (the one record of what a loan has paid) and, for the latter two, the
    repayment they belong to."""

    kind: str
    effective_date: date
    entry_id: uuid.UUID | None
    data: dict[str, Any]
    allocation: Allocation | None = None
    repayment_sequence: int | None = None


async def record_change(
    connection: asyncpg.Connection, *, fund_id: uuid.UUID, loan_id: uuid.UUID, status: str,
    approved_by: str | None, disbursed_on: date | None, account_id: uuid.UUID | None,
    write_off_requested_by: str | None, outstanding_principal: int, closed_on: date | None,
    first_sequence: int, events: list[LoanEvent], actor: str, now: datetime,
) -> None:
    """Move the loan's current row and append the events that explain it (numbered from
    `first_sequence`), in one statement."""
    await connection.execute(
        """
        WITH moved AS (
            UPDATE loans
               SET status = $3, approved_by = $4, disbursed_on = $5, account_id = $6,
                   write_off_requested_by = $7, outstanding_principal = $8,
                   closed_on = $9, events_count = $10 + cardinality($11::text[]) - 1,
                   updated_at = $16
             WHERE fund_id = $1 AND id = $2
        )
        INSERT INTO loan_events (fund_id, loan_id, sequence, kind, effective_date, recorded_at,
                                 actor, entry_id, data, penalty, interest, principal,
                                 repayment_sequence)
        SELECT $1, $2, $10 + e.n - 1, e.kind, e.effective_date, $16, $15, e.entry_id, e.data,
               e.penalty, e.interest, e.principal, e.repayment_sequence
          FROM unnest($11::text[], $12::date[], $13::uuid[], $14::jsonb[], $17::bigint[],
                      $18::bigint[], $19::bigint[], $20::integer[])
               WITH ORDINALITY AS e(kind, effective_date, entry_id, data, penalty, interest,
                                    principal, repayment_sequence, n)
        """,
        fund_id, loan_id, status, approved_by, disbursed_on, account_id, write_off_requested_by,
        outstanding_principal, closed_on, first_sequence,
        [e.kind for e in events], [e.effective_date for e in events],
        [e.entry_id for e in events], [e.data for e in events], actor, now,
        *([getattr(e.allocation or NOTHING_ALLOCATED, part) for e in events]
          for part in ("penalty", "interest", "principal")),
        [e.repayment_sequence for e in events],
    )


async def repayment_bookings(
    connection: asyncpg.Connection, fund_id: uuid.UUID, loan_ids: list[uuid.UUID]
) -> list[asyncpg.Record]:
    """The loans' repayments in force (not reversed), in recording order: each one's
    loan, event sequence, date, amount (its own allocation's sum), entry and allocation
    as booked so far (its own plus every adjustment posted since)."""
    return list(await connection.fetch(
        """
        SELECT r.loan_id, r.sequence, r.effective_date,
               r.penalty + r.interest + r.principal AS amount, r.entry_id,
               (r.penalty + coalesce(sum(a.penalty), 0))::bigint AS penalty,
               (r.interest + coalesce(sum(a.interest), 0))::bigint AS interest,
               (r.principal + coalesce(sum(a.principal), 0))::bigint AS principal
          FROM loan_events r
          LEFT JOIN loan_events a
            ON a.fund_id = r.fund_id AND a.loan_id = r.loan_id
           AND a.kind = 'repayment_adjusted' AND a.repayment_sequence = r.sequence
         WHERE r.fund_id = $1 AND r.loan_id = ANY($2::uuid[]) AND r.kind = 'repayment'
           AND NOT EXISTS (
               SELECT 1 FROM loan_events x
                WHERE x.fund_id = r.fund_id AND x.loan_id = r.loan_id
                  AND x.kind = 'repayment_reversed' AND x.repayment_sequence = r.sequence)
         GROUP BY r.fund_id, r.loan_id, r.sequence
         ORDER BY r.loan_id, r.sequence
        """,
        fund_id, loan_ids,
    ))


async def written_off_amount(
    connection: asyncpg.Connection, fund_id: uuid.UUID, loan_id: uuid.UUID
) -> int:
    """The principal the loan's write-off in force removed (0 when none)."""
    amount: int | None = await connection.fetchval(
        "SELECT (data ->> 'amount')::bigint FROM loan_events"
        " WHERE fund_id = $1 AND loan_id = $2 AND kind = 'written_off'"
        " ORDER BY sequence DESC LIMIT 1",
        fund_id, loan_id)
    return amount or 0


async def event_of_entry(
    connection: asyncpg.Connection, fund_id: uuid.UUID, entry_id: uuid.UUID
) -> asyncpg.Record | None:
    """The loan event the entry was posted for, if any (its loan, sequence and kind)."""
    record: asyncpg.Record | None = await connection.fetchrow(
        "SELECT loan_id, sequence, kind FROM loan_events WHERE fund_id = $1 AND entry_id = $2",
        fund_id, entry_id,
    )
    return record


async def list_events(
    connection: asyncpg.Connection, fund_id: uuid.UUID, loan_id: uuid.UUID
) -> list[asyncpg.Record]:
    return list(await connection.fetch(
        f"SELECT {EVENT_COLUMNS} FROM loan_events WHERE fund_id = $1 AND loan_id = $2"
        " ORDER BY sequence",
        fund_id, loan_id,
    ))


async def loans_of_member(
    connection: asyncpg.Connection, fund_id: uuid.UUID, member_id: uuid.UUID
) -> list[asyncpg.Record]:
    """The member's loans in the fund, by number."""
    return list(await connection.fetch(
        LOAN_SELECT + " WHERE l.fund_id = $1 AND l.member_id = $2 ORDER BY l.number",
        fund_id, member_id,
    ))


async def member_name(connection: asyncpg.Connection, member_id: uuid.UUID) -> str | None:
    name: str | None = await connection.fetchval(
        "SELECT name FROM members WHERE id = $1", member_id)
    return name
