"""Loan terms within bounds, and rescheduling before disbursement.

- `loan_events` take one more kind: `rescheduled` (an approved loan's new first due
  date and/or instalment count, before it is paid out; data: reason, before, after).
- The service may update a loan's `first_due_date` and `installments` (rescheduling).
- A second guard on the bounds the service checks first (ledger/loan_terms.py): a loan
  written with new terms (inserted, or its rate, penalty, principal, unit, frequency or
  instalments changed) has an annual rate (rate per period × periods a year) of at most
  20 %, a penalty (per day × 365) of at most 150 % of that, and a principal of at least
  one rounding unit per instalment; otherwise `ck_loans_terms_within_bounds` is
  violated. Loans written before keep their terms (the trigger fires on writes of the
  terms only).

Revision ID: 2026_11_30_loan_terms
Revises: 2026_11_30_corrections
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_loan_terms"
down_revision = "2026_11_30_corrections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ('applied', 'approved', 'rejected',
            'disbursed', 'repayment', 'write_off_requested', 'write_off_rejected',
            'written_off', 'repayment_adjusted', 'repayment_reversed', 'write_off_reversed',
            'rescheduled'));
    GRANT UPDATE (first_due_date, installments) ON loans TO clubfund_app;

    CREATE FUNCTION refuse_loan_terms_out_of_bounds() RETURNS trigger
    LANGUAGE plpgsql AS $$
    DECLARE
        annual_rate numeric := NEW.rate_per_period * CASE NEW.frequency
            WHEN 'weekly' THEN 52 WHEN 'biweekly' THEN 26 WHEN 'monthly' THEN 12
            WHEN 'quarterly' THEN 4 END;
    BEGIN
        IF annual_rate IS NULL OR annual_rate > 0.2
           OR NEW.penalty_rate_per_day * 365 > 1.5 * annual_rate
           OR NEW.principal < NEW.rounding_unit * NEW.installments THEN
            RAISE EXCEPTION 'loan % has terms outside the bounds (annual rate %, penalty %/day,'
                ' principal %, unit %, % instalments)', NEW.id, annual_rate,
                NEW.penalty_rate_per_day, NEW.principal, NEW.rounding_unit, NEW.installments
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_loans_terms_within_bounds';
        END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER trg_loans_terms_within_bounds
        BEFORE INSERT OR UPDATE OF rate_per_period, penalty_rate_per_day, principal,
            rounding_unit, frequency, installments ON loans
        FOR EACH ROW EXECUTE FUNCTION refuse_loan_terms_out_of_bounds();
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_loans_terms_within_bounds ON loans;
    DROP FUNCTION refuse_loan_terms_out_of_bounds();
    REVOKE UPDATE (first_due_date, installments) ON loans FROM clubfund_app;
    -- Rescheduled loans cannot be expressed without their events: going down refuses
    -- while any exists (the constraint below fails).
    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ('applied', 'approved', 'rejected',
            'disbursed', 'repayment', 'write_off_requested', 'write_off_rejected',
            'written_off', 'repayment_adjusted', 'repayment_reversed', 'write_off_reversed'));
    """)
