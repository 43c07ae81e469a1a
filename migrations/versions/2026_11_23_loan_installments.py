"""Loan installments: each disbursed loan's contractual schedule, one row per installment.

The schedule is fixed when the loan is disbursed (its terms plus the disbursement
date). Keeping it as rows lets the portfolio report compute amounts fallen due,
repayment rates and portfolio at risk for every loan in the country in one SQL
statement, instead of rebuilding hundreds of thousands of schedules in Python.
The rows are append-only like the journal: a schedule is never edited.

Loans already disbursed when this migration runs get their schedule from
`ledger.loans.build_schedule` over their stored terms — the same function the
service uses at disbursement.

Revision ID: 2026_11_23_loan_installments
Revises: 2026_11_23_daily_balances
Create Date: 2026-11-23
"""

from decimal import Decimal

from service.migrate import execute_script

revision = "2026_11_23_loan_installments"
down_revision = "2026_11_23_daily_balances"
branch_labels = None
depends_on = None


def upgrade() -> None:
    execute_script("""
    CREATE TABLE loan_installments (
        fund_id   uuid    NOT NULL,
        loan_id   uuid    NOT NULL,
        number    integer NOT NULL,
        due_date  date    NOT NULL,
        principal bigint  NOT NULL,
        interest  bigint  NOT NULL,
        CONSTRAINT pk_loan_installments PRIMARY KEY (fund_id, loan_id, number),
        CONSTRAINT fk_loan_installments_fund_id_loan_id_loans
            FOREIGN KEY (fund_id, loan_id) REFERENCES loans (fund_id, id),
        CONSTRAINT ck_loan_installments_number CHECK (number >= 1),
        CONSTRAINT ck_loan_installments_principal CHECK (principal >= 0),
        CONSTRAINT ck_loan_installments_interest CHECK (interest >= 0)
    );
    SELECT clubfund_protect_fund_table('loan_installments');
    CREATE TRIGGER trg_loan_installments_append_only BEFORE UPDATE OR DELETE
        ON loan_installments FOR EACH ROW EXECUTE FUNCTION forbid_journal_change();
    CREATE TRIGGER trg_loan_installments_no_truncate BEFORE TRUNCATE ON loan_installments
        FOR EACH STATEMENT EXECUTE FUNCTION forbid_journal_change();
    GRANT SELECT, INSERT ON loan_installments TO clubfund_app;

    -- One loan's figures over the period [period_start, as_of], exactly as
    -- ledger.reports.loan_figures defines them (a test holds the two together):
    -- installments due in the period and no later than the loan's closing (payoff or
    -- write-off); what was paid beyond what fell due before the period, up to that;
    -- and the outstanding principal, when the oldest installment the payments do not
    -- fully cover fell due more than `days` days before as_of.
    -- RETURNS TABLE and a single SELECT: the planner inlines it into the report's query.
    CREATE FUNCTION clubfund_loan_figures(
        due_dates date[], totals bigint[], paid bigint, outstanding bigint,
        closed_on date, period_start date, as_of date, days integer)
    RETURNS TABLE (amount_fallen_due bigint, amount_repaid_of_due bigint,
                   outstanding_at_risk bigint)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT s.due_in::bigint,
               least(greatest(paid - s.due_before, 0), s.due_in)::bigint,
               CASE WHEN outstanding > 0 AND s.oldest_unpaid < as_of - days
                    THEN outstanding ELSE 0 END
          FROM (
              SELECT coalesce(sum(i.total) FILTER (WHERE i.due_date < period_start), 0)
                         AS due_before,
                     coalesce(sum(i.total) FILTER (
                         WHERE i.due_date >= period_start
                           AND i.due_date <= coalesce(closed_on, as_of)), 0) AS due_in,
                     (array_agg(i.due_date ORDER BY i.n) FILTER (WHERE i.covered > paid))[1]
                         AS oldest_unpaid
                FROM (SELECT u.n, u.due_date, u.total,
                             sum(u.total) OVER (ORDER BY u.n) AS covered
                        FROM unnest(due_dates, totals) WITH ORDINALITY AS u(due_date, total, n)
                     ) AS i
          ) AS s
    $$;
    """)
    backfill_installments()


def backfill_installments() -> None:
    from alembic import op
    from sqlalchemy.util import await_only

    from ledger.loans import (
        Amortization,
        DayCount,
        Frequency,
        InterestMethod,
        LoanTerms,
        build_schedule,
    )

    connection = op.get_bind().connection.driver_connection
    assert connection is not None
    await_only(connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)"))
    loans = await_only(connection.fetch(
        "SELECT * FROM loans WHERE disbursed_on IS NOT NULL ORDER BY fund_id, id"))
    rows = []
    for loan in loans:
        terms = LoanTerms(
            principal=loan["principal"], installments=loan["installments"],
            frequency=Frequency(loan["frequency"]),
            interest_method=InterestMethod(loan["interest_method"]),
            rate_per_period=Decimal(loan["rate_per_period"]),
            first_due_date=loan["first_due_date"],
            amortization=Amortization(loan["amortization"]),
            disbursed_on=loan["disbursed_on"], grace_periods=loan["grace_periods"],
            day_count=DayCount(loan["day_count"]), rounding_unit=loan["rounding_unit"],
            penalty_rate_per_day=Decimal(loan["penalty_rate_per_day"]),
        )
        rows += [(loan["fund_id"], loan["id"], i.number, i.due_date, i.principal, i.interest)
                 for i in build_schedule(terms).installments]
    if rows:
        await_only(connection.executemany(
            "INSERT INTO loan_installments (fund_id, loan_id, number, due_date, principal,"
            " interest) VALUES ($1, $2, $3, $4, $5, $6)", rows))


def downgrade() -> None:
    execute_script("""
    DROP FUNCTION clubfund_loan_figures;
    DROP TABLE loan_installments;
    """)
