"""Each fund month keeps the first day on which the fund has an entry dated in it.

The programme counts a club active in a month when an entry of its funds is dated in
it, up to the report's date. `fund_months` (`0025`) told the months; for the month of
the report's date, when that date is not the month's last day, the report probed the
entries' index of every fund for the month's days up to the date: 10,000 probes at
10,000 clubs, on top of 10,000 ranges of `fund_months`.

`first_day` is the earliest date of the fund's entries in the month, so a month counts
up to a date D when `month <= D AND first_day <= D`: the report reads `fund_months`
alone. The primary key's index carries it (`INCLUDE`), so the read stays index-only.

The journal stays the one record: the statement trigger on `entries` adds a new month
with the first day of its new entries, and moves an existing month's first day
earlier when a new entry is dated before it (backdated). Existing months take it from
their entries here.

Revision ID: 2026_12_02_fund_month_first_days
Revises: 2026_12_02_fund_figures_probe
Create Date: 2026-12-02
"""

from service.migrate import execute_script, load_migration

revision = "2026_12_02_fund_month_first_days"
down_revision = "2026_12_02_fund_figures_probe"
branch_labels = None
depends_on = None

MONTHS = """
    INSERT INTO fund_months (fund_id, month, first_day)
    SELECT fund_id, date_trunc('month', effective_date)::date, min(effective_date)
      FROM {entries}
     GROUP BY fund_id, date_trunc('month', effective_date)::date
    ON CONFLICT (fund_id, month) DO UPDATE SET first_day = excluded.first_day
     WHERE excluded.first_day < fund_months.first_day
"""


def add_months_function(months: str) -> str:
    """The entries' trigger function that adds their months by `months` (a statement
    over `new_entries`)."""
    return f"""
    CREATE OR REPLACE FUNCTION clubfund_add_fund_months() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        {months};
        RETURN NULL;
    END $$;
    """


def upgrade() -> None:
    execute_script(f"""
    SELECT set_config('clubfund.all_funds', 'on', true);
    ALTER TABLE fund_months ADD COLUMN first_day date;
    UPDATE fund_months m
       SET first_day = (SELECT min(e.effective_date) FROM entries e
                         WHERE e.fund_id = m.fund_id AND e.effective_date >= m.month
                           AND e.effective_date < (m.month + interval '1 month')::date);
    ALTER TABLE fund_months ALTER COLUMN first_day SET NOT NULL,
        ADD CONSTRAINT ck_fund_months_first_day_in_month
            CHECK (date_trunc('month', first_day)::date = month);
    ALTER TABLE fund_months DROP CONSTRAINT pk_fund_months,
        ADD CONSTRAINT pk_fund_months PRIMARY KEY (fund_id, month) INCLUDE (first_day);
    {add_months_function(MONTHS.format(entries="new_entries"))}
    """)


def downgrade() -> None:
    # `0025`'s months, without their first days.
    fund_months = load_migration("0025_fund_months.py")
    execute_script(f"""
    {add_months_function(fund_months.MONTHS.format(entries="new_entries"))}
    ALTER TABLE fund_months DROP CONSTRAINT pk_fund_months,
        ADD CONSTRAINT pk_fund_months PRIMARY KEY (fund_id, month);
    ALTER TABLE fund_months DROP CONSTRAINT ck_fund_months_first_day_in_month,
        DROP COLUMN first_day;
    """)
