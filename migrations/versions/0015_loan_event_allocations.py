"""A loan's disbursement reversed; what a loan has paid kept once, typed, on its events.

- `loan_events` take one more kind, `disbursement_reversed`: the disbursement undone on
  its own date (the loan is approved again and owes nothing).
- `loan_installments` keep the schedule of each disbursement: `disbursement` is the
  sequence of the `disbursed` event that fixed it. A loan disbursed again after its
  disbursement was reversed gets a second schedule (its dates may differ); the loan's
  schedule columns follow the latest one. Existing rows take their loan's disbursement.
- `loan_events.penalty`, `interest`, `principal`: what a `repayment` allocated, what a
  `repayment_adjusted` moved, what a `repayment_reversed` undid (signed; 0 for every
  other kind), and `repayment_sequence`, the repayment an adjustment or a reversal
  belongs to. They are the one record of what a loan has paid: the service replays a
  loan's repayments from them (`ledger.loans.replay_repayments`) for its schedule and
  position, writes the loan's `outstanding_principal` and `closed_on` with each event,
  and the portfolio report sums them up to its date. Existing events take them from
  their JSON `data` (`allocation`, `repayment_sequence`), which no longer holds them.
- Dropped: `loans.repayment_state` (the same state as JSON), `loans.payment_dates`,
  `payment_cumulative`, `payment_cumulative_principal` and the trigger on `loan_events`
  that rebuilt them from the events' JSON.

Down again puts the JSON back, recomputes `repayment_state` by replaying each loan's
repayments (`ledger.loans`, the pure core) and the arrays by the old trigger function;
it is refused while a disbursement is reversed (the older kinds cannot say it).

Revision ID: 2026_11_30_loan_allocations
Revises: 2026_11_30_corrections
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_loan_allocations"
down_revision = "2026_11_30_loan_terms"
branch_labels = None
depends_on = None

EVENT_KINDS = """'applied', 'approved', 'rejected', 'disbursed', 'repayment',
    'write_off_requested', 'write_off_rejected', 'written_off', 'repayment_adjusted',
    'repayment_reversed', 'write_off_reversed', 'rescheduled'"""


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


ALLOCATING_KINDS = "'repayment', 'repayment_adjusted', 'repayment_reversed'"

# The functions that kept the payment arrays, as the revision before this one had them.
PAYMENTS_FUNCTIONS = """
    CREATE OR REPLACE FUNCTION clubfund_refresh_loan_payments(fund_ids uuid[], loan_ids uuid[])
    RETURNS void LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$
        UPDATE loans l
           SET payment_dates = p.dates,
               payment_cumulative = p.cumulative,
               payment_cumulative_principal = p.cumulative_principal,
               closed_on = CASE l.status WHEN 'repaid' THEN p.last_repaid_on
                                         WHEN 'written_off' THEN p.last_written_off_on END
          FROM (SELECT fund_id, loan_id,
                       array_agg(day ORDER BY day) FILTER (WHERE repaid) AS dates,
                       array_agg(cumulative ORDER BY day) FILTER (WHERE repaid) AS cumulative,
                       array_agg(cumulative_principal ORDER BY day) FILTER (WHERE repaid)
                           AS cumulative_principal,
                       max(day) FILTER (WHERE repaid_in_force) AS last_repaid_on,
                       max(day) FILTER (WHERE written_off) AS last_written_off_on
                  FROM (SELECT fund_id, loan_id, day, repaid, repaid_in_force, written_off,
                               (sum(paid) OVER w)::bigint AS cumulative,
                               (sum(paid_principal) OVER w)::bigint AS cumulative_principal
                          FROM (SELECT e.fund_id, e.loan_id, e.effective_date AS day,
                                       bool_or(e.kind <> 'written_off') AS repaid,
                                       bool_or(e.kind = 'repayment' AND NOT EXISTS (
                                           SELECT 1 FROM loan_events x
                                            WHERE x.fund_id = e.fund_id
                                              AND x.loan_id = e.loan_id
                                              AND x.kind = 'repayment_reversed'
                                              AND (x.data ->> 'repayment_sequence')::integer
                                                  = e.sequence)) AS repaid_in_force,
                                       bool_or(e.kind = 'written_off') AS written_off,
                                       coalesce(sum((e.data -> 'allocation' ->> 'interest')::bigint
                                                    + (e.data -> 'allocation' ->> 'principal')::bigint),
                                                0) AS paid,
                                       coalesce(sum((e.data -> 'allocation' ->> 'principal')::bigint),
                                                0) AS paid_principal
                                  FROM loan_events e
                                  JOIN unnest(fund_ids, loan_ids) AS k(fund_id, loan_id)
                                    ON k.fund_id = e.fund_id AND k.loan_id = e.loan_id
                                 WHERE e.kind IN ('repayment', 'repayment_adjusted',
                                                  'repayment_reversed', 'written_off')
                                 GROUP BY e.fund_id, e.loan_id, e.effective_date) AS days
                        WINDOW w AS (PARTITION BY fund_id, loan_id ORDER BY day)) AS d
                 GROUP BY fund_id, loan_id) AS p
         WHERE l.fund_id = p.fund_id AND l.id = p.loan_id;
    $$;
    CREATE OR REPLACE FUNCTION clubfund_refresh_loans_of_new_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        IF TG_TABLE_NAME = 'loan_installments' THEN
            PERFORM clubfund_refresh_loan_schedules(array_agg(fund_id), array_agg(loan_id))
               FROM (SELECT DISTINCT fund_id, loan_id FROM new_rows) AS k;
        ELSE
            PERFORM clubfund_refresh_loan_payments(array_agg(fund_id), array_agg(loan_id))
               FROM (SELECT DISTINCT fund_id, loan_id FROM new_rows
                      WHERE kind IN ('repayment', 'repayment_adjusted', 'repayment_reversed',
                                     'written_off', 'write_off_reversed')) AS k
             HAVING count(*) > 0;
        END IF;
        RETURN NULL;
    END $$;
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

    ALTER TABLE loan_events
        ADD COLUMN penalty bigint NOT NULL DEFAULT 0,
        ADD COLUMN interest bigint NOT NULL DEFAULT 0,
        ADD COLUMN principal bigint NOT NULL DEFAULT 0,
        ADD COLUMN repayment_sequence integer;
    ALTER TABLE loan_events DISABLE TRIGGER trg_loan_events_append_only;
    UPDATE loan_events
       SET penalty = (data -> 'allocation' ->> 'penalty')::bigint,
           interest = (data -> 'allocation' ->> 'interest')::bigint,
           principal = (data -> 'allocation' ->> 'principal')::bigint,
           repayment_sequence = (data ->> 'repayment_sequence')::integer,
           data = data - 'allocation' - 'repayment_sequence' - 'closed'
     WHERE kind IN ({ALLOCATING_KINDS});
    ALTER TABLE loan_events ENABLE TRIGGER trg_loan_events_append_only;
    ALTER TABLE loan_events
        ALTER COLUMN penalty DROP DEFAULT,
        ALTER COLUMN interest DROP DEFAULT,
        ALTER COLUMN principal DROP DEFAULT,
        ADD CONSTRAINT ck_loan_events_allocation CHECK (
            kind IN ({ALLOCATING_KINDS}) OR (penalty, interest, principal) = (0, 0, 0)),
        ADD CONSTRAINT ck_loan_events_repayment_sequence CHECK (
            (kind IN ('repayment_adjusted', 'repayment_reversed'))
            = (repayment_sequence IS NOT NULL));

    DROP TRIGGER trg_loan_events_refresh_loans ON loan_events;
    CREATE OR REPLACE FUNCTION clubfund_refresh_loans_of_new_rows() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        PERFORM clubfund_refresh_loan_schedules(array_agg(fund_id), array_agg(loan_id))
           FROM (SELECT DISTINCT fund_id, loan_id FROM new_rows) AS k;
        RETURN NULL;
    END $$;
    DROP FUNCTION clubfund_refresh_loan_payments(uuid[], uuid[]);
    ALTER TABLE loans
        DROP COLUMN repayment_state,
        DROP COLUMN payment_dates,
        DROP COLUMN payment_cumulative,
        DROP COLUMN payment_cumulative_principal;
    GRANT UPDATE (closed_on) ON loans TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script(f"""
    SELECT set_config('clubfund.all_funds', 'on', true);
    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ({EVENT_KINDS}));
    REVOKE UPDATE (closed_on) ON loans FROM clubfund_app;
    ALTER TABLE loans
        ADD COLUMN repayment_state jsonb,
        ADD COLUMN payment_dates date[],
        ADD COLUMN payment_cumulative bigint[],
        ADD COLUMN payment_cumulative_principal bigint[];
    """)
    restore_repayment_states()
    execute_script(f"""
    SELECT set_config('clubfund.all_funds', 'on', true);
    ALTER TABLE loans ALTER COLUMN repayment_state SET NOT NULL;
    GRANT UPDATE (repayment_state) ON loans TO clubfund_app;
    ALTER TABLE loan_events DISABLE TRIGGER trg_loan_events_append_only;
    UPDATE loan_events
       SET data = data || jsonb_build_object(
               'allocation', jsonb_build_object('penalty', penalty, 'interest', interest,
                                                'principal', principal))
                       || CASE WHEN repayment_sequence IS NULL THEN '{{}}'::jsonb
                               ELSE jsonb_build_object('repayment_sequence',
                                                       repayment_sequence) END
                       || CASE WHEN kind <> 'repayment' THEN '{{}}'::jsonb
                               ELSE jsonb_build_object('closed', coalesce((
                                   SELECT l.status = 'repaid'
                                          AND l.closed_on = loan_events.effective_date
                                     FROM loans l
                                    WHERE l.fund_id = loan_events.fund_id
                                      AND l.id = loan_events.loan_id), false)) END
     WHERE kind IN ({ALLOCATING_KINDS});
    ALTER TABLE loan_events ENABLE TRIGGER trg_loan_events_append_only;
    ALTER TABLE loan_events
        DROP CONSTRAINT ck_loan_events_allocation,
        DROP CONSTRAINT ck_loan_events_repayment_sequence,
        DROP COLUMN penalty, DROP COLUMN interest, DROP COLUMN principal,
        DROP COLUMN repayment_sequence;
    {PAYMENTS_FUNCTIONS}
    CREATE TRIGGER trg_loan_events_refresh_loans AFTER INSERT ON loan_events
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION clubfund_refresh_loans_of_new_rows();
    SELECT clubfund_refresh_loan_payments(array_agg(fund_id), array_agg(id)) FROM loans;

    {refresh_loan_schedules("")}
    ALTER TABLE loan_installments
        DROP CONSTRAINT pk_loan_installments,
        DROP CONSTRAINT ck_loan_installments_disbursement,
        DROP COLUMN disbursement,
        ADD CONSTRAINT pk_loan_installments PRIMARY KEY (fund_id, loan_id, number);
    """)


