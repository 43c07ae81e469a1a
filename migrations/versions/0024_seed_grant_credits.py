"""The seed grants' credits, kept by the database: one row per credit posting of an
entry whose metadata names the operation `seed_grant`, with that posting's date,
account code and amount, the entry's funding source and decision number, and the date
of the entry that reverses it (`reversed_on`, null while none does).

The programme report needs, for every club, the seed money dated in its year by source
and decision number, and the first budget grant not reversed by the year's end. Read
from the journal, each grant is a posting, its entry (for the metadata) and a probe for
its reversal: at 10,000 clubs of the benchmark (190,000 grants in a year) that was 1.7
million index pages and the largest part of the report. Read from here, it is one range
of an index per club.

The journal stays the one record: these rows are derived, never written by the service.
A statement-level trigger on `postings` adds the credits of the seed grants among the
new postings (reading each one's entry, and its reversal if one was already written);
one on `entries` sets `reversed_on` on the credits of the entries the new ones reverse.
Either may come first (an archive's restore or the books import writes all the entries
before the postings), and both recompute from the journal rather than add to it.
Existing seed grants are read from the journal here.

Revision ID: 2026_12_01_seed_grant_credits
Revises: 2026_11_30_loan_paid_totals
Create Date: 2026-12-01
"""

from service.migrate import execute_script

revision = "2026_12_01_seed_grant_credits"
down_revision = "2026_11_30_loan_paid_totals"
branch_labels = None
depends_on = None

# The seed grants' credits among {postings}: each with its entry, and that entry's
# reversal when one is written.
CREDITS = """
    INSERT INTO seed_grant_credits (fund_id, entry_id, line, effective_date, account_code,
                                    source, decision_number, amount, reversed_on)
    SELECT p.fund_id, p.entry_id, p.line, p.effective_date, a.code,
           e.metadata ->> 'source', e.metadata ->> 'decision_number', p.amount,
           (SELECT r.effective_date FROM entries r
             WHERE r.fund_id = e.fund_id AND r.reverses_entry_id = e.id)
      FROM {postings} p
      JOIN entries e ON e.fund_id = p.fund_id AND e.id = p.entry_id
      JOIN accounts a ON a.fund_id = p.fund_id AND a.id = p.account_id
     WHERE p.side = 'credit' AND e.metadata ->> 'operation' = 'seed_grant'
"""


def upgrade() -> None:
    execute_script(f"""
    CREATE TABLE seed_grant_credits (
        fund_id         uuid   NOT NULL,
        entry_id        uuid   NOT NULL,
        line            smallint NOT NULL,
        effective_date  date   NOT NULL,
        account_code    text   NOT NULL,
        source          text,
        decision_number text,
        amount          bigint NOT NULL,
        reversed_on     date,
        CONSTRAINT pk_seed_grant_credits PRIMARY KEY (fund_id, entry_id, line),
        CONSTRAINT fk_seed_grant_credits_fund_id_entry_id_line_postings
            FOREIGN KEY (fund_id, entry_id, line) REFERENCES postings (fund_id, entry_id, line)
    );
    CREATE INDEX ix_seed_grant_credits_fund_id_effective_date
        ON seed_grant_credits (fund_id, effective_date);
    SELECT clubfund_protect_fund_table('seed_grant_credits');

    CREATE FUNCTION clubfund_add_seed_grant_credits() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        {CREDITS.format(postings="new_postings")};
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_postings_add_seed_grant_credits AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION clubfund_add_seed_grant_credits();

    CREATE FUNCTION clubfund_mark_reversed_seed_grants() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        UPDATE seed_grant_credits s
           SET reversed_on = n.effective_date
          FROM new_entries n
         WHERE n.reverses_entry_id IS NOT NULL
           AND s.fund_id = n.fund_id AND s.entry_id = n.reverses_entry_id;
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_entries_mark_reversed_seed_grants AFTER INSERT ON entries
        REFERENCING NEW TABLE AS new_entries
        FOR EACH STATEMENT EXECUTE FUNCTION clubfund_mark_reversed_seed_grants();

    SELECT set_config('clubfund.all_funds', 'on', true);
    {CREDITS.format(postings="postings")};

    GRANT SELECT ON seed_grant_credits TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_entries_mark_reversed_seed_grants ON entries;
    DROP FUNCTION clubfund_mark_reversed_seed_grants;
    DROP TRIGGER trg_postings_add_seed_grant_credits ON postings;
    DROP FUNCTION clubfund_add_seed_grant_credits;
    DROP TABLE seed_grant_credits;
    """)
