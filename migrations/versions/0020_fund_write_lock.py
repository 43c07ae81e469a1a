"""A write to a fund takes the fund's lock and reads what the core needs to judge it in
one round trip.

`never_negative_days` answers, for the given accounts of a fund that may not go
negative, their daily totals on the last day each moved on or before a date and on
every later day it moved (one row with null totals when it never moved by then or
since); with `p_with_loans`, also which of the accounts are a loan's receivable
(`loan_number`, null otherwise).

`lock_fund_for_write` locks the fund's row (FOR NO KEY UPDATE: writers to one fund
serialise, funds proceed in parallel) and only then reads the fund's currency, club,
entry counter and latest closed month, with the `never_negative_days` of the given
accounts (none: one row, the account columns null). The reads are a second query of
a VOLATILE function, so their snapshot is taken after the lock was granted: they see
everything the fund's previous writer committed. No row: no such fund in the caller's
scope (row-level security applies; both functions run as the caller).

Revision ID: 2026_11_30_fund_write_lock
Revises: 2026_11_30_member_updates
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_fund_write_lock"
down_revision = "2026_11_30_meeting_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE FUNCTION never_negative_days(
        p_fund_id uuid, p_account_ids uuid[], p_from date, p_with_loans boolean
    ) RETURNS TABLE (
        account_id uuid, code text, normal_side text, never_negative boolean,
        loan_number integer, effective_date date, debits bigint, credits bigint
    )
    LANGUAGE sql STABLE SET search_path = public AS $$
        SELECT a.id, a.code, a.normal_side, NOT a.allow_negative, l.number,
               d.effective_date, d.debits, d.credits
          FROM accounts a
          LEFT JOIN loans l ON p_with_loans AND l.fund_id = a.fund_id AND l.account_id = a.id
          LEFT JOIN LATERAL (
              SELECT b.effective_date, b.debits, b.credits
                FROM daily_balances b
               WHERE NOT a.allow_negative
                 AND b.fund_id = a.fund_id AND b.account_id = a.id
                 AND b.effective_date >= coalesce(
                     (SELECT max(p.effective_date) FROM daily_balances p
                       WHERE p.fund_id = a.fund_id AND p.account_id = a.id
                         AND p.effective_date <= p_from), p_from)
          ) AS d ON true
         WHERE a.fund_id = p_fund_id AND a.id = ANY (p_account_ids)
           AND (NOT a.allow_negative OR l.number IS NOT NULL)
         ORDER BY a.id, d.effective_date
    $$;
    GRANT EXECUTE ON FUNCTION never_negative_days(uuid, uuid[], date, boolean)
        TO clubfund_app;

    CREATE FUNCTION lock_fund_for_write(
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
        END IF;
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
    GRANT EXECUTE ON FUNCTION lock_fund_for_write(uuid, uuid[], date, boolean)
        TO clubfund_app;
    """)


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION lock_fund_for_write(uuid, uuid[], date, boolean);
    DROP FUNCTION never_negative_days(uuid, uuid[], date, boolean);
    """)
