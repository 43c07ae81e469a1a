"""The journal's checks run once per statement, not once per row.

- The closed-month check (`refuse_closed_period`) becomes an AFTER INSERT statement
  trigger on entries and on postings, over the statement's transition table: one look
  at the fund's closed months for all the rows written (a posting is still judged by
  the earlier of its own date and its entry's). It refuses with the same message and
  constraint name (`ck_entries_period_open`); the statement is undone.
- The balancing rule stays a constraint trigger deferred to commit (a deferred trigger
  cannot see a transition table), but fires once per entry instead of once per entry
  and once per posting, with one query: a posting can only join an entry written by
  the same transaction (`trg_postings_join_their_entry`, CF002), and that entry's own
  check at commit counts every posting it has by then.

Balances, daily balances and the never-negative rule were already kept per statement.

Revision ID: 2026_11_30_set_wise_checks
Revises: 2026_11_30_member_updates
Create Date: 2026-11-30
"""

from service.migrate import execute_script

revision = "2026_11_30_set_wise_checks"
down_revision = "2026_11_30_loan_paid_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_entries_period_open ON entries;
    DROP TRIGGER trg_postings_period_open ON postings;
    DROP FUNCTION refuse_closed_period();

    -- The earliest date each statement writes per fund (a posting's is the earlier of
    -- its own and its entry's), against the last month closed (and not reopened) in
    -- that fund.
    CREATE FUNCTION refuse_closed_period() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
        refused_fund uuid;
        refused_date date;
    BEGIN
        IF TG_TABLE_NAME = 'postings' THEN
            WITH last_closed AS (
                SELECT c.fund_id, max(c.period) AS period
                  FROM closed_periods c
                 WHERE c.fund_id IN (SELECT DISTINCT fund_id FROM new_rows)
                   AND c.reopened_at IS NULL
                 GROUP BY c.fund_id
            ),
            touched AS (
                SELECT n.fund_id, n.entry_id, min(n.effective_date) AS first_day
                  FROM new_rows n
                  JOIN last_closed l ON l.fund_id = n.fund_id
                 GROUP BY n.fund_id, n.entry_id
            )
            SELECT t.fund_id, least(t.first_day, e.effective_date)
              INTO refused_fund, refused_date
              FROM touched t
              JOIN last_closed l ON l.fund_id = t.fund_id
              LEFT JOIN entries e ON e.fund_id = t.fund_id AND e.id = t.entry_id
             WHERE l.period >= date_trunc('month', least(t.first_day, e.effective_date))::date
             ORDER BY 2
             LIMIT 1;
        ELSE
            SELECT n.fund_id, n.first_day INTO refused_fund, refused_date
              FROM (SELECT fund_id, min(effective_date) AS first_day
                      FROM new_rows GROUP BY fund_id) AS n
             WHERE EXISTS (SELECT 1 FROM closed_periods c
                            WHERE c.fund_id = n.fund_id AND c.reopened_at IS NULL
                              AND c.period >= date_trunc('month', n.first_day)::date)
             LIMIT 1;
        END IF;
        IF refused_fund IS NOT NULL THEN
            RAISE EXCEPTION '% is in a closed period of fund %', refused_date, refused_fund
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_entries_period_open';
        END IF;
        RETURN NULL;
    END $$;
    -- PostgreSQL fires a table's statement triggers in the order of their names: these
    -- sort first, so that a closed month is what a refused statement is told first, as
    -- when the check ran before each row.
    CREATE TRIGGER trg_entries_accept_only_open_months AFTER INSERT ON entries
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_closed_period();
    CREATE TRIGGER trg_postings_accept_only_open_months AFTER INSERT ON postings
        REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION refuse_closed_period();

    DROP TRIGGER trg_postings_balanced ON postings;
    DROP TRIGGER trg_entries_balanced ON entries;
    DROP FUNCTION check_entry_balanced();

    -- The balancing rule, checked at commit once per entry: at least two postings, and
    -- debits equal to credits in each currency, in one read of the entry's postings.
    CREATE FUNCTION check_entry_balanced() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = public AS $$
    DECLARE
        lines bigint;
        unbalanced_currency char(3);
    BEGIN
        SELECT coalesce(sum(t.lines), 0), min(t.currency) FILTER (WHERE t.net <> 0)
          INTO lines, unbalanced_currency
          FROM (SELECT p.currency, count(*) AS lines,
                       sum(CASE p.side WHEN 'debit' THEN p.amount ELSE -p.amount END) AS net
                  FROM postings p
                 WHERE p.fund_id = NEW.fund_id AND p.entry_id = NEW.id
                 GROUP BY p.currency) AS t;
        IF lines < 2 THEN
            RAISE EXCEPTION 'entry % has % postings; an entry needs at least two',
                NEW.id, lines
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_entries_balanced';
        END IF;
        IF unbalanced_currency IS NOT NULL THEN
            RAISE EXCEPTION 'entry % does not balance in %', NEW.id, unbalanced_currency
                USING ERRCODE = 'check_violation', CONSTRAINT = 'ck_entries_balanced';
        END IF;
        RETURN NULL;
    END $$;
    CREATE CONSTRAINT TRIGGER trg_entries_balanced AFTER INSERT ON entries
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION check_entry_balanced();
    """)


def downgrade() -> None:
    execute_script("""
    DROP TRIGGER trg_entries_balanced ON entries;
    DROP FUNCTION check_entry_balanced();
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

    DROP TRIGGER trg_entries_accept_only_open_months ON entries;
    DROP TRIGGER trg_postings_accept_only_open_months ON postings;
    DROP FUNCTION refuse_closed_period();
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
                    WHERE fund_id = NEW.fund_id AND reopened_at IS NULL
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
    """)
