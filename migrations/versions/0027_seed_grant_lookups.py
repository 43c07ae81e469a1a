"""The seed grants' credits trigger looks each credit's entry up by its key.

`clubfund_add_seed_grant_credits` (0024) joined the new postings to `entries` and let
the planner choose how. PL/pgSQL keeps a statement's plan for the rest of the session,
made when the trigger first runs; the transition table's size is a guess and a fund's
entries written by the same transaction are not yet in the statistics. Made on the
first part of a books import, the plan read the fund's entries by `fund_id` alone for
each credit posting of the later parts (10,000 credit postings × the 5,000 to 22,000
entries written so far: 11 to 42 seconds per part, where the whole part took under
two). The same plan in a service session would read a fund's entries for every
credit it posts.

Here each credit posting's entry is read by a scalar subquery on the entry's primary
key (`fund_id`, `id`) and the seed grants kept from those: one index probe per credit
posting whatever the statistics say. Same rows as before.

Revision ID: 2026_12_01_seed_grant_lookups
Revises: 2026_12_01_report_reads
Create Date: 2026-12-01
"""

from service.migrate import execute_script

revision = "2026_12_01_seed_grant_lookups"
down_revision = "2026_12_01_report_reads"
branch_labels = None
depends_on = None

# The seed grants' credits among the new postings: each credit's entry by its key
# ("OFFSET 0" keeps the lookups in a subquery of their own, one per credit posting),
# then the grants' accounts and, when one is written, their reversal.
BY_KEY = """
    CREATE OR REPLACE FUNCTION clubfund_add_seed_grant_credits() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        INSERT INTO seed_grant_credits (fund_id, entry_id, line, effective_date,
                                        account_code, source, decision_number, amount,
                                        reversed_on)
        SELECT c.fund_id, c.entry_id, c.line, c.effective_date, a.code,
               c.metadata ->> 'source', c.metadata ->> 'decision_number', c.amount,
               (SELECT r.effective_date FROM entries r
                 WHERE r.fund_id = c.fund_id AND r.reverses_entry_id = c.entry_id)
          FROM (SELECT p.fund_id, p.entry_id, p.line, p.effective_date, p.account_id,
                       p.amount,
                       (SELECT e.metadata FROM entries e
                         WHERE e.fund_id = p.fund_id AND e.id = p.entry_id) AS metadata
                  FROM new_postings p
                 WHERE p.side = 'credit'
                OFFSET 0) AS c
          JOIN accounts a ON a.fund_id = c.fund_id AND a.id = c.account_id
         WHERE c.metadata ->> 'operation' = 'seed_grant';
        RETURN NULL;
    END $$;
"""

JOINED = """
    CREATE OR REPLACE FUNCTION clubfund_add_seed_grant_credits() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    BEGIN
        INSERT INTO seed_grant_credits (fund_id, entry_id, line, effective_date,
                                        account_code, source, decision_number, amount,
                                        reversed_on)
        SELECT p.fund_id, p.entry_id, p.line, p.effective_date, a.code,
               e.metadata ->> 'source', e.metadata ->> 'decision_number', p.amount,
               (SELECT r.effective_date FROM entries r
                 WHERE r.fund_id = e.fund_id AND r.reverses_entry_id = e.id)
          FROM new_postings p
          JOIN entries e ON e.fund_id = p.fund_id AND e.id = p.entry_id
          JOIN accounts a ON a.fund_id = p.fund_id AND a.id = p.account_id
         WHERE p.side = 'credit' AND e.metadata ->> 'operation' = 'seed_grant';
        RETURN NULL;
    END $$;
"""


def upgrade() -> None:
    execute_script(BY_KEY)


def downgrade() -> None:
    execute_script(JOINED)
