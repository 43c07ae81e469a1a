"""Every query of the programme: targets, and the per-club figures of its report."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import NamedTuple

import asyncpg

from ledger import chart
from ledger.chart import BUDGET_SOURCES
from ledger.programme import SEED_SOURCES
from service.reports.repository import (
    CLUB_FUNDS_CTE,
    LOAN_SUMS_SQL,
    OLDER_MEMBER,
    PORTFOLIO_PARAMETER_TYPES,
    ReportStatement,
    StatementPart,
    ledger_figures_sql,
    portfolio_arguments,
    records_by_club,
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


# The capital accounts a budget's seed grant credits (its first one seeds the club).
BUDGET_CAPITAL_ACCOUNTS = sorted({chart.CAPITAL_ACCOUNT_BY_SOURCE[s] for s in BUDGET_SOURCES})
SEED_GRANT_ACCOUNTS = sorted(set(chart.CAPITAL_ACCOUNT_BY_SOURCE.values()))
SEED_COLUMNS = ",\n".join(
    f"sum(s.amount) FILTER (WHERE s.source = '{source}') AS seed_{source}"
    for source in SEED_SOURCES
)
# A seed grant's credit (`seed_grant_credits`, derived from the journal by the
# database) not reversed by the end of the period.
NOT_REVERSED = "(s.reversed_on IS NULL OR s.reversed_on > $3)"

# The programme's own parts, after the portfolio's $1–$6: $7 the capital accounts a
# seed grant credits, $8 the budget sources (their grants are the seed money that
# makes a club seeded), $9 the capital accounts of those budgets.
#
# Each club's establishment and its first seed money by the end of the period: per
# fund, its seed grants' credits in date order up to the first that is a budget's
# credit to its capital account, not reversed by then. The seed grants dated in the
# period, by source, with their decision numbers: one range of the credits' index per
# fund.
SEEDING_SQL = f"""
WITH {CLUB_FUNDS_CTE},
first_seeds AS (
    SELECT cf.club_id, min(first.effective_date) AS first_seed_on
      FROM club_funds cf
     CROSS JOIN LATERAL (
         SELECT s.effective_date
           FROM seed_grant_credits s
          WHERE s.fund_id = cf.fund_id AND s.effective_date <= $3
            AND s.account_code = ANY($9::text[]) AND s.source = ANY($8::text[])
            AND {NOT_REVERSED}
          ORDER BY s.effective_date
          LIMIT 1
     ) AS first
     GROUP BY cf.club_id
),
seeds AS (
    SELECT cf.club_id, {SEED_COLUMNS},
           -- Each as often as its credits (the core keeps a set): no sort of them.
           array_agg(s.decision_number) FILTER (WHERE s.decision_number IS NOT NULL)
               AS decision_numbers
      FROM club_funds cf
      JOIN seed_grant_credits s ON s.fund_id = cf.fund_id
     WHERE s.effective_date BETWEEN $2 AND $3 AND s.account_code = ANY($7::text[])
       AND {NOT_REVERSED}
     GROUP BY cf.club_id
)
SELECT c.id AS club_id,
       coalesce((SELECT min(h.valid_from) FROM club_areas h WHERE h.club_id = c.id),
                (c.created_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date) AS established_on,
       f.first_seed_on,
       {", ".join(f"coalesce(s.seed_{source}, 0)::bigint AS seed_{source}"
                  for source in SEED_SOURCES)},
       coalesce(s.decision_numbers, '{{}}') AS decision_numbers
  FROM clubs c
  LEFT JOIN first_seeds f ON f.club_id = c.id
  LEFT JOIN seeds s ON s.club_id = c.id
 WHERE c.id = ANY($1::uuid[])
"""

# A club is active in a month when an entry of its funds is dated in it, up to `as_of`:
# a month of `fund_months` (derived from the journal by the database) from the period's
# first month on whose first entry is dated on or before `as_of` — one range of its
# index per fund, nothing else read. The months come as one integer per club, bit m
# set for month m (no array per club). The period ($2) begins on the first of a month.
# Members active now who had joined by the end of the period (without a joining date:
# members since the club began).
ACTIVITY_SQL = f"""
WITH {CLUB_FUNDS_CTE},
activity AS (
    SELECT cf.club_id, bit_or(1 << extract(month FROM m.month)::int) AS active_month_bits
      FROM club_funds cf
      JOIN fund_months m ON m.fund_id = cf.fund_id
     WHERE m.month >= $2::date AND m.month <= $3::date AND m.first_day <= $3::date
     GROUP BY cf.club_id
),
people AS (
    SELECT m.club_id, count(*) AS members,
           count(*) FILTER (WHERE m.gender = 'female') AS members_women,
           count(*) FILTER (WHERE {OLDER_MEMBER}) AS members_aged_60_plus
      FROM members m
     WHERE m.club_id = ANY($1::uuid[]) AND m.status = 'active'
       AND (m.joined_on IS NULL OR m.joined_on <= $3)
     GROUP BY m.club_id
)
SELECT c.id AS club_id,
       coalesce(ac.active_month_bits, 0) AS active_month_bits,
       coalesce(pe.members, 0) AS members,
       coalesce(pe.members_women, 0) AS members_women,
       coalesce(pe.members_aged_60_plus, 0) AS members_aged_60_plus
  FROM unnest($1::uuid[]) AS c(id)
  LEFT JOIN activity ac ON ac.club_id = c.id
  LEFT JOIN people pe ON pe.club_id = c.id
"""

SEEDING_PART = StatementPart(
    "seeding", SEEDING_SQL,
    ("established_on", "first_seed_on", *(f"seed_{source}" for source in SEED_SOURCES),
     "decision_numbers"))
ACTIVITY_PART = StatementPart(
    "activity", ACTIVITY_SQL,
    ("active_month_bits", "members", "members_women", "members_aged_60_plus"))
# The portfolio's figures a programme row shows: the capital by source and the loans
# outstanding (no cash, no flows), what fell due, was repaid and is at risk (no
# borrowers' counts).
PROGRAMME_LEDGER_FIGURES = ("capital_district_budget", "capital_other_budgets",
                            "capital_donors", "capital_members", "capital_retained_surplus",
                            "loans_outstanding")
PROGRAMME_LEDGER_PART = StatementPart(
    "ledger", ledger_figures_sql(PROGRAMME_LEDGER_FIGURES), PROGRAMME_LEDGER_FIGURES)
PROGRAMME_LOANS_PART = StatementPart(
    "loans", LOAN_SUMS_SQL,
    ("amount_fallen_due", "amount_repaid_of_due", "outstanding_at_risk_30"))
# Two lanes as near equal in cost as the parts allow at 10,000 clubs: the ledger
# (90 ms) and the loans (400 ms) on one, the activity and members (190 ms) and the seed
# money (310 ms) on the other, on a host where pgbench's select-only script gives
# 25,000 tps (docs/benchmarks.md). `ProgrammeRecords` names the lanes in this order.
PROGRAMME_STATEMENT = ReportStatement(
    (*PORTFOLIO_PARAMETER_TYPES, "text[]", "text[]", "text[]"),
    ((PROGRAMME_LEDGER_PART, PROGRAMME_LOANS_PART), (ACTIVITY_PART, SEEDING_PART)))


class ProgrammeRecords(NamedTuple):
    """Each club's rows of the programme's parts, by club id: `portfolio` holds the
    ledger and loan parts' columns (lane 0), `programme` the activity and seed money
    parts' (lane 1); one and the same row when the parts ran as one statement."""

    portfolio: dict[uuid.UUID, asyncpg.Record]
    programme: dict[uuid.UUID, asyncpg.Record]


async def programme_figures(
    connection: asyncpg.Connection, pool: asyncpg.Pool | None, club_ids: list[uuid.UUID],
    start: date, as_of: date, days_at_risk: int, older_age: int,
    fund_scope: list[uuid.UUID] | None,
) -> ProgrammeRecords:
    """Per club: its establishment date, first seed money (a budget's seed grant) by
    `as_of`, the seed grants dated in [start, as_of] by source and their decision
    numbers, the months it was active, its members, and the portfolio's figures (null
    where the club has none of a side) — one snapshot, on two connections of `pool`
    when two are free (see `records_by_club`). The period begins on the first of a
    month (the active months are read by month)."""
    if start.day != 1:
        raise ValueError(f"a programme period begins on the first of a month, not {start}")
    records = await records_by_club(
        connection, pool, PROGRAMME_STATEMENT,
        [*portfolio_arguments(club_ids, start, as_of, days_at_risk, older_age, fund_scope),
         SEED_GRANT_ACCOUNTS, sorted(source.value for source in BUDGET_SOURCES),
         BUDGET_CAPITAL_ACCOUNTS],
    )
    return ProgrammeRecords(records.lane(0), records.lane(1))
