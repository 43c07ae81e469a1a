"""What a loan had been paid by each date, kept on the loan by the database.

`0023` kept what a loan has been paid in all (`paid_interest_principal`,
`paid_principal`) and the latest date of a payment (`paid_through`). A report dated
before a loan's last payment still had to read that loan's events: as of the end of
2025, 111,000 of 240,000 loans, one probe of `loan_events` each, most of the loan part's
time in the portfolio and the programme.

The three columns become three arrays, in date order, one element per date on which
an event moved the loan's interest or principal:

- `paid_dates`: those dates;
- `paid_interest_principal_by_date`: interest + principal paid up to and including
  each date (a running total);
- `paid_principal_by_date`: principal paid up to and including each date.

What was paid by a date D is the running total at `width_bucket(D, paid_dates)` (the
number of payment dates on or before D; 0, before the first: nothing); what was paid in
all is the last element. No event is read, and the index of `0021` that let the
reports sum a loan's events by date from the index alone is dropped: nothing reads it.

The events stay the one record of what was paid: the statement-level trigger of `0023`
recomputes the arrays from every event of each loan the statement touched (never adds
to them), whoever writes the events. Existing loans take them from their events here.

Revision ID: 2026_12_01_loan_payments_by_date
Revises: 2026_12_01_generic_write_plans
Create Date: 2026-12-01
"""

from service.migrate import execute_script

revision = "2026_12_01_loan_payments_by_date"
down_revision = "2026_12_01_generic_write_plans"
branch_labels = None
depends_on = None

# Per touched loan: its dates with a payment and the running totals at each, from
# every one of its events (a date's events summed first).
RECOMPUTE = """
    UPDATE loans l
       SET paid_dates = p.paid_dates,
           paid_interest_principal_by_date = p.paid_interest_principal_by_date,
           paid_principal_by_date = p.paid_principal_by_date
      FROM (SELECT d.fund_id, d.loan_id,
                   array_agg(d.effective_date ORDER BY d.effective_date) AS paid_dates,
                   array_agg(d.interest_principal ORDER BY d.effective_date)
                       AS paid_interest_principal_by_date,
                   array_agg(d.principal ORDER BY d.effective_date) AS paid_principal_by_date
              FROM (SELECT e.fund_id, e.loan_id, e.effective_date,
                           sum(sum(e.interest + e.principal)) OVER w AS interest_principal,
                           sum(sum(e.principal)) OVER w AS principal
                      FROM loan_events e
                      JOIN (SELECT DISTINCT fund_id, loan_id FROM {touched}) AS k
                        ON k.fund_id = e.fund_id AND k.loan_id = e.loan_id
                     WHERE e.interest <> 0 OR e.principal <> 0
                     GROUP BY e.fund_id, e.loan_id, e.effective_date
                    WINDOW w AS (PARTITION BY e.fund_id, e.loan_id
                                 ORDER BY e.effective_date)) AS d
             GROUP BY d.fund_id, d.loan_id) AS p
     WHERE l.fund_id = p.fund_id AND l.id = p.loan_id
       AND (l.paid_dates, l.paid_interest_principal_by_date, l.paid_principal_by_date)
           IS DISTINCT FROM
           (p.paid_dates, p.paid_interest_principal_by_date::bigint[],
            p.paid_principal_by_date::bigint[])
"""

# 0023's totals, for the downgrade.
RECOMPUTE_TOTALS = """
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


def recomputed_by_the_trigger(recompute: str) -> str:
    """The trigger's function recomputing with `recompute`, then every loan by it."""
    return f"""
    CREATE OR REPLACE FUNCTION clubfund_total_loan_payments() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        {recompute.format(touched="new_rows")};
        RETURN NULL;
    END $$;

    SELECT set_config('clubfund.all_funds', 'on', true);
    {recompute.format(touched="loan_events")};
    """


def upgrade() -> None:
    execute_script("""
    ALTER TABLE loans
        DROP COLUMN paid_interest_principal,
        DROP COLUMN paid_principal,
        DROP COLUMN paid_through,
        ADD COLUMN paid_dates date[] NOT NULL DEFAULT '{}',
        ADD COLUMN paid_interest_principal_by_date bigint[] NOT NULL DEFAULT '{}',
        ADD COLUMN paid_principal_by_date bigint[] NOT NULL DEFAULT '{}',
        ADD CONSTRAINT ck_loans_paid_by_date CHECK (
            cardinality(paid_interest_principal_by_date) = cardinality(paid_dates)
            AND cardinality(paid_principal_by_date) = cardinality(paid_dates));
    DROP INDEX ix_loan_events_fund_id_loan_id_effective_date;
    """ + recomputed_by_the_trigger(RECOMPUTE))


def downgrade() -> None:
    execute_script("""
    ALTER TABLE loans
        DROP CONSTRAINT ck_loans_paid_by_date,
        DROP COLUMN paid_dates,
        DROP COLUMN paid_interest_principal_by_date,
        DROP COLUMN paid_principal_by_date,
        ADD COLUMN paid_interest_principal bigint NOT NULL DEFAULT 0,
        ADD COLUMN paid_principal bigint NOT NULL DEFAULT 0,
        ADD COLUMN paid_through date;
    CREATE INDEX ix_loan_events_fund_id_loan_id_effective_date
        ON loan_events (fund_id, loan_id, effective_date) INCLUDE (interest, principal);
    """ + recomputed_by_the_trigger(RECOMPUTE_TOTALS))
