"""Cheaper reads for the portfolio and programme reports' per-club figures.

- `ix_accounts_top_level`: each fund's top-level accounts (no dot in the code) with
  their ids and normal sides, read from the index alone, without the fund's
  sub-accounts (a club has had hundreds of loans, each with its account).
- `ix_accounts_sub_accounts`: each fund's sub-accounts by normal side and code in byte
  order, in which the sub-accounts of a group (131.0001, 131.0002, … of group 131) are
  one run: the reports find a fund's groups by stepping from one run to the next, one
  index probe per group instead of reading every sub-account.
- `st_accounts_code_dot`: statistics of `strpos(code, '.')`, so that the planner knows
  how many accounts are top-level (it assumed 0.5 %): for a few clubs it reads their
  funds' ranges of `ix_accounts_top_level`, for a province the whole index.
- `clubfund_loan_figures` computes each of its two cumulative sums once: inlined into
  the report's statement, its sums were substituted into every expression that uses
  them and each one's `width_bucket` over the loan's schedule evaluated up to three
  times per loan. Same arguments, same results.

Revision ID: 2026_12_01_report_reads
Revises: 2026_12_01_fund_months
Create Date: 2026-12-01
"""

from service.migrate import execute_script

revision = "2026_12_01_report_reads"
down_revision = "2026_12_01_fund_months"
branch_labels = None
depends_on = None

# The body of `clubfund_loan_figures`; `fence` ends the subquery of the two sums
# ("OFFSET 0" keeps it a subquery of its own, evaluated once per call).
LOAN_FIGURES = """
    CREATE OR REPLACE FUNCTION clubfund_loan_figures(
        due_dates date[], cumulative_due bigint[], paid bigint, outstanding bigint,
        closed_on date, period_start date, as_of date, days integer)
    RETURNS TABLE (amount_fallen_due bigint, amount_repaid_of_due bigint,
                   outstanding_at_risk bigint)
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT greatest(through_end - due_before, 0),
               least(greatest(paid - due_before, 0), greatest(through_end - due_before, 0)),
               CASE WHEN outstanding > 0
                         AND due_dates[coalesce(width_bucket(paid, cumulative_due), 0) + 1]
                             < as_of - days
                    THEN outstanding ELSE 0 END
          FROM (SELECT coalesce(cumulative_due[width_bucket(period_start - 1, due_dates)], 0)
                           AS due_before,
                       coalesce(cumulative_due[width_bucket(coalesce(closed_on, as_of),
                                                            due_dates)], 0) AS through_end
               {fence}) AS sums
    $$;
"""


def upgrade() -> None:
    execute_script(f"""
    CREATE INDEX ix_accounts_top_level ON accounts (fund_id, code)
        INCLUDE (id, normal_side) WHERE strpos(code, '.') = 0;
    CREATE INDEX ix_accounts_sub_accounts ON accounts (fund_id, normal_side, code COLLATE "C")
        WHERE strpos(code, '.') > 0;
    CREATE STATISTICS st_accounts_code_dot ON (strpos(code, '.')) FROM accounts;
    ANALYZE accounts;
    {LOAN_FIGURES.format(fence="OFFSET 0")}
    """)


def downgrade() -> None:
    execute_script(f"""
    {LOAN_FIGURES.format(fence="")}
    DROP STATISTICS st_accounts_code_dot;
    DROP INDEX ix_accounts_sub_accounts;
    DROP INDEX ix_accounts_top_level;
    """)
