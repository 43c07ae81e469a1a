"""Corrections and reopened months.

- `closed_periods` keeps every close. A month reopened gets `reopened_at` and
  `reopened_by` (set once, never cleared; nothing else of the row ever changes), and
  may be closed again (a new row): the primary key takes `closed_at`, and at most one
  row per month is in force (reopened_at IS NULL). The closed-period trigger counts only
  the closes in force.
- `loan_events` take three more kinds: `repayment_adjusted` (a repayment's allocation
  changed by a repayment recorded late or a reversal; signed parts), `repayment_reversed`
  (the booked allocation, negated) and `write_off_reversed`; the loan payment columns
  count them.
- `corrections`: what one person asks and another decides — the reversal of an entry
  (`kind` reversal, `entry_id`) or the reopening of the latest closed month (`kind`
  reopen, `period`) — with the reason, the request, the decision and what it posted.
  A correction moves once from pending to approved or rejected; the audit log records
  the request and the decision.

Revision ID: 2026_11_30_corrections
Revises: 2026_11_23_daily_group_balances
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_corrections"
down_revision = "2026_11_30_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    ALTER TABLE closed_periods
        ADD COLUMN reopened_at timestamptz,
        ADD COLUMN reopened_by text,
        DROP CONSTRAINT pk_closed_periods,
        ADD CONSTRAINT pk_closed_periods PRIMARY KEY (fund_id, period, closed_at),
        ADD CONSTRAINT ck_closed_periods_reopened
            CHECK ((reopened_at IS NULL) = (reopened_by IS NULL));
    CREATE UNIQUE INDEX uq_closed_periods_fund_id_period_in_force
        ON closed_periods (fund_id, period) WHERE reopened_at IS NULL;

    -- A close is never deleted; the only change ever made to it is its reopening, once.
    DROP TRIGGER trg_closed_periods_append_only ON closed_periods;
    CREATE FUNCTION allow_only_reopening() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.reopened_at IS NULL AND NEW.reopened_at IS NOT NULL
           AND (NEW.fund_id, NEW.period, NEW.closed_at, NEW.actor)
               = (OLD.fund_id, OLD.period, OLD.closed_at, OLD.actor) THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% on closed_periods is forbidden: a close is only ever reopened, once',
            TG_OP USING ERRCODE = 'CF001';
    END $$;
    CREATE TRIGGER trg_closed_periods_only_reopened BEFORE UPDATE OR DELETE ON closed_periods
        FOR EACH ROW EXECUTE FUNCTION allow_only_reopening();
    GRANT UPDATE (reopened_at, reopened_by) ON closed_periods TO clubfund_app;

    CREATE OR REPLACE FUNCTION refuse_closed_period() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
        entry_date date := NEW.effective_date;
    BEGIN
        IF TG_TABLE_NAME = 'postings' THEN
            entry_date := least(entry_date, (SELECT e.effective_date FROM entries e
                                              WHERE e.fund_id = NEW.fund_id
                                                AND e.id = NEW.entry_id));
        END IF;
        IF EXISTS (SELECT 1 FROM closed_periods
                    WHERE fund_id = NEW.fund_id AND reopened_at IS NULL
                      AND period >= date_trunc('month', entry_date)::date) THEN
            RAISE EXCEPTION '% is in a closed period of fund %', entry_date, NEW.fund_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_entries_period_open';
        END IF;
        RETURN NEW;
    END $$;

    -- Loan payment columns from every event that moves what a loan has paid: a
    -- repayment, an adjustment of its allocation (signed), its reversal (the booked
    -- allocation, negated, on the repayment's date). closed_on follows the loan's
    -- status: the last repayment in force of a repaid loan, the write-off of a
    -- written-off one.
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

    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ('applied', 'approved', 'rejected',
            'disbursed', 'repayment', 'write_off_requested', 'write_off_rejected',
            'written_off', 'repayment_adjusted', 'repayment_reversed', 'write_off_reversed'));

    CREATE TABLE corrections (
        fund_id           uuid        NOT NULL,
        id                uuid        NOT NULL,
        kind              text        NOT NULL,
        status            text        NOT NULL,
        entry_id          uuid,
        period            date,
        reason            text        NOT NULL,
        effective_date    date,
        description       text,
        requested_by      text        NOT NULL,
        requested_at      timestamptz NOT NULL,
        decided_by        text,
        decided_at        timestamptz,
        decision_note     text,
        reversal_entry_id uuid,
        CONSTRAINT pk_corrections PRIMARY KEY (fund_id, id),
        CONSTRAINT fk_corrections_fund_id_funds FOREIGN KEY (fund_id) REFERENCES funds (id),
        CONSTRAINT fk_corrections_fund_id_entry_id_entries
            FOREIGN KEY (fund_id, entry_id) REFERENCES entries (fund_id, id),
        CONSTRAINT fk_corrections_fund_id_reversal_entry_id_entries
            FOREIGN KEY (fund_id, reversal_entry_id) REFERENCES entries (fund_id, id),
        CONSTRAINT ck_corrections_kind CHECK (
            (kind = 'reversal' AND entry_id IS NOT NULL AND period IS NULL)
            OR (kind = 'reopen' AND period IS NOT NULL AND entry_id IS NULL)),
        CONSTRAINT ck_corrections_status CHECK (
            status IN ('pending', 'approved', 'rejected')
            AND (status = 'pending') = (decided_by IS NULL)
            AND (decided_by IS NULL) = (decided_at IS NULL))
    );
    CREATE INDEX ix_corrections_id ON corrections (id);
    CREATE UNIQUE INDEX uq_corrections_fund_id_entry_id_pending
        ON corrections (fund_id, entry_id) WHERE status = 'pending';
    SELECT clubfund_protect_fund_table('corrections');

    -- A decision is taken once: pending → approved | rejected, nothing else changes.
    CREATE FUNCTION allow_only_decision() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'UPDATE' AND OLD.status = 'pending' AND NEW.status <> 'pending'
           AND (NEW.fund_id, NEW.id, NEW.kind, NEW.reason, NEW.requested_by, NEW.requested_at)
               = (OLD.fund_id, OLD.id, OLD.kind, OLD.reason, OLD.requested_by,
                  OLD.requested_at)
           AND NEW.entry_id IS NOT DISTINCT FROM OLD.entry_id
           AND NEW.period IS NOT DISTINCT FROM OLD.period THEN
            RETURN NEW;
        END IF;
        RAISE EXCEPTION '% on corrections is forbidden: a correction is decided once',
            TG_OP USING ERRCODE = 'CF001';
    END $$;
    CREATE TRIGGER trg_corrections_decided_once BEFORE UPDATE OR DELETE ON corrections
        FOR EACH ROW EXECUTE FUNCTION allow_only_decision();
    CREATE TRIGGER trg_corrections_no_truncate BEFORE TRUNCATE ON corrections
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();
    GRANT SELECT, INSERT ON corrections TO clubfund_app;
    GRANT UPDATE (status, decided_by, decided_at, decision_note, reversal_entry_id,
                  effective_date)
        ON corrections TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE corrections;
    DROP FUNCTION allow_only_decision();
    -- Corrected loans cannot be expressed without their correction events: refuse to go
    -- down rather than drop them.
    ALTER TABLE loan_events DROP CONSTRAINT ck_loan_events_kind,
        ADD CONSTRAINT ck_loan_events_kind CHECK (kind IN ('applied', 'approved', 'rejected',
            'disbursed', 'repayment', 'write_off_requested', 'write_off_rejected',
            'written_off'));
    CREATE OR REPLACE FUNCTION clubfund_refresh_loan_payments(fund_ids uuid[], loan_ids uuid[])
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
    CREATE OR REPLACE FUNCTION clubfund_refresh_loans_of_new_rows() RETURNS trigger
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

    CREATE OR REPLACE FUNCTION refuse_closed_period() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
        entry_date date := NEW.effective_date;
    BEGIN
        IF TG_TABLE_NAME = 'postings' THEN
            entry_date := least(entry_date, (SELECT e.effective_date FROM entries e
                                              WHERE e.fund_id = NEW.fund_id
                                                AND e.id = NEW.entry_id));
        END IF;
        IF EXISTS (SELECT 1 FROM closed_periods
                    WHERE fund_id = NEW.fund_id
                      AND period >= date_trunc('month', entry_date)::date) THEN
            RAISE EXCEPTION '% is in a closed period of fund %', entry_date, NEW.fund_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_entries_period_open';
        END IF;
        RETURN NEW;
    END $$;

    REVOKE UPDATE (reopened_at, reopened_by) ON closed_periods FROM clubfund_app;
    DROP TRIGGER trg_closed_periods_only_reopened ON closed_periods;
    DROP FUNCTION allow_only_reopening();
    -- Reopened closes go with the columns that say so (only the closes in force stay).
    SELECT set_config('clubfund.all_funds', 'on', true);
    DELETE FROM closed_periods WHERE reopened_at IS NOT NULL;
    CREATE TRIGGER trg_closed_periods_append_only BEFORE UPDATE OR DELETE ON closed_periods
        FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    DROP INDEX uq_closed_periods_fund_id_period_in_force;
    ALTER TABLE closed_periods
        DROP CONSTRAINT ck_closed_periods_reopened,
        DROP CONSTRAINT pk_closed_periods,
        ADD CONSTRAINT pk_closed_periods PRIMARY KEY (fund_id, period),
        DROP COLUMN reopened_by,
        DROP COLUMN reopened_at;
    """)
