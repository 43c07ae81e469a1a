"""Every query of the programme: targets, and the per-club figures of its report."""

from __future__ import annotations

import uuid
from datetime import date, datetime

import asyncpg

from ledger import chart
from ledger.chart import BUDGET_SOURCES
from ledger.programme import SEED_SOURCES
from service.reports.repository import (
    LOAN_FIGURES,
    PORTFOLIO_FIGURES_SQL,
    PORTFOLIO_FLOWS,
    PORTFOLIO_STOCKS,
    portfolio_arguments,
    use_custom_plans,
)

TARGET_COLUMNS = (
    "area_code, year, new_clubs, members, fund_size, currency, plan_reference, set_by, set_at"
)


async def upsert_target(
    connection: asyncpg.Connection, *, area_code: str, year: int, new_clubs: int,
    members: int, fund_size: int | None, currency: str, plan_reference: str, set_by: str,
    now: datetime,
) -> asyncpg.Record:
    record: asyncpg.Record = await connection.fetchrow(
        f"""
        INSERT INTO programme_targets ({TARGET_COLUMNS})
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        ON CONFLICT (area_code, year) DO UPDATE
           SET new_clubs = excluded.new_clubs, members = excluded.members,
               fund_size = excluded.fund_size, currency = excluded.currency,
               plan_reference = excluded.plan_reference, set_by = excluded.set_by,
               set_at = excluded.set_at
        RETURNING {TARGET_COLUMNS}
        """,
        area_code, year, new_clubs, members, fund_size, currency, plan_reference, set_by, now,
    )
    return record


async def list_targets(
    connection: asyncpg.Connection, area_codes: list[str], year: int | None,
    after_year: int | None, limit: int,
) -> list[asyncpg.Record]:
    """Targets of the areas (in area then year order), of one year or of every year."""
    return list(await connection.fetch(
        f"SELECT {TARGET_COLUMNS} FROM programme_targets"
        " WHERE area_code = ANY($1::text[]) AND ($2::int IS NULL OR year = $2)"
        " AND ($3::int IS NULL OR year > $3)"
        " ORDER BY area_code, year LIMIT $4",
        area_codes, year, after_year, limit,
    ))


SEED_GRANT_ACCOUNTS = sorted(set(chart.CAPITAL_ACCOUNT_BY_SOURCE.values()))
PORTFOLIO_COLUMNS = [*PORTFOLIO_STOCKS, *PORTFOLIO_FLOWS, *LOAN_FIGURES]
SEED_COLUMNS = ",\n".join(
    f"sum(amount) FILTER (WHERE effective_date >= $5 AND source = '{source}') AS seed_{source}"
    for source in SEED_SOURCES
)

