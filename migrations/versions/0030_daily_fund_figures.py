"""Each fund's report figures at the end of each day, kept by the database.

The portfolio and the programme read, per club, the balances behind their fund
figures (the capital by source, cash, loans outstanding, interest earned, write-offs)
at the end of a day. They read them from `daily_balances` and `daily_group_balances`:
one probe per account or group of a figure, after finding each fund's top-level
accounts and stepping through its groups of sub-accounts. At 10,000 clubs that is
some 70,000 probes and 140,000 account rows, most of the programme's ledger part.

`daily_fund_figures` holds, per fund and per day on which a posting moved an account
of a figure, each figure's balance at the end of that day (signed on each account's
normal side, summed over the figure's accounts). A report reads one row per fund: the
latest on or before its date (and, for a figure that is a flow over a period, the
latest before the period).

Which accounts make a figure is decided here, once, by code (`clubfund_report_figure`):
the default chart's codes of docs/design.md and every account whose code begins with
one of them (the sub-accounts of a loan's receivable 131.0007 are loans outstanding).

The journal stays the one record: a statement-level trigger on `postings` adds the new
postings to the day they are dated and to every later day stored (a backdated entry
moves the balances of every day after it), in the posting transaction.

Nothing reads `daily_group_balances` (migration `0008`) any more: it goes, with its
trigger, so a posting still maintains one such table, not two. A downgrade builds it
again from the postings with `0008`'s own upgrade. Nor do the partial indexes of
`accounts` by which the reports found each fund's accounts and groups (migration
`0026`): they go too.

Revision ID: 2026_12_02_daily_fund_figures
Revises: 2026_12_01_loan_payments_by_date
Create Date: 2026-12-02
"""

from service.migrate import execute_script, load_migration

revision = "2026_12_02_daily_fund_figures"
down_revision = "2026_12_01_loan_payments_by_date"
branch_labels = None
depends_on = None

# Each figure and the code prefixes of its accounts (the default chart).
FIGURE_PREFIXES = (
    ("capital_district_budget", ("4111",)),
    ("capital_other_budgets", ("4112",)),
    ("capital_donors", ("4113",)),
    ("capital_members", ("4114",)),
    ("capital_retained_surplus", ("4118",)),
    ("cash", ("111", "112")),
    ("loans_outstanding", ("131",)),
    ("interest_earned", ("515",)),
    ("write_offs", ("811",)),
)
FIGURES = [name for name, _ in FIGURE_PREFIXES]
FIGURE_CASES = "\n".join(
    "WHEN " + " OR ".join(f"starts_with(code, '{prefix}')" for prefix in prefixes)
    + f" THEN '{name}'"
    for name, prefixes in FIGURE_PREFIXES
)
COLUMNS = ", ".join(FIGURES)

# Per fund and day, what the postings of `{postings}` add to each figure.
ADDED = """
    SELECT s.fund_id, s.effective_date,
           {sums}
      FROM (SELECT p.fund_id, p.effective_date, clubfund_report_figure(a.code) AS figure,
                   CASE WHEN p.side = a.normal_side THEN p.amount ELSE -p.amount END
                       AS amount
              FROM {postings} p
              JOIN accounts a ON a.fund_id = p.fund_id AND a.id = p.account_id) AS s
     WHERE s.figure IS NOT NULL
     GROUP BY s.fund_id, s.effective_date
""".replace("{sums}", ",\n           ".join(
    f"coalesce(sum(s.amount) FILTER (WHERE s.figure = '{name}'), 0)::bigint AS {name}"
    for name in FIGURES))

# A day's new figures: a stored day's old figures, or a new day's those of the latest
# stored day before it (0 without one), plus every new posting dated on or before it.
NEW_FIGURES = ",\n               ".join(
    f"CASE WHEN d.stored THEN d.old_{name} ELSE coalesce(b.{name}, 0) END"
    f" + sum(d.added_{name}) OVER w AS {name}"
    for name in FIGURES)


