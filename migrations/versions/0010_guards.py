"""Postings join only an entry of their own transaction.

The deferred balancing trigger (2026_11_23_foundation) checks an entry at commit, but a
balanced pair of postings added later to an entry committed earlier passes it: the
entry still balances, only the audit log's verification would notice. Now a
statement-level trigger on postings refuses (SQLSTATE CF002) any posting whose entry
row was not written by the current transaction, whichever role inserts it.

"Written by the current transaction" is read from the entry row's `xmin`: the id of
the transaction (or subtransaction, e.g. a savepoint) that inserted it. A row is ours
when its xmin lies at or after our top-level transaction id (subtransactions get later
ids; an older transaction's id lies before, within the usual 2^31 window of 32-bit
transaction ids) and that transaction is still in progress — a visible row written by
an in-progress transaction can only be our own. `xmin` is 32 bits; the full 64-bit id
is rebuilt from `pg_current_xact_id()`'s epoch. A frozen row more than 2^31
transactions old could look ahead of us: `pg_xact_status` then raises ("in the
future"), which refuses the posting too: the check fails closed.

Revision ID: 2026_11_30_guards
Revises: 2026_11_23_daily_group_balances
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_guards"
down_revision = "2026_11_30_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE FUNCTION clubfund_written_by_this_transaction(row_xmin xid) RETURNS boolean
    LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog AS $$
    DECLARE
        top_full bigint := pg_current_xact_id()::text::bigint;
        ahead bigint := (row_xmin::text::bigint - top_full % 4294967296 + 4294967296)
                        % 4294967296;
    BEGIN
        IF ahead >= 2147483648 THEN
            RETURN false;  -- before our transaction began
        END IF;
        RETURN pg_xact_status((top_full + ahead)::text::xid8) = 'in progress';
    END $$;

    CREATE FUNCTION check_postings_join_their_entry() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
        earlier_entry uuid;
    BEGIN
        SELECT e.id INTO earlier_entry
          FROM (SELECT DISTINCT fund_id, entry_id FROM new_postings) AS n
          JOIN entries AS e ON e.fund_id = n.fund_id AND e.id = n.entry_id
         WHERE NOT clubfund_written_by_this_transaction(e.xmin)
         LIMIT 1;
        IF earlier_entry IS NOT NULL THEN
            RAISE EXCEPTION 'entry % was recorded by an earlier transaction: postings are'
                ' written only with their entry (post a new entry instead)', earlier_entry
                USING ERRCODE = 'CF002';
        END IF;
        RETURN NULL;
    END $$;
    CREATE TRIGGER trg_postings_join_their_entry AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_postings
        FOR EACH STATEMENT EXECUTE FUNCTION check_postings_join_their_entry();
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_postings_join_their_entry ON postings;
    DROP FUNCTION check_postings_join_their_entry();
    DROP FUNCTION clubfund_written_by_this_transaction(xid);
    """)
