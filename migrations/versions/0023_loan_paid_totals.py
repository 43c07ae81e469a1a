"""What a loan has been paid, kept on the loan by the database: the sum of its events'
interest and principal (`paid_interest_principal`), of their principal
(`paid_principal`), and the latest date of an event that moved them (`paid_through`).

The portfolio report needs, for every loan, what was paid by its date. When that date
is on or after `paid_through` (always, as of today), the answer is these columns and
the loan's events need not be read: at 240,000 loans, as of the last day, a third of
the loan figures' time was summing each loan's events.

The events stay the one record of what was paid: a statement-level trigger on
`loan_events` recomputes these columns from every event of each loan the statement
touched (never adds to them), in the same transaction, whoever writes the events —
the service, the books import or an archive's restore, which writes a loan's row
before its events. Existing loans take them from their events here.

Revision ID: 2026_11_30_loan_paid_totals
Revises: 2026_11_30_set_wise_checks
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_loan_paid_totals"
down_revision = "2026_11_30_set_wise_checks"
branch_labels = None
depends_on = None

RECOMPUTE = """
    UPDATE loans l
       SET paid_interest_principal = p.paid_interest_principal,
           paid_principal = p.paid_principal,
           paid_through = p.paid_through
      FROM (SELECT e.fund_id, e.loan_id,
                   sum(e.interest + e.principal)::bigint AS paid_interest_principal,
                   sum(e.principal)::bigint AS paid_principal,
                   max(e.effective_date) FILTER (WHERE e.interest <> 0 OR e.principal <> 0)
                       AS paid_through
              FROM loan_events e
              JOIN (SELECT DISTINCT fund_id, loan_id FROM {touched}) AS k
                ON k.fund_id = e.fund_id AND k.loan_id = e.loan_id
             GROUP BY e.fund_id, e.loan_id) AS p
     WHERE l.fund_id = p.fund_id AND l.id = p.loan_id
       AND (l.paid_interest_principal, l.paid_principal, l.paid_through)
           IS DISTINCT FROM (p.paid_interest_principal, p.paid_principal, p.paid_through)
"""


def upgrade() -> None:
    execute_script(f"""
    ALTER TABLE loans
        ADD COLUMN paid_interest_principal bigint NOT NULL DEFAULT 0,
        ADD COLUMN paid_principal bigint NOT NULL DEFAULT 0,
        ADD COLUMN paid_through date;

    CREATE FUNCTION clubfund_total_loan_payments() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        {RECOMPUTE.format(touched="new_rows")};
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_loan_events_total_payments AFTER INSERT ON loan_events
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION clubfund_total_loan_payments();

    SELECT set_config('clubfund.all_funds', 'on', true);
    {RECOMPUTE.format(touched="loan_events")};
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_loan_events_total_payments ON loan_events;
    DROP FUNCTION clubfund_total_loan_payments;
    ALTER TABLE loans
        DROP COLUMN paid_interest_principal,
        DROP COLUMN paid_principal,
        DROP COLUMN paid_through;
    """)
