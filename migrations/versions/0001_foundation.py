"""Foundation: funds, accounts, balances, entries, postings, idempotency records.

The database itself keeps the ledger honest:
- balances are maintained by a trigger from the postings, so no code path can
  move a balance without a posting, and a CHECK refuses a negative balance on
  an account that forbids one;
- a deferred constraint trigger refuses, at commit, any entry whose postings do
  not balance per currency or that has fewer than two postings;
- entries and postings are append-only: UPDATE, DELETE and TRUNCATE raise,
  for every role including the owner;
- the service's role `clubfund_app` may only INSERT and SELECT the journal.

Revision ID: 2026_11_23_foundation
Revises:
Create Date: 2026-11-23
"""

from service.migrate import execute_script

revision = "2026_11_23_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE funds (
        id          uuid        NOT NULL,
        name        text        NOT NULL,
        currency    char(3)     NOT NULL,
        entry_count bigint      NOT NULL DEFAULT 0,
        created_at  timestamptz NOT NULL,
        CONSTRAINT pk_funds PRIMARY KEY (id),
        CONSTRAINT ck_funds_name CHECK (length(name) BETWEEN 1 AND 200),
        CONSTRAINT ck_funds_entry_count CHECK (entry_count >= 0)
    );

    CREATE TABLE accounts (
        fund_id        uuid        NOT NULL,
        id             uuid        NOT NULL,
        code           text        NOT NULL,
        name           text        NOT NULL,
        type           text        NOT NULL,
        normal_side    text        NOT NULL,
        allow_negative boolean     NOT NULL,
        currency       char(3)     NOT NULL,
        created_at     timestamptz NOT NULL,
        CONSTRAINT pk_accounts PRIMARY KEY (fund_id, id),
        CONSTRAINT uq_accounts_fund_id_code UNIQUE (fund_id, code),
        CONSTRAINT uq_accounts_fund_id_id_currency UNIQUE (fund_id, id, currency),
        CONSTRAINT fk_accounts_fund_id_funds FOREIGN KEY (fund_id) REFERENCES funds (id),
        CONSTRAINT ck_accounts_type
            CHECK (type IN ('asset', 'liability', 'equity', 'income', 'expense')),
        CONSTRAINT ck_accounts_normal_side
            CHECK (normal_side = CASE WHEN type IN ('asset', 'expense') THEN 'debit' ELSE 'credit' END)
    );
    CREATE INDEX ix_accounts_id ON accounts (id);

    CREATE TABLE account_balances (
        fund_id        uuid    NOT NULL,
        account_id     uuid    NOT NULL,
        normal_side    text    NOT NULL,
        allow_negative boolean NOT NULL,
        debits         bigint  NOT NULL DEFAULT 0,
        credits        bigint  NOT NULL DEFAULT 0,
        postings_count bigint  NOT NULL DEFAULT 0,
        CONSTRAINT pk_account_balances PRIMARY KEY (fund_id, account_id),
        CONSTRAINT fk_account_balances_fund_id_account_id_accounts
            FOREIGN KEY (fund_id, account_id) REFERENCES accounts (fund_id, id),
        CONSTRAINT ck_account_balances_totals CHECK (debits >= 0 AND credits >= 0),
        CONSTRAINT ck_account_balances_non_negative CHECK (
            allow_negative
            OR CASE normal_side WHEN 'debit' THEN debits - credits ELSE credits - debits END >= 0
        )
    );

    CREATE TABLE entries (
        fund_id           uuid        NOT NULL,
        id                uuid        NOT NULL,
        sequence          bigint      NOT NULL,
        voucher_number    text,
        effective_date    date        NOT NULL,
        recorded_at       timestamptz NOT NULL,
        description       text        NOT NULL,
        currency          char(3)     NOT NULL,
        metadata          jsonb       NOT NULL,
        reverses_entry_id uuid,
        actor             text        NOT NULL,
        hash              text        NOT NULL,
        CONSTRAINT pk_entries PRIMARY KEY (fund_id, id),
        CONSTRAINT uq_entries_fund_id_sequence UNIQUE (fund_id, sequence),
        CONSTRAINT uq_entries_fund_id_reverses_entry_id UNIQUE (fund_id, reverses_entry_id),
        CONSTRAINT fk_entries_fund_id_funds FOREIGN KEY (fund_id) REFERENCES funds (id),
        CONSTRAINT fk_entries_fund_id_reverses_entry_id_entries
            FOREIGN KEY (fund_id, reverses_entry_id) REFERENCES entries (fund_id, id)
    );
    CREATE INDEX ix_entries_id ON entries (id);
    CREATE INDEX ix_entries_fund_id_effective_date_sequence
        ON entries (fund_id, effective_date, sequence);

    CREATE TABLE postings (
        fund_id        uuid     NOT NULL,
        entry_id       uuid     NOT NULL,
        line           smallint NOT NULL,
        account_id     uuid     NOT NULL,
        side           text     NOT NULL,
        amount         bigint   NOT NULL,
        currency       char(3)  NOT NULL,
        effective_date date     NOT NULL,
        sequence       bigint   NOT NULL,
        CONSTRAINT pk_postings PRIMARY KEY (fund_id, entry_id, line),
        CONSTRAINT fk_postings_fund_id_entry_id_entries
            FOREIGN KEY (fund_id, entry_id) REFERENCES entries (fund_id, id),
        CONSTRAINT fk_postings_fund_id_account_id_currency_accounts
            FOREIGN KEY (fund_id, account_id, currency)
            REFERENCES accounts (fund_id, id, currency),
        CONSTRAINT ck_postings_side CHECK (side IN ('debit', 'credit')),
        CONSTRAINT ck_postings_amount CHECK (amount > 0 AND amount <= 1000000000000000)
    );
    CREATE INDEX ix_postings_fund_id_account_id_effective_date_sequence
        ON postings (fund_id, account_id, effective_date, sequence);

    CREATE TABLE idempotency_records (
        fund_id         uuid        NOT NULL,
        principal_id    text        NOT NULL,
        key             text        NOT NULL,
        request_hash    text        NOT NULL,
        response_status integer     NOT NULL,
        response_body   bytea       NOT NULL,
        created_at      timestamptz NOT NULL,
        CONSTRAINT pk_idempotency_records PRIMARY KEY (fund_id, principal_id, key)
    );
    CREATE INDEX ix_idempotency_records_principal_id_key
        ON idempotency_records (principal_id, key);

    -- Every account gets its balance row when it is opened.
    CREATE FUNCTION open_account_balance() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        INSERT INTO account_balances (fund_id, account_id, normal_side, allow_negative)
        VALUES (NEW.fund_id, NEW.id, NEW.normal_side, NEW.allow_negative);
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_accounts_open_balance AFTER INSERT ON accounts
        FOR EACH ROW EXECUTE FUNCTION open_account_balance();

    -- Postings move balances: one UPDATE per INSERT statement, so a balance
    -- is always the sum of its postings.
    CREATE FUNCTION apply_postings_to_balances() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        UPDATE account_balances AS b
           SET debits = b.debits + d.debits,
               credits = b.credits + d.credits,
               postings_count = b.postings_count + d.postings_count
          FROM (SELECT fund_id, account_id,
                       coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0) AS debits,
                       coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0) AS credits,
                       count(*) AS postings_count
                  FROM new_postings
                 GROUP BY fund_id, account_id
                 ORDER BY fund_id, account_id) AS d
         WHERE b.fund_id = d.fund_id AND b.account_id = d.account_id;
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_postings_apply_balances AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION apply_postings_to_balances();

    -- The balancing rule, checked again at commit for every entry.
    CREATE FUNCTION check_entry_balanced() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
        target_entry uuid;
        lines integer;
        unbalanced_currency char(3);
    BEGIN
        IF TG_TABLE_NAME = 'entries' THEN
            target_entry := NEW.id;
        ELSE
            target_entry := NEW.entry_id;
        END IF;
        SELECT count(*) INTO lines
          FROM postings WHERE fund_id = NEW.fund_id AND entry_id = target_entry;
        IF lines < 2 THEN
            RAISE EXCEPTION 'entry % has % postings; an entry needs at least two',
                target_entry, lines
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_entries_balanced';
        END IF;
        SELECT currency INTO unbalanced_currency
          FROM postings WHERE fund_id = NEW.fund_id AND entry_id = target_entry
         GROUP BY currency
        HAVING sum(CASE side WHEN 'debit' THEN amount ELSE -amount END) <> 0
         LIMIT 1;
        IF unbalanced_currency IS NOT NULL THEN
            RAISE EXCEPTION 'entry % does not balance in %', target_entry, unbalanced_currency
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_entries_balanced';
        END IF;
        RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER trg_entries_balanced AFTER INSERT ON entries
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_entry_balanced();
    CREATE CONSTRAINT TRIGGER trg_postings_balanced AFTER INSERT ON postings
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_entry_balanced();

    -- The journal is append-only, for every role.
    CREATE FUNCTION forbid_journal_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION '% on % is forbidden: the journal is append-only (post a reversal instead)',
            TG_OP, TG_TABLE_NAME USING ERRCODE = 'CF001';
    END $$;
    CREATE TRIGGER trg_entries_append_only BEFORE UPDATE OR DELETE ON entries
        FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_entries_no_truncate BEFORE TRUNCATE ON entries
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_postings_append_only BEFORE UPDATE OR DELETE ON postings
        FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_postings_no_truncate BEFORE TRUNCATE ON postings
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();

    -- The service's role: it reads and appends; balances move only by trigger.
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'clubfund_app') THEN
            CREATE ROLE clubfund_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
        END IF;
    END $$;
    GRANT USAGE ON SCHEMA public TO clubfund_app;
    GRANT SELECT, INSERT ON funds TO clubfund_app;
    GRANT UPDATE (entry_count, name) ON funds TO clubfund_app;
    GRANT SELECT, INSERT ON accounts TO clubfund_app;
    GRANT SELECT ON account_balances TO clubfund_app;
    GRANT SELECT, INSERT ON entries, postings, idempotency_records TO clubfund_app;
    GRANT SELECT ON alembic_version TO clubfund_app;  -- for /readyz
    """)


def downgrade() -> None:
    execute_script("""
    DROP TABLE idempotency_records, postings, entries, account_balances, accounts, funds;
    DROP FUNCTION forbid_journal_change(), check_entry_balanced(),
        apply_postings_to_balances(), open_account_balance();
    """)