# The trigger's function: a posting statement's postings added to their days and to
# every later stored day of their funds (`0031` replaces it, and restores it on a
# downgrade).
APPLY_FUNCTION = f"""
CREATE OR REPLACE FUNCTION clubfund_apply_postings_to_daily_fund_figures() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
BEGIN
    WITH added AS ({ADDED.format(postings="new_postings")}),
    first_days AS (
        SELECT fund_id, min(effective_date) AS first_day FROM added GROUP BY fund_id
    ),
    later AS (
        SELECT d.*
          FROM first_days f
          JOIN daily_fund_figures d
            ON d.fund_id = f.fund_id AND d.effective_date >= f.first_day
    ),
    -- Every day whose row is written: the days of the new postings and the stored
    -- days after the first of them, with what the statement adds on the day and,
    -- for a stored day, its figures before this statement.
    days AS (
        SELECT coalesce(a.fund_id, l.fund_id) AS fund_id,
               coalesce(a.effective_date, l.effective_date) AS effective_date,
               l.fund_id IS NOT NULL AS stored,
               {", ".join(f"coalesce(a.{n}, 0) AS added_{n}, l.{n} AS old_{n}"
                          for n in FIGURES)}
          FROM added a
          FULL JOIN later l
            ON l.fund_id = a.fund_id AND l.effective_date = a.effective_date
    )
    INSERT INTO daily_fund_figures (fund_id, effective_date, {COLUMNS})
    SELECT d.fund_id, d.effective_date,
           {NEW_FIGURES}
      FROM days d
      LEFT JOIN LATERAL (
          SELECT * FROM daily_fund_figures p
           WHERE NOT d.stored AND p.fund_id = d.fund_id
             AND p.effective_date < d.effective_date
           ORDER BY p.effective_date DESC
           LIMIT 1
      ) AS b ON true
    WINDOW w AS (PARTITION BY d.fund_id ORDER BY d.effective_date)
    ON CONFLICT (fund_id, effective_date) DO UPDATE
       SET {", ".join(f"{n} = excluded.{n}" for n in FIGURES)};
    RETURN NULL;
END $$;
"""


def upgrade() -> None:
    execute_script(f"""
    CREATE FUNCTION clubfund_report_figure(code text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE
        {FIGURE_CASES}
        END
    $$;

    CREATE TABLE daily_fund_figures (
        fund_id        uuid   NOT NULL,
        effective_date date   NOT NULL,
        {", ".join(f"{name} bigint NOT NULL" for name in FIGURES)},
        CONSTRAINT pk_daily_fund_figures PRIMARY KEY (fund_id, effective_date)
            INCLUDE ({COLUMNS}),
        CONSTRAINT fk_daily_fund_figures_fund_id_funds
            FOREIGN KEY (fund_id) REFERENCES funds (id)
    );
    SELECT clubfund_protect_fund_table('daily_fund_figures');

    {APPLY_FUNCTION}
    CREATE TRIGGER trg_postings_apply_daily_fund_figures AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION clubfund_apply_postings_to_daily_fund_figures();

    SELECT set_config('clubfund.all_funds', 'on', true);
    INSERT INTO daily_fund_figures (fund_id, effective_date, {COLUMNS})
    SELECT fund_id, effective_date,
           {", ".join(f"sum({n}) OVER w" for n in FIGURES)}
      FROM ({ADDED.format(postings="postings")}) AS days
    WINDOW w AS (PARTITION BY fund_id ORDER BY effective_date);

    GRANT SELECT ON daily_fund_figures TO clubfund_app;

    DROP TRIGGER trg_postings_apply_daily_group_balances ON postings;
    DROP FUNCTION apply_postings_to_daily_group_balances;
    DROP TABLE daily_group_balances;
    DROP STATISTICS st_accounts_code_dot;
    DROP INDEX ix_accounts_sub_accounts;
    DROP INDEX ix_accounts_top_level;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_postings_apply_daily_fund_figures ON postings;
    DROP FUNCTION clubfund_apply_postings_to_daily_fund_figures;
    DROP TABLE daily_fund_figures;
    DROP FUNCTION clubfund_report_figure;
    CREATE INDEX ix_accounts_top_level ON accounts (fund_id, code)
        INCLUDE (id, normal_side) WHERE strpos(code, '.') = 0;
    CREATE INDEX ix_accounts_sub_accounts ON accounts (fund_id, normal_side, code COLLATE "C")
        WHERE strpos(code, '.') > 0;
    CREATE STATISTICS st_accounts_code_dot ON (strpos(code, '.')) FROM accounts;
    """)
    load_migration("0008_daily_group_balances.py").upgrade()
