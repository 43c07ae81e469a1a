"""Loan installments and loan positions: what the portfolio report needs of each loan.

`loan_installments` holds each disbursed loan's contractual schedule, one row per
installment. The schedule is fixed when the loan is disbursed (its terms plus the
disbursement date); the rows are append-only like the journal.

The portfolio report evaluates every loan in the country as of any date. To do that
from the loan's own row, without a probe per loan into other tables, two statement
triggers keep on `loans` (derived data, like `account_balances`; never written by
the service):

- `schedule_due_dates`, `schedule_cumulative_due`: the due dates and the running
  total of principal + interest due through each installment (from
  `loan_installments`);
- `payment_dates`, `payment_cumulative`, `payment_cumulative_principal`: each day
  with repayments, in date order, and the running totals paid towards interest +
  principal and towards principal through that day (from the `repayment` events,
  backdated ones included);
- `closed_on`: the day the loan was paid off or written off.

`width_bucket` (a binary search) then finds any date's position in these arrays.

Loans already disbursed when this migration runs get their schedule from
`ledger.loans.build_schedule` over their stored terms — the same function the
service uses at disbursement.

Revision ID: 2026_11_23_loan_installments
Revises: 2026_11_23_daily_balances
Create Date: 2026-11-23
"""

from service.migrate import execute_script