# After the portfolio's $1–$9: $10 the capital accounts a seed grant credits, $11 the
# budget sources (their grants are the seed money that makes a club seeded).
PROGRAMME_FIGURES_SQL = f"""
    WITH portfolio AS MATERIALIZED ({PORTFOLIO_FIGURES_SQL}),
    club_funds AS MATERIALIZED (
        SELECT c.id AS club_id, fu.id AS fund_id
          FROM clubs c JOIN funds fu ON fu.club_id = c.id
         WHERE c.id = ANY($1::uuid[])
           AND ($7::uuid[] IS NULL OR fu.id = ANY($7::uuid[]))
    ),
    established AS (
        SELECT c.id AS club_id,
               coalesce((SELECT min(h.valid_from) FROM club_areas h WHERE h.club_id = c.id),
                        (c.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date)
                   AS established_on
          FROM clubs c
         WHERE c.id = ANY($1::uuid[])
    ),
    -- Seed grants up to the end of the period, found through the postings to the
    -- capital accounts they credit; a grant reversed by then does not count.
    seed_grants AS (
        SELECT cf.club_id, p.effective_date, p.amount,
               e.metadata ->> 'source' AS source,
               e.metadata ->> 'decision_number' AS decision_number
          FROM club_funds cf
          JOIN accounts a ON a.fund_id = cf.fund_id AND a.code = ANY($10::text[])
          JOIN postings p ON p.fund_id = a.fund_id AND p.account_id = a.id
                         AND p.effective_date <= $6 AND p.side = 'credit'
          JOIN entries e ON e.fund_id = p.fund_id AND e.id = p.entry_id
         WHERE e.metadata ->> 'operation' = 'seed_grant'
           AND NOT EXISTS (SELECT FROM entries r
                            WHERE r.fund_id = e.fund_id AND r.reverses_entry_id = e.id
                              AND r.effective_date <= $6)
    ),
    seeds AS (
        SELECT club_id,
               min(effective_date) FILTER (WHERE source = ANY($11::text[])) AS first_seed_on,
               {SEED_COLUMNS},
               array_remove(array_agg(DISTINCT decision_number)
                            FILTER (WHERE effective_date >= $5), NULL) AS decision_numbers
          FROM seed_grants
         GROUP BY club_id
    ),
    -- A club is active in a month when an entry of its funds is dated in it: one
    -- probe of the (fund_id, effective_date) index per fund and month (LIMIT 1: a
    -- probe, never a scan of the journal).
    activity AS (
        SELECT cf.club_id, array_agg(DISTINCT m.month) AS active_months
          FROM club_funds cf
         CROSS JOIN LATERAL (
             SELECT extract(month FROM d)::int AS month, d::date AS first_day,
                    least((d + interval '1 month')::date - 1, $6::date) AS last_day
               FROM generate_series($5::date, $6::date, interval '1 month') AS d
         ) AS m
         CROSS JOIN LATERAL (
             SELECT 1 FROM entries e
              WHERE e.fund_id = cf.fund_id
                AND e.effective_date BETWEEN m.first_day AND m.last_day
              LIMIT 1
         ) AS hit
         GROUP BY cf.club_id
    ),
    -- Members active now who had joined by the end of the period (without a joining
    -- date: members since the club began).
    people AS (
        SELECT m.club_id, count(*) AS members,
               count(*) FILTER (WHERE m.gender = 'female') AS members_women,
               count(*) FILTER (WHERE extract(year FROM $6::date) - m.birth_year >= $9)
                   AS members_aged_60_plus
          FROM members m
         WHERE m.club_id = ANY($1::uuid[]) AND m.status = 'active'
           AND (m.joined_on IS NULL OR m.joined_on <= $6)
         GROUP BY m.club_id
    )
    SELECT es.club_id, es.established_on, s.first_seed_on,
           {", ".join(f"coalesce(s.seed_{source}, 0)::bigint AS seed_{source}"
                      for source in SEED_SOURCES)},
           coalesce(s.decision_numbers, '{{}}') AS decision_numbers,
           coalesce(ac.active_months, '{{}}') AS active_months,
           coalesce(pe.members, 0) AS members,
           coalesce(pe.members_women, 0) AS members_women,
           coalesce(pe.members_aged_60_plus, 0) AS members_aged_60_plus,
           {", ".join(f"p.{name}" for name in PORTFOLIO_COLUMNS)}
      FROM established es
      LEFT JOIN seeds s ON s.club_id = es.club_id
      LEFT JOIN activity ac ON ac.club_id = es.club_id
      LEFT JOIN people pe ON pe.club_id = es.club_id
      LEFT JOIN portfolio p ON p.club_id = es.club_id
"""


async def programme_figures(
    connection: asyncpg.Connection, club_ids: list[uuid.UUID], start: date, as_of: date,
    days_at_risk: int, older_age: int, fund_scope: list[uuid.UUID] | None,
) -> list[asyncpg.Record]:
    """Per club: its establishment date, first seed money (a budget's seed grant) by
    `as_of`, the seed grants dated in [start, as_of] by source and their decision
    numbers, the months it was active, its members, and the portfolio's figures (null
    where the club has none of a side) — one statement, one snapshot."""
    await use_custom_plans(connection)
    return list(await connection.fetch(
        PROGRAMME_FIGURES_SQL,
        *portfolio_arguments(club_ids, start, as_of, days_at_risk, older_age, fund_scope),
        SEED_GRANT_ACCOUNTS, sorted(source.value for source in BUDGET_SOURCES),
    ))
