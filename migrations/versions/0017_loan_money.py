"""Loan money to the day: what a prepayment shrinks, money recovered after a write-off,
and penalty or interest forgiven by two people.

- `loans.prepayment`: `reduce_term` (the default, and what every existing loan gets)
  or `reduce_installment` — what a declining-balance loan's schedule shortens when
  principal is paid ahead.
- `loan_events` take three more kinds: `recovered` (money received on a written-off
  loan, to income; the loan stays written off), `recovery_reversed` (its correction)
  and `waived` (penalty or interest forgiven, once a second person approved it).
- `corrections` take one more kind, `waiver`: one person asks to forgive `waived_amount`
  of a loan's `waived_part` (penalty or interest) on `effective_date`, another decides.

Revision ID: 2026_11_30_loan_money
Revises: 2026_11_30_web_sessions
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_loan_money"
down_revision = "2026_11_30_web_sessions"
branch_labels = None
depends_on = None

KINDS_BEFORE = """'applied', 'approved', 'rejected', 'disbursed', 'repayment',
    'write_off_requested', 'write_off_rejected', 'written_off', 'repayment_adjusted',
    'repayment_reversed', 'write_off_reversed', 'rescheduled', 'disbursement_reversed'"""


def upgrade() -> None:
    execute_script(f"""
    ALTER TABLE loans ADD COLUMN prepayment text NOT NULL DEFAULT 'reduce_term',
        ADD CONSTRAINT ck_loans_prepayment
            CHECK (prepayment IN ('reduce_term', 'reduce_installment'));

    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ({KINDS_BEFORE},
            'recovered', 'recovery_reversed', 'waived'));

    ALTER TABLE corrections
        ADD COLUMN loan_id uuid,
        ADD COLUMN waived_part text,
        ADD COLUMN waived_amount bigint,
        DROP CONSTRAINT ck_corrections_kind,
        ADD CONSTRAINT ck_corrections_kind CHECK (
            (kind = 'reversal' AND entry_id IS NOT NULL AND period IS NULL
                AND loan_id IS NULL)
            OR (kind = 'reopen' AND period IS NOT NULL AND entry_id IS NULL
                AND loan_id IS NULL)
            OR (kind = 'waiver' AND loan_id IS NOT NULL AND entry_id IS NULL
                AND period IS NULL AND effective_date IS NOT NULL)),
        ADD CONSTRAINT ck_corrections_waiver CHECK (
            (kind = 'waiver') = (waived_part IS NOT NULL)
            AND (kind = 'waiver') = (waived_amount IS NOT NULL)
            AND (waived_part IS NULL OR waived_part IN ('penalty', 'interest'))
            AND (waived_amount IS NULL OR waived_amount > 0)),
        ADD CONSTRAINT fk_corrections_fund_id_loan_id_loans
            FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id);
    """)


def downgrade() -> None:
    execute_script(f"""
    -- Waivers, recoveries and the prepayment choice cannot be expressed before this
    -- revision: going down refuses while any exists rather than drop them.
    ALTER TABLE corrections
        DROP CONSTRAINT fk_corrections_fund_id_loan_id_loans,
        DROP CONSTRAINT ck_corrections_waiver,
        DROP CONSTRAINT ck_corrections_kind,
        ADD CONSTRAINT ck_corrections_kind CHECK (
            (kind = 'reversal' AND entry_id IS NOT NULL AND period IS NULL)
            OR (kind = 'reopen' AND period IS NOT NULL AND entry_id IS NULL)),
        DROP COLUMN loan_id, DROP COLUMN waived_part, DROP COLUMN waived_amount;
    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ({KINDS_BEFORE}));
    ALTER TABLE loans DROP CONSTRAINT ck_loans_prepayment, DROP COLUMN prepayment;
    """)
