"""The database's `clubfund_loan_figures` (the portfolio report's per-loan arithmetic)
gives what `ledger.reports.loan_figures` defines, for any loan and period."""

from __future__ import annotations

from itertools import accumulate

from hypothesis import HealthCheck, given, settings

from ledger.reports import LoanFigures, loan_figures
from tests.unit.test_reports import loans


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(loan=loans())
async def test_the_sql_loan_figures_equal_the_core_definition(app_connection, loan):
    installments, paid, outstanding, closed_on, start, as_of = loan
    cumulative = list(accumulate(t for _, t in installments))
    row = await app_connection.fetchrow(
        "SELECT * FROM clubfund_loan_figures($1::date[], $2::bigint[], $3, $4, $5, $6, $7, 30)",
        [d for d, _ in installments], cumulative, paid, outstanding, closed_on, start, as_of,
    )
    expected = loan_figures(installments, paid, outstanding, closed_on, start, as_of)
    assert LoanFigures(outstanding > 0, row["amount_fallen_due"], row["amount_repaid_of_due"],
                       row["outstanding_at_risk"]) == expected
