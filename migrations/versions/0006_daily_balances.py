"""Daily balances: each account's running totals at the end of every day it moved.

`daily_balances` holds, per account and per effective date on which it has
postings, the cumulative debits, credits and postings count up to and
including that day. The balance of any account as of any date is then one
index probe (the latest row on or before the date), which keeps statements,
trial balances and portfolio roll-ups fast however many postings a fund has.

A statement-level trigger on postings maintains it, in the same transaction as
the postings and under the same discipline as `apply_postings_to_balances`
(the writer already holds its fund's lock). An entry dated on the latest day
touches one row per account; a backdated entry also moves the totals of that
account's later days (few, since only open periods take entries).

Revision ID: 2026_11_23_daily_balances
Revises: 2026_11_23_club_fund_domain
Create Date: 2026-11-23
"""

from service.migrate import execute_script

revision = "2026_11_23_daily_balances"
down_revision = "2026_11_23_club_fund_domain"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE daily_balances (
        fund_id        uuid   NOT NULL,
        account_id     uuid   NOT NULL,
        effective_date date   NOT NULL,
        debits         bigint NOT NULL,
        credits        bigint NOT NULL,
        postings_count bigint NOT NULL,
        -- The totals ride in the key's index, so "the latest row on or before a date"
        -- is an index-only probe.
        CONSTRAINT pk_daily_balances PRIMARY KEY (fund_id, account_id, effective_date)
            INCLUDE (debits, credits),
        CONSTRAINT fk_daily_balances_fund_id_account_id_accounts
            FOREIGN KEY (fund_id, account_id) REFERENCES accounts (fund_id, id),
        CONSTRAINT ck_daily_balances_totals
            CHECK (debits >= 0 AND credits >= 0 AND postings_count > 0)
    );
    SELECT clubfund_protect_fund_table('daily_balances');

    -- Totals only grow, day after day (amounts are positive), so the totals an
    -- existing later day held before this statement are the running maximum of
    -- the old rows, and its new totals add every new posting dated on or before it.
    CREATE FUNCTION apply_postings_to_daily_balances() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        WITH added AS (
            SELECT fund_id, account_id, effective_date,
                   coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0) AS debits,
                   coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0) AS credits,
                   count(*) AS postings_count
              FROM new_postings
             GROUP BY fund_id, account_id, effective_date
        ),
        first_days AS (
            SELECT fund_id, account_id, min(effective_date) AS first_day
              FROM added
             GROUP BY fund_id, account_id
        ),
        bases AS (
            SELECT f.fund_id, f.account_id,
                   coalesce(b.debits, 0) AS debits, coalesce(b.credits, 0) AS credits,
                   coalesce(b.postings_count, 0) AS postings_count
              FROM first_days f
              LEFT JOIN LATERAL (
                  SELECT d.debits, d.credits, d.postings_count
                    FROM daily_balances d
                   WHERE d.fund_id = f.fund_id AND d.account_id = f.account_id
                     AND d.effective_date < f.first_day
                   ORDER BY d.effective_date DESC
                   LIMIT 1
              ) AS b ON true
        ),
        changes AS (
            SELECT fund_id, account_id, effective_date,
                   debits AS added_debits, credits AS added_credits,
                   postings_count AS added_count,
                   NULL::bigint AS old_debits, NULL::bigint AS old_credits,
                   NULL::bigint AS old_count
              FROM added
            UNION ALL
            SELECT d.fund_id, d.account_id, d.effective_date, 0, 0, 0,
                   d.debits, d.credits, d.postings_count
              FROM first_days f
              JOIN daily_balances d
                ON d.fund_id = f.fund_id AND d.account_id = f.account_id
               AND d.effective_date >= f.first_day
        ),
        totals AS (
            SELECT c.fund_id, c.account_id, c.effective_date,
                   greatest(b.debits, max(c.old_debits) OVER w)
                       + sum(c.added_debits) OVER w AS debits,
                   greatest(b.credits, max(c.old_credits) OVER w)
                       + sum(c.added_credits) OVER w AS credits,
                   greatest(b.postings_count, max(c.old_count) OVER w)
                       + sum(c.added_count) OVER w AS postings_count
              FROM changes c
              JOIN bases b ON b.fund_id = c.fund_id AND b.account_id = c.account_id
            WINDOW w AS (PARTITION BY c.fund_id, c.account_id ORDER BY c.effective_date)
        )
        INSERT INTO daily_balances
            (fund_id, account_id, effective_date, debits, credits, postings_count)
        SELECT DISTINCT ON (fund_id, account_id, effective_date)
               fund_id, account_id, effective_date, debits, credits, postings_count
          FROM totals
         ORDER BY fund_id, account_id, effective_date
        ON CONFLICT (fund_id, account_id, effective_date) DO UPDATE
           SET debits = excluded.debits,
               credits = excluded.credits,
               postings_count = excluded.postings_count;
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_postings_apply_daily_balances AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION apply_postings_to_daily_balances();

    SELECT set_config('clubfund.all_funds', 'on', true);
    INSERT INTO daily_balances
        (fund_id, account_id, effective_date, debits, credits, postings_count)
    SELECT fund_id, account_id, effective_date,
           sum(debits) OVER w, sum(credits) OVER w, sum(postings_count) OVER w
      FROM (SELECT fund_id, account_id, effective_date,
                   coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0) AS debits,
                   coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0) AS credits,
                   count(*) AS postings_count
              FROM postings
             GROUP BY fund_id, account_id, effective_date) AS days
    WINDOW w AS (PARTITION BY fund_id, account_id ORDER BY effective_date);

    GRANT SELECT ON daily_balances TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_postings_apply_daily_balances ON postings;
    DROP POLICY fund_scope ON daily_balances;
    DROP FUNCTION apply_postings_to_daily_balances();
    DROP TABLE daily_balances;
    """)
