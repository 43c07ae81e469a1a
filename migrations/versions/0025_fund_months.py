"""The months in which each fund has an entry dated, kept by the database
(`fund_months`: the fund and the first day of the month).

The programme report counts a club active in a month when an entry of its funds is
dated in it. Read from the journal, that is one probe of the entries' index per fund
and month: at 10,000 clubs, 120,000 probes for a year. Read from here, it is one range
of an index per fund.

The journal stays the one record: a statement-level trigger on `entries` adds the
months of the new entries (the journal is append-only, so a month once active stays
so). Existing entries' months are read here.

Revision ID: 2026_12_01_fund_months
Revises: 2026_12_01_seed_grant_credits
Create Date: 2026-12-01
"""

from service.migrate import execute_script

revision = "2026_12_01_fund_months"
down_revision = "2026_12_01_seed_grant_credits"
branch_labels = None
depends_on = None

MONTHS = """
    INSERT INTO fund_months (fund_id, month)
    SELECT DISTINCT fund_id, date_trunc('month', effective_date)::date
      FROM {entries}
    ON CONFLICT (fund_id, month) DO NOTHING
"""


def upgrade() -> None:
    execute_script(f"""
    CREATE TABLE fund_months (
        fund_id uuid NOT NULL,
        month   date NOT NULL,
        CONSTRAINT pk_fund_months PRIMARY KEY (fund_id, month),
        CONSTRAINT fk_fund_months_fund_id_funds FOREIGN KEY (fund_id) REFERENCES funds (id),
        CONSTRAINT ck_fund_months_first_day CHECK (extract(day FROM month) = 1)
    );
    SELECT clubfund_protect_fund_table('fund_months');

    CREATE FUNCTION clubfund_add_fund_months() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        {MONTHS.format(entries="new_entries")};
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_entries_add_fund_months AFTER INSERT ON entries
        REFERENCING NEW TABLE AS new_entries
        FOR EACH STATEMENT EXECUTE FUNCTION clubfund_add_fund_months();

    SELECT set_config('clubfund.all_funds', 'on', true);
    {MONTHS.format(entries="entries")};

    GRANT SELECT ON fund_months TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_entries_add_fund_months ON entries;
    DROP FUNCTION clubfund_add_fund_months;
    DROP TABLE fund_months;
    """)
