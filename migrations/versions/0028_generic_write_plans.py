"""Writes to a fund use the statements' generic plans once the fund is locked.

PostgreSQL plans a prepared statement afresh for its parameters ("custom" plans) and
keeps doing so while a custom plan looks cheaper than the generic one. The journal's
write statement takes its entries and postings as arrays: with the arrays in hand the
planner counts their elements, without them it assumes a hundred, so the custom plan
always looked cheaper and the statement was planned again for every posting (0.57 ms
of PostgreSQL's time a posting, plus 0.11 ms for the stored answer's statement, in
`bench/posting.py` with pg_stat_statements tracking planning).

Every write to a fund takes its lock first (`lock_fund_for_write`), so the lock now
also sets `plan_cache_mode` to `force_generic_plan` for the rest of the transaction:
the statements after it are planned once per connection and reused. They read and
write by key (the fund, its accounts, entries, loans and their events); reads and
reports, which never take the lock, keep the planner's choice.

Revision ID: 2026_12_01_generic_write_plans
Revises: 2026_12_01_seed_grant_lookups
Create Date: 2026-12-01
"""

from service.migrate import execute_script

revision = "2026_12_01_generic_write_plans"
down_revision = "2026_12_01_seed_grant_lookups"
branch_labels = None
depends_on = None

# lock_fund_for_write as 0020 made it, with `{after_lock}` run once the lock is held.
LOCK = """
    CREATE OR REPLACE FUNCTION lock_fund_for_write(
        p_fund_id uuid, p_account_ids uuid[], p_from date, p_with_loans boolean
    ) RETURNS TABLE (
        currency char(3), club_id uuid, entry_count bigint, closed_period date,
        account_id uuid, code text, normal_side text, never_negative boolean,
        loan_number integer, effective_date date, debits bigint, credits bigint
    )
    LANGUAGE plpgsql SET search_path = public AS $$
    BEGIN
        PERFORM 1 FROM funds f WHERE f.id = p_fund_id FOR NO KEY UPDATE;
        IF NOT FOUND THEN
            RETURN;
        END IF;{after_lock}
        -- A new query, so a new snapshot: taken after the lock was granted.
        RETURN QUERY
        SELECT f.currency, f.club_id, f.entry_count,
               (SELECT max(c.period) FROM closed_periods c
                 WHERE c.fund_id = f.id AND c.reopened_at IS NULL),
               d.account_id, d.code, d.normal_side, d.never_negative, d.loan_number,
               d.effective_date, d.debits, d.credits
          FROM funds f
          LEFT JOIN never_negative_days(f.id, p_account_ids, p_from, p_with_loans) AS d
            ON true
         WHERE f.id = p_fund_id
         ORDER BY d.account_id, d.effective_date;
    END $$;
"""

GENERIC_PLANS = """
        -- The transaction's later statements use their generic plans (see above).
        PERFORM set_config('plan_cache_mode', 'force_generic_plan', true);"""


def upgrade() -> None:
    execute_script(LOCK.format(after_lock=GENERIC_PLANS))


def downgrade() -> None:
    execute_script(LOCK.format(after_lock=""))
