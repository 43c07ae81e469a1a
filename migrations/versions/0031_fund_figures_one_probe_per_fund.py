"""The fund figures' trigger reads each fund's figures before a statement once, by index.

`0030`'s trigger found, for each new day of a posting statement, the figures of the
latest stored day before it with a lateral subquery on the days of a full join. The
planner cannot probe an index with a value of such a join (the day's fund is
`coalesce(a.fund_id, l.fund_id)`), so it read the whole of `daily_fund_figures`, every
fund's every day, once for each new day: an entry dated on a day its fund had not
recorded yet scanned the table. At 700 funds loaded (131,000 stored days) that was 5.5
billion rows read by 131,000 scans, and it grows with every fund.

Now each fund of the statement is probed once, by the primary key, for its latest
stored day before the first day the statement touches (`bases`): one probe per fund,
as `daily_balances` does per account (`0006`). A new day's figures before the
statement are those of the latest stored day before it: the stored day that begins
its run of days (the days from one stored day up to the next), or the base when no
stored day comes before it in the statement's range. What a day's row holds is
unchanged.

Revision ID: 2026_12_02_fund_figures_probe
Revises: 2026_12_02_daily_fund_figures
Create Date: 2026-12-02
"""

from service.migrate import execute_script, load_migration

revision = "2026_12_02_fund_figures_probe"
down_revision = "2026_12_02_daily_fund_figures"
branch_labels = None
depends_on = None

daily_fund_figures = load_migration("0030_daily_fund_figures.py")

ADDED = daily_fund_figures.ADDED
FIGURES: list[str] = daily_fund_figures.FIGURES
COLUMNS = ", ".join(FIGURES)

# A day's new figures: its figures before the statement (a stored day's own; a new
# day's those of the stored day that begins its run, or the fund's base before the
# statement's first day, or 0) plus every new posting dated on or before it.
NEW_FIGURES = ",\n           ".join(
    f"coalesce(first_value(d.old_{name}) OVER run, b.{name}, 0)"
    f" + sum(d.added_{name}) OVER w AS {name}"
    for name in FIGURES)

APPLY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION clubfund_apply_postings_to_daily_fund_figures() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    WITH added AS ({ADDED.format(postings="new_postings")}),
    first_days AS (
        SELECT fund_id, min(effective_date) AS first_day FROM added GROUP BY fund_id
    ),
    -- Each fund's figures at the end of its latest stored day before the first day
    -- the statement touches: one probe of the primary key per fund.
    bases AS MATERIALIZED (
        SELECT f.fund_id, {", ".join(f"b.{n}" for n in FIGURES)}
          FROM first_days f
          LEFT JOIN LATERAL (
              SELECT {COLUMNS}
                FROM daily_fund_figures p
               WHERE p.fund_id = f.fund_id AND p.effective_date < f.first_day
               ORDER BY p.effective_date DESC
               LIMIT 1
          ) AS b ON true
    ),
    later AS (
        SELECT d.fund_id, d.effective_date, {", ".join(f"d.{n}" for n in FIGURES)}
          FROM first_days f
          JOIN daily_fund_figures d
            ON d.fund_id = f.fund_id AND d.effective_date >= f.first_day
    ),
    -- Every day whose row is written: the days of the new postings and the stored
    -- days after the first of them, with what the statement adds on the day, a
    -- stored day's figures before this statement, and how many stored days there are
    -- up to it in the statement's range (its run: a new day belongs to the stored day
    -- before it, or to none).
    days AS (
        SELECT coalesce(a.fund_id, l.fund_id) AS fund_id,
               coalesce(a.effective_date, l.effective_date) AS effective_date,
               {", ".join(f"coalesce(a.{n}, 0) AS added_{n}, l.{n} AS old_{n}"
                          for n in FIGURES)},
               count(l.fund_id) OVER (
                   PARTITION BY coalesce(a.fund_id, l.fund_id)
                   ORDER BY coalesce(a.effective_date, l.effective_date)) AS run
          FROM added a
          FULL JOIN later l
            ON l.fund_id = a.fund_id AND l.effective_date = a.effective_date
    )
    INSERT INTO daily_fund_figures (fund_id, effective_date, {COLUMNS})
    SELECT d.fund_id, d.effective_date,
           {NEW_FIGURES}
      FROM days d
      JOIN bases b ON b.fund_id = d.fund_id
    WINDOW run AS (PARTITION BY d.fund_id, d.run ORDER BY d.effective_date),
           w AS (PARTITION BY d.fund_id ORDER BY d.effective_date)
    ON CONFLICT (fund_id, effective_date) DO UPDATE
       SET {", ".join(f"{n} = excluded.{n}" for n in FIGURES)};
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    execute_script(APPLY_FUNCTION)


def downgrade() -> None:
    execute_script(daily_fund_figures.APPLY_FUNCTION)
