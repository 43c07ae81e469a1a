"""Daily group balances: per fund, the running totals of each group of sub-accounts.

A sub-account's code is its group's code, a dot and a number: each loan's receivable
131.0007 belongs to group 131. `daily_group_balances` holds, per fund, group code
and normal side, and per day on which any of the group's sub-accounts has postings,
the cumulative debits, credits and postings count of all of them up to and including
that day. The total of a group as of any date is then one index probe, however many
sub-accounts it has: the portfolio report reads the loans outstanding of every club
(thousands of loan accounts per district) this way instead of one probe per loan.

A statement-level trigger on postings maintains it in the posting transaction, with
the same arithmetic as `daily_balances` (see 2026_11_23_daily_balances): totals only
grow, so a later day's totals before this statement are the running maximum of the
old rows, and its new totals add every new posting dated on or before it.

Revision ID: 2026_11_23_daily_group_balances
Revises: 2026_11_23_loan_installments
Create Date: 2026-11-23
"""

from service.migrate import execute_script

revision = "2026_11_23_daily_group_balances"
down_revision = "2026_11_23_loan_installments"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE daily_group_balances (
        fund_id        uuid   NOT NULL,
        group_code     text   NOT NULL,
        normal_side    text   NOT NULL,
        effective_date date   NOT NULL,
        debits         bigint NOT NULL,
        credits        bigint NOT NULL,
        postings_count bigint NOT NULL,
        CONSTRAINT pk_daily_group_balances
            PRIMARY KEY (fund_id, group_code, normal_side, effective_date)
            INCLUDE (debits, credits),
        CONSTRAINT fk_daily_group_balances_fund_id_funds
            FOREIGN KEY (fund_id) REFERENCES funds (id),
        CONSTRAINT ck_daily_group_balances_normal_side
            CHECK (normal_side IN ('debit', 'credit')),
        CONSTRAINT ck_daily_group_balances_totals
            CHECK (debits >= 0 AND credits >= 0 AND postings_count > 0)
    );
    SELECT clubfund_protect_fund_table('daily_group_balances');

    CREATE FUNCTION apply_postings_to_daily_group_balances() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        WITH added AS (
            SELECT p.fund_id, split_part(a.code, '.', 1) AS group_code, a.normal_side,
                   p.effective_date,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0) AS debits,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0) AS credits,
                   count(*) AS postings_count
              FROM new_postings p
              JOIN accounts a ON a.fund_id = p.fund_id AND a.id = p.account_id
             WHERE strpos(a.code, '.') > 0
             GROUP BY p.fund_id, split_part(a.code, '.', 1), a.normal_side, p.effective_date
        ),
        first_days AS (
            SELECT fund_id, group_code, normal_side, min(effective_date) AS first_day
              FROM added
             GROUP BY fund_id, group_code, normal_side
        ),
        bases AS (
            SELECT f.fund_id, f.group_code, f.normal_side,
                   coalesce(b.debits, 0) AS debits, coalesce(b.credits, 0) AS credits,
                   coalesce(b.postings_count, 0) AS postings_count
              FROM first_days f
              LEFT JOIN LATERAL (
                  SELECT d.debits, d.credits, d.postings_count
                    FROM daily_group_balances d
                   WHERE d.fund_id = f.fund_id AND d.group_code = f.group_code
                     AND d.normal_side = f.normal_side AND d.effective_date < f.first_day
                   ORDER BY d.effective_date DESC
                   LIMIT 1
              ) AS b ON true
        ),
        changes AS (
            SELECT fund_id, group_code, normal_side, effective_date,
                   debits AS added_debits, credits AS added_credits,
                   postings_count AS added_count,
                   NULL::bigint AS old_debits, NULL::bigint AS old_credits,
                   NULL::bigint AS old_count
              FROM added
            UNION ALL
            SELECT d.fund_id, d.group_code, d.normal_side, d.effective_date, 0, 0, 0,
                   d.debits, d.credits, d.postings_count
              FROM first_days f
              JOIN daily_group_balances d
                ON d.fund_id = f.fund_id AND d.group_code = f.group_code
               AND d.normal_side = f.normal_side AND d.effective_date >= f.first_day
        ),
        totals AS (
            SELECT c.fund_id, c.group_code, c.normal_side, c.effective_date,
                   greatest(b.debits, max(c.old_debits) OVER w)
                       + sum(c.added_debits) OVER w AS debits,
                   greatest(b.credits, max(c.old_credits) OVER w)
                       + sum(c.added_credits) OVER w AS credits,
                   greatest(b.postings_count, max(c.old_count) OVER w)
                       + sum(c.added_count) OVER w AS postings_count
              FROM changes c
              JOIN bases b ON b.fund_id = c.fund_id AND b.group_code = c.group_code
                          AND b.normal_side = c.normal_side
            WINDOW w AS (PARTITION BY c.fund_id, c.group_code, c.normal_side
                         ORDER BY c.effective_date)
        )
        INSERT INTO daily_group_balances (fund_id, group_code, normal_side, effective_date,
                                          debits, credits, postings_count)
        SELECT DISTINCT ON (fund_id, group_code, normal_side, effective_date)
               fund_id, group_code, normal_side, effective_date, debits, credits,
               postings_count
          FROM totals
         ORDER BY fund_id, group_code, normal_side, effective_date
        ON CONFLICT (fund_id, group_code, normal_side, effective_date) DO UPDATE
           SET debits = excluded.debits,
               credits = excluded.credits,
               postings_count = excluded.postings_count;
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_postings_apply_daily_group_balances AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION apply_postings_to_daily_group_balances();

    SELECT set_config('clubfund.all_funds', 'on', true);
    INSERT INTO daily_group_balances
        (fund_id, group_code, normal_side, effective_date, debits, credits, postings_count)
    SELECT fund_id, group_code, normal_side, effective_date,
           sum(debits) OVER w, sum(credits) OVER w, sum(postings_count) OVER w
      FROM (SELECT p.fund_id, split_part(a.code, '.', 1) AS group_code, a.normal_side,
                   p.effective_date,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'debit'), 0) AS debits,
                   coalesce(sum(p.amount) FILTER (WHERE p.side = 'credit'), 0) AS credits,
                   count(*) AS postings_count
              FROM postings p
              JOIN accounts a ON a.fund_id = p.fund_id AND a.id = p.account_id
             WHERE strpos(a.code, '.') > 0
             GROUP BY p.fund_id, split_part(a.code, '.', 1), a.normal_side,
                      p.effective_date) AS days
    WINDOW w AS (PARTITION BY fund_id, group_code, normal_side ORDER BY effective_date);

    GRANT SELECT ON daily_group_balances TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_postings_apply_daily_group_balances ON postings;
    DROP FUNCTION apply_postings_to_daily_group_balances;
    DROP TABLE daily_group_balances;
    """)