def restore_repayment_states() -> None:
    """Each loan's `repayment_state` as the service wrote it before: its repayments in
    force replayed from the opening state of its schedule (the pure core's functions)."""
    import json
    from decimal import Decimal

    from alembic import op
    from sqlalchemy.util import await_only

    from ledger import loans as core

    connection = op.get_bind().connection.driver_connection
    assert connection is not None
    await_only(connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)"))
    rows = await_only(connection.fetch("SELECT * FROM loans ORDER BY fund_id, id"))
    repayments = await_only(connection.fetch(
        """
        SELECT r.fund_id, r.loan_id, r.sequence, r.effective_date,
               r.penalty + r.interest + r.principal AS amount
          FROM loan_events r
         WHERE r.kind = 'repayment'
           AND NOT EXISTS (SELECT 1 FROM loan_events x
                            WHERE x.fund_id = r.fund_id AND x.loan_id = r.loan_id
                              AND x.kind = 'repayment_reversed'
                              AND x.repayment_sequence = r.sequence)
        """))
    by_loan: dict[tuple[object, object], list[core.RecordedRepayment]] = {}
    for r in repayments:
        by_loan.setdefault((r["fund_id"], r["loan_id"]), []).append(
            core.RecordedRepayment(r["sequence"], r["effective_date"], r["amount"]))
    states = []
    for loan in rows:
        terms = core.LoanTerms(
            principal=loan["principal"], installments=loan["installments"],
            frequency=core.Frequency(loan["frequency"]),
            interest_method=core.InterestMethod(loan["interest_method"]),
            rate_per_period=Decimal(loan["rate_per_period"]),
            first_due_date=loan["first_due_date"],
            amortization=core.Amortization(loan["amortization"]),
            disbursed_on=loan["disbursed_on"], grace_periods=loan["grace_periods"],
            day_count=core.DayCount(loan["day_count"]), rounding_unit=loan["rounding_unit"],
            penalty_rate_per_day=Decimal(loan["penalty_rate_per_day"]))
        _, state = core.replay_repayments(
            core.build_schedule(terms), by_loan.get((loan["fund_id"], loan["id"]), []),
            terms.penalty_rate_per_day)
        accrued_to = state.penalty_accrued_to
        states.append((loan["fund_id"], loan["id"], json.dumps({
            "principal_paid": list(state.principal_paid),
            "interest_paid": list(state.interest_paid),
            "penalty_unpaid": state.penalty_unpaid, "penalty_paid": state.penalty_paid,
            "penalty_accrued_to": accrued_to.isoformat() if accrued_to else None,
            "interest_waived": state.interest_waived, "closed": state.closed,
        })))
    if states:
        await_only(connection.execute(
            "UPDATE loans l SET repayment_state = s.state::jsonb FROM unnest($1::uuid[], $2::uuid[],"
            " $3::text[]) AS s(fund_id, id, state)"
            " WHERE l.fund_id = s.fund_id AND l.id = s.id",
            *(list(c) for c in zip(*states, strict=True))))
