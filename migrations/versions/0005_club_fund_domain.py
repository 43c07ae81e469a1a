"""The club fund domain: club area history, members, voucher counters, closed
periods, loans and their append-only events.

- club_areas: which area a club belonged to over time (a 2025-style merger of
  communes moves clubs without losing where they were before).
- members: reference data of a club, like clubs themselves.
- voucher_counters: the last receipt (PT) / payment (PC) number per fund and
  year, advanced under the fund lock, so voucher numbers are gapless; entries get
  a unique (fund_id, voucher_number).
- closed_periods: append-only; a trigger on entries and postings refuses any row
  dated in a closed month, whatever path inserts it.
- every new table is under row-level security: fund-scoped tables by fund,
  club_areas and members by club.
- loans: one row per loan with its terms and current repayment state (updated
  under the fund lock); loan_events: append-only history of every state change.

Revision ID: 2026_11_23_club_fund_domain
Revises: 2026_11_23_audit_log
Create Date: 2026-11-23
"""

from service.migrate import execute_script

revision = "2026_11_23_club_fund_domain"
down_revision = "2026_11_23_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE club_areas (
        club_id    uuid NOT NULL,
        valid_from date NOT NULL,
        area_code  text NOT NULL,
        valid_to   date,
        CONSTRAINT pk_club_areas PRIMARY KEY (club_id, valid_from),
        CONSTRAINT fk_club_areas_club_id_clubs FOREIGN KEY (club_id) REFERENCES clubs (id),
        CONSTRAINT fk_club_areas_area_code_areas FOREIGN KEY (area_code) REFERENCES areas (code),
        CONSTRAINT ck_club_areas_validity CHECK (valid_to IS NULL OR valid_to > valid_from)
    );
    CREATE INDEX ix_club_areas_area_code ON club_areas (area_code);
    SELECT clubfund_protect_club_table('club_areas');

    CREATE TABLE members (
        id         uuid        NOT NULL,
        club_id    uuid        NOT NULL,
        name       text        NOT NULL,
        gender     text        NOT NULL,
        birth_year integer     NOT NULL,
        status     text        NOT NULL,
        joined_on  date,
        created_at timestamptz NOT NULL,
        CONSTRAINT pk_members PRIMARY KEY (id),
        CONSTRAINT fk_members_club_id_clubs FOREIGN KEY (club_id) REFERENCES clubs (id),
        CONSTRAINT ck_members_name CHECK (length(name) BETWEEN 1 AND 200),
        CONSTRAINT ck_members_gender CHECK (gender IN ('female', 'male', 'other')),
        CONSTRAINT ck_members_birth_year CHECK (birth_year BETWEEN 1900 AND 2100),
        CONSTRAINT ck_members_status CHECK (status IN ('active', 'inactive', 'left'))
    );
    CREATE INDEX ix_members_club_id_id ON members (club_id, id);
    SELECT clubfund_protect_club_table('members');

    CREATE TABLE voucher_counters (
        fund_id     uuid    NOT NULL,
        kind        text    NOT NULL,
        year        integer NOT NULL,
        last_number integer NOT NULL,
        CONSTRAINT pk_voucher_counters PRIMARY KEY (fund_id, kind, year),
        CONSTRAINT fk_voucher_counters_fund_id_funds FOREIGN KEY (fund_id) REFERENCES funds (id),
        CONSTRAINT ck_voucher_counters_kind CHECK (kind IN ('PT', 'PC')),
        CONSTRAINT ck_voucher_counters_last_number CHECK (last_number > 0)
    );
    SELECT clubfund_protect_fund_table('voucher_counters');
    ALTER TABLE entries ADD CONSTRAINT uq_entries_fund_id_voucher_number
        UNIQUE (fund_id, voucher_number);

    CREATE TABLE closed_periods (
        fund_id   uuid        NOT NULL,
        period    date        NOT NULL,
        closed_at timestamptz NOT NULL,
        actor     text        NOT NULL,
        CONSTRAINT pk_closed_periods PRIMARY KEY (fund_id, period),
        CONSTRAINT fk_closed_periods_fund_id_funds FOREIGN KEY (fund_id) REFERENCES funds (id),
        CONSTRAINT ck_closed_periods_first_day CHECK (extract(day FROM period) = 1)
    );
    SELECT clubfund_protect_fund_table('closed_periods');
    CREATE TRIGGER trg_closed_periods_append_only BEFORE UPDATE OR DELETE ON closed_periods
        FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_closed_periods_no_truncate BEFORE TRUNCATE ON closed_periods
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();

    -- No row of the journal may be dated in a closed month (the latest closed
    -- month closes every month before it). A posting added to an existing entry
    -- is judged by that entry's date too.
    CREATE FUNCTION refuse_closed_period() RETURNS trigger
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
    CREATE TRIGGER trg_entries_period_open BEFORE INSERT ON entries
        FOR EACH ROW EXECUTE FUNCTION refuse_closed_period();
    CREATE TRIGGER trg_postings_period_open BEFORE INSERT ON postings
        FOR EACH ROW EXECUTE FUNCTION refuse_closed_period();

    CREATE TABLE loans (
        fund_id                uuid        NOT NULL,
        id                     uuid        NOT NULL,
        number                 integer     NOT NULL,
        member_id              uuid        NOT NULL,
        status                 text        NOT NULL,
        principal              bigint      NOT NULL,
        installments           integer     NOT NULL,
        frequency              text        NOT NULL,
        interest_method        text        NOT NULL,
        amortization           text        NOT NULL,
        rate_per_period        numeric     NOT NULL,
        day_count              text        NOT NULL,
        grace_periods          integer     NOT NULL,
        rounding_unit          bigint      NOT NULL,
        penalty_rate_per_day   numeric     NOT NULL,
        first_due_date         date        NOT NULL,
        purpose                text,
        applied_on             date        NOT NULL,
        applied_by             text        NOT NULL,
        approved_by            text,
        disbursed_on           date,
        account_id             uuid,
        write_off_requested_by text,
        outstanding_principal  bigint      NOT NULL,
        repayment_state        jsonb       NOT NULL,
        events_count           integer     NOT NULL,
        created_at             timestamptz NOT NULL,
        updated_at             timestamptz NOT NULL,
        CONSTRAINT pk_loans PRIMARY KEY (fund_id, id),
        CONSTRAINT uq_loans_fund_id_number UNIQUE (fund_id, number),
        CONSTRAINT fk_loans_fund_id_funds FOREIGN KEY (fund_id) REFERENCES funds (id),
        CONSTRAINT fk_loans_member_id_members FOREIGN KEY (member_id) REFERENCES members (id),
        CONSTRAINT fk_loans_fund_id_account_id_accounts
            FOREIGN KEY (fund_id, account_id) REFERENCES accounts (fund_id, id),
        CONSTRAINT ck_loans_status CHECK (status IN ('applied', 'approved', 'rejected',
            'disbursed', 'repaid', 'write_off_requested', 'written_off')),
        CONSTRAINT ck_loans_principal CHECK (principal > 0),
        CONSTRAINT ck_loans_outstanding_principal
            CHECK (outstanding_principal BETWEEN 0 AND principal),
        CONSTRAINT ck_loans_disbursed CHECK (
            status IN ('applied', 'approved', 'rejected')
            OR (disbursed_on IS NOT NULL AND account_id IS NOT NULL))
    );
    CREATE INDEX ix_loans_id ON loans (id);
    SELECT clubfund_protect_fund_table('loans');
    CREATE INDEX ix_loans_member_id ON loans (member_id);

    CREATE TABLE loan_events (
        fund_id        uuid        NOT NULL,
        loan_id        uuid        NOT NULL,
        sequence       integer     NOT NULL,
        kind           text        NOT NULL,
        effective_date date        NOT NULL,
        recorded_at    timestamptz NOT NULL,
        actor          text        NOT NULL,
        entry_id       uuid,
        data           jsonb       NOT NULL,
        CONSTRAINT pk_loan_events PRIMARY KEY (fund_id, loan_id, sequence),
        CONSTRAINT fk_loan_events_fund_id_loan_id_loans
            FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
        CONSTRAINT fk_loan_events_fund_id_entry_id_entries
            FOREIGN KEY (fund_id, entry_id) REFERENCES entries (fund_id, id),
        CONSTRAINT ck_loan_events_kind CHECK (kind IN ('applied', 'approved', 'rejected',
            'disbursed', 'repayment', 'write_off_requested', 'write_off_rejected',
            'written_off'))
    );
    CREATE INDEX ix_loan_events_fund_id_entry_id ON loan_events (fund_id, entry_id);
    SELECT clubfund_protect_fund_table('loan_events');
    CREATE TRIGGER trg_loan_events_append_only BEFORE UPDATE OR DELETE ON loan_events
        FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_loan_events_no_truncate BEFORE TRUNCATE ON loan_events
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();

    GRANT SELECT, INSERT ON club_areas, members, voucher_counters, closed_periods,
        loans, loan_events TO clubfund_app;
    GRANT UPDATE (valid_to) ON club_areas TO clubfund_app;
    GRANT UPDATE (status) ON members TO clubfund_app;
    GRANT UPDATE (last_number) ON voucher_counters TO clubfund_app;
    GRANT UPDATE (status, approved_by, disbursed_on, account_id, write_off_requested_by,
        outstanding_principal, repayment_state, events_count, updated_at) ON loans
        TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE loan_events, loans;
    DROP TRIGGER trg_postings_period_open ON postings;
    DROP TRIGGER trg_entries_period_open ON entries;
    DROP FUNCTION refuse_closed_period();
    DROP TABLE closed_periods;
    ALTER TABLE entries DROP CONSTRAINT uq_entries_fund_id_voucher_number;
    DROP TABLE voucher_counters, members, club_areas;
    """)
