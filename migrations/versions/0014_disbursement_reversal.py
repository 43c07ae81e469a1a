"""A loan's disbursement reversed.

- `loan_events` take one more kind, `disbursement_reversed`: the disbursement undone on
  its own date (the loan is approved again and owes nothing).
- `loan_installments` keep the schedule of each disbursement: `disbursement` is the
  sequence of the `disbursed` event that fixed it. A loan disbursed again after its
  disbursement was reversed gets a second schedule (its dates may differ); the loan's
  schedule columns follow the latest one. Existing rows take their loan's disbursement.

Down again is refused while a disbursement is reversed (the older kinds cannot say it).

Revision ID: 2026_11_30_disbursement_reversal
Revises: 2026_11_30_corrections
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_disbursement_reversal"
down_revision = "2026_11_30_corrections"
branch_labels = None
depends_on = None

EVENT_KINDS = """'applied', 'approved', 'rejected', 'disbursed', 'repayment',
    'write_off_requested', 'write_off_rejected', 'written_off', 'repayment_adjusted',
    'repayment_reversed', 'write_off_reversed'"""


def refresh_loan_schedules(latest_only: str) -> str:
    """The function that recomputes loans' schedule columns from their installments
    (of every row, or of the latest disbursement's only)."""
    return f"""
    CREATE OR REPLACE FUNCTION clubfund_refresh_loan_schedules(fund_ids uuid[], loan_ids uuid[])
    RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
        UPDATE loans l
           SET schedule_due_dates = s.due_dates,
               schedule_cumulative_due = s.cumulative_due
          FROM (SELECT fund_id, loan_id,
                       array_agg(due_date ORDER BY number) AS due_dates,
                       array_agg(cumulative ORDER BY number) AS cumulative_due
                  FROM (SELECT i.fund_id, i.loan_id, i.number, i.due_date,
                               sum(i.principal + i.interest) OVER (
                                   PARTITION BY i.fund_id, i.loan_id ORDER BY i.number
                               )::bigint AS cumulative
                          FROM loan_installments i
                          JOIN unnest(fund_ids, loan_ids) AS k(fund_id, loan_id)
                            ON k.fund_id = i.fund_id AND k.loan_id = i.loan_id
                         {latest_only}) AS i
                 GROUP BY fund_id, loan_id) AS s
         WHERE l.fund_id = s.fund_id AND l.id = s.loan_id;
    $$;
    """


LATEST_DISBURSEMENT = """WHERE i.disbursement = (
                             SELECT max(j.disbursement) FROM loan_installments j
                              WHERE j.fund_id = i.fund_id AND j.loan_id = i.loan_id)"""


def upgrade() -> None:
    execute_script(f"""
    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ({EVENT_KINDS},
            'disbursement_reversed'));

    SELECT set_config('clubfund.all_funds', 'on', true);
    ALTER TABLE loan_installments ADD COLUMN disbursement integer;
    ALTER TABLE loan_installments DISABLE TRIGGER trg_loan_installments_append_only;
    UPDATE loan_installments i
       SET disbursement = (SELECT max(e.sequence) FROM loan_events e
                            WHERE e.fund_id = i.fund_id AND e.loan_id = i.loan_id
                              AND e.kind = 'disbursed');
    ALTER TABLE loan_installments ENABLE TRIGGER trg_loan_installments_append_only;
    ALTER TABLE loan_installments
        ALTER COLUMN disbursement SET NOT NULL,
        DROP CONSTRAINT pk_loan_installments,
        ADD CONSTRAINT pk_loan_installments PRIMARY KEY (fund_id, loan_id, disbursement, number),
        ADD CONSTRAINT ck_loan_installments_disbursement CHECK (disbursement >= 1);
    {refresh_loan_schedules(LATEST_DISBURSEMENT)}
    """)


def downgrade() -> None:
    execute_script(f"""
    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ({EVENT_KINDS}));
    {refresh_loan_schedules("")}
    ALTER TABLE loan_installments
        DROP CONSTRAINT pk_loan_installments,
        DROP COLUMN disbursement,
        ADD CONSTRAINT pk_loan_installments PRIMARY KEY (fund_id, loan_id, number);
    """)