revision = "2026_11_23_loan_installments"
down_revision = "2026_11_23_daily_balances"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE loan_installments (
        fund_id   uuid    NOT NULL,
        loan_id   uuid    NOT NULL,
        number    integer NOT NULL,
        due_date  date    NOT NULL,
        principal bigint  NOT NULL,
        interest  bigint  NOT NULL,
        CONSTRAINT pk_loan_installments PRIMARY KEY (fund_id, loan_id, number),
        CONSTRAINT fk_loan_installments_fund_id_loan_id_loans
            FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
        CONSTRAINT ck_loan_installments_number CHECK (number >= 1),
        CONSTRAINT ck_loan_installments_principal CHECK (principal >= 0),
        CONSTRAINT ck_loan_installments_interest CHECK (interest >= 0)
    );
    SELECT clubfund_protect_fund_table('loan_installments');
    CREATE TRIGGER trg_loan_installments_append_only BEFORE UPDATE OR DELETE
        ON loan_installments FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_loan_installments_no_truncate BEFORE TRUNCATE ON loan_installments
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();
    GRANT SELECT, INSERT ON loan_installments TO clubfund_app;

    ALTER TABLE loans
        ADD COLUMN schedule_due_dates           date[],
        ADD COLUMN schedule_cumulative_due      bigint[],
        ADD COLUMN payment_dates                date[],
        ADD COLUMN payment_cumulative           bigint[],
        ADD COLUMN payment_cumulative_principal bigint[],
        ADD COLUMN closed_on                    date;

    -- Recompute the derived columns of the given loans: the schedule's from their
    -- installments, the payments' from their events. The callers hold the loans' fund
    -- locks (the service) or are the loader.
    CREATE FUNCTION clubfund_refresh_loan_schedules(fund_ids uuid[], loan_ids uuid[])
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
                            ON k.fund_id = i.fund_id AND k.loan_id = i.loan_id) AS i
                 GROUP BY fund_id, loan_id) AS s
         WHERE l.fund_id = s.fund_id AND l.id = s.loan_id;
    $$;
    CREATE FUNCTION clubfund_refresh_loan_payments(fund_ids uuid[], loan_ids uuid[])
    RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
        UPDATE loans l
           SET payment_dates = p.dates,
               payment_cumulative = p.cumulative,
               payment_cumulative_principal = p.cumulative_principal,
               closed_on = p.closed_on
          FROM (SELECT fund_id, loan_id,
                       array_agg(day ORDER BY day) FILTER (WHERE repaid) AS dates,
                       array_agg(cumulative ORDER BY day) FILTER (WHERE repaid) AS cumulative,
                       array_agg(cumulative_principal ORDER BY day) FILTER (WHERE repaid)
                           AS cumulative_principal,
                       min(day) FILTER (WHERE closes) AS closed_on
                  FROM (SELECT fund_id, loan_id, day, repaid, closes,
                               (sum(paid) OVER w)::bigint AS cumulative,
                               (sum(paid_principal) OVER w)::bigint AS cumulative_principal
                          FROM (SELECT e.fund_id, e.loan_id, e.effective_date AS day,
                                       bool_or(e.kind = 'repayment') AS repaid,
                                       bool_or(e.kind = 'written_off'
                                               OR coalesce((e.data ->> 'closed')::boolean,
                                                           false)) AS closes,
                                       coalesce(sum((e.data -> 'allocation' ->> 'interest')::bigint
                                                    + (e.data -> 'allocation' ->> 'principal')::bigint),
                                                0) AS paid,
                                       coalesce(sum((e.data -> 'allocation' ->> 'principal')::bigint),
                                                0) AS paid_principal
                                  FROM loan_events e
                                  JOIN unnest(fund_ids, loan_ids) AS k(fund_id, loan_id)
                                    ON k.fund_id = e.fund_id AND k.loan_id = e.loan_id
                                 WHERE e.kind IN ('repayment', 'written_off')
                                 GROUP BY e.fund_id, e.loan_id, e.effective_date) AS days
                        WINDOW w AS (PARTITION BY fund_id, loan_id ORDER BY day)) AS d
                 GROUP BY fund_id, loan_id) AS p
         WHERE l.fund_id = p.fund_id AND l.id = p.loan_id;
    $$;

    -- New installments move their loans' schedule columns; new repayment and
    -- write-off events their payment columns (other events change neither).
    CREATE FUNCTION clubfund_refresh_loans_of_new_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        IF TG_TABLE_NAME = 'loan_installments' THEN
            PERFORM clubfund_refresh_loan_schedules(array_agg(fund_id), array_agg(loan_id))
               FROM (SELECT DISTINCT fund_id, loan_id FROM new_rows) AS k;
        ELSE
            PERFORM clubfund_refresh_loan_payments(array_agg(fund_id), array_agg(loan_id))
               FROM (SELECT DISTINCT fund_id, loan_id FROM new_rows
                      WHERE kind IN ('repayment', 'written_off')) AS k
             HAVING count(*) > 0;
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_loan_installments_refresh_loans AFTER INSERT ON loan_installments
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION clubfund_refresh_loans_of_new_rows();
    CREATE TRIGGER trg_loan_events_refresh_loans AFTER INSERT ON loan_events
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION clubfund_refresh_loans_of_new_rows();

    -- One loan's figures over the period [period_start, as_of], exactly as
    -- ledger.reports.loan_figures defines them (a property test holds the two
    -- together), from its schedule as due dates and running totals due:
    -- installments due in the period and no later than the loan's closing (payoff or
    -- write-off); what was paid beyond what fell due before the period, up to that;
    -- and the outstanding principal, when the oldest installment the payments do not
    -- fully cover fell due more than `days` days before as_of. width_bucket counts
    -- the elements of a sorted array not above a value, by binary search.
    -- A single SELECT without FROM: the planner inlines it into the report's query.
    CREATE FUNCTION clubfund_loan_figures(
        due_dates date[], cumulative_due bigint[], paid bigint, outstanding bigint,
        closed_on date, period_start date, as_of date, days integer)
    RETURNS TABLE (amount_fallen_due bigint, amount_repaid_of_due bigint,
                   outstanding_at_risk bigint)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT greatest(through_end - due_before, 0),
               least(greatest(paid - due_before, 0), greatest(through_end - due_before, 0)),
               CASE WHEN outstanding > 0
                         AND due_dates[coalesce(width_bucket(paid, cumulative_due), 0) + 1]
                             < as_of - days
                    THEN outstanding ELSE 0 END
          FROM (SELECT coalesce(cumulative_due[width_bucket(period_start - 1, due_dates)], 0)
                           AS due_before,
                       coalesce(cumulative_due[width_bucket(coalesce(closed_on, as_of),
                                                            due_dates)], 0) AS through_end
               ) AS sums
    $$;
    """)
    backfill_installments()


def backfill_installments() -> None:
    """Schedules of the loans already disbursed, from their stored terms (the service's
    `terms_of` and `build_schedule`, as at disbursement), in one statement whose
    trigger fills their schedule columns; then every loan's payment columns."""
    from alembic import op
    from sqlalchemy.util import await_only

    from ledger.loans import build_schedule
    from service.loans.service import terms_of

    connection = op.get_bind().connection.driver_connection
    assert connection is not None
    await_only(connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)"))
    loans = await_only(connection.fetch(
        "SELECT * FROM loans WHERE disbursed_on IS NOT NULL ORDER BY fund_id, id"))
    rows = [(loan["fund_id"], loan["id"], i.number, i.due_date, i.principal, i.interest)
            for loan in loans for i in build_schedule(terms_of(loan)).installments]
    if rows:
        await_only(connection.execute(
            "INSERT INTO loan_installments (fund_id, loan_id, number, due_date, principal,"
            " interest) SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::date[],"
            " $5::bigint[], $6::bigint[])", *(list(c) for c in zip(*rows, strict=True))))
    await_only(connection.execute(
        "SELECT clubfund_refresh_loan_payments(array_agg(fund_id), array_agg(id)) FROM loans"))


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION clubfund_loan_figures;
    DROP TABLE loan_installments;
    DROP TRIGGER trg_loan_events_refresh_loans ON loan_events;
    DROP FUNCTION clubfund_refresh_loans_of_new_rows, clubfund_refresh_loan_schedules,
        clubfund_refresh_loan_payments;
    ALTER TABLE loans
        DROP COLUMN schedule_due_dates, DROP COLUMN schedule_cumulative_due,
        DROP COLUMN payment_dates, DROP COLUMN payment_cumulative,
        DROP COLUMN payment_cumulative_principal, DROP COLUMN closed_on;
    """)
