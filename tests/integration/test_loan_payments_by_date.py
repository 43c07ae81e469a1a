"""What a loan had been paid by each date, as the database keeps it on the loan's row
(migration `0029_loan_payments_by_date`) and the reports read it: for any events
written in any order and in any statements, the running totals at the number of
payment dates on or before a day equal the sum of the events dated on or before it."""

# ruff: noqa: F811  (the `club` fixture, imported, is the test's parameter)
from __future__ import annotations

import uuid
from datetime import date, timedelta
from itertools import accumulate, pairwise

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.test_corrections_api import disbursed
from tests.api.test_loans_api import club  # noqa: F401 (a fixture)

FIRST_DAY = date(2026, 2, 5)
# (days after the disbursement, interest, principal): zero, negative (a reversal) and
# same-day amounts included.
events_strategy = st.lists(
    st.tuples(st.integers(0, 400), st.integers(-50_000, 50_000),
              st.integers(-500_000, 500_000)),
    max_size=25)

# What the reports read of the loan's row: paid by $2 (interest + principal, principal).
PAID_BY = """
SELECT coalesce(l.paid_interest_principal_by_date[width_bucket($2::date, l.paid_dates)], 0),
       coalesce(l.paid_principal_by_date[width_bucket($2::date, l.paid_dates)], 0)
  FROM loans l WHERE l.id = $1
"""


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=events_strategy, cuts=st.lists(st.integers(1, 24), max_size=4),
       days=st.lists(st.integers(-5, 410), min_size=1, max_size=12))
async def test_paid_by_a_date_equals_the_events_dated_by_then(
    club, superuser_connection, events, cuts, days
):
    # One disbursed loan for every example (the fixture lives as long as the test);
    # each example's events are rolled back.
    if "disbursed_loan" not in club:
        club["disbursed_loan"] = uuid.UUID((await disbursed(club))["id"])
    loan_id = club["disbursed_loan"]
    connection = superuser_connection
    transaction = connection.transaction()
    await transaction.start()
    try:
        # The trigger's function reads under row-level security: every fund, as an
        # operator's restore does.
        await connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)")
        fund_id, first_sequence = await connection.fetchrow(
            "SELECT fund_id, max(sequence) + 1 FROM loan_events WHERE loan_id = $1"
            " GROUP BY fund_id", loan_id)
        rows = [(fund_id, loan_id, first_sequence + i, "repayment",
                 FIRST_DAY + timedelta(days=offset), interest, principal)
                for i, (offset, interest, principal) in enumerate(events)]
        # The events in several statements, each statement's trigger recomputing the
        # loan's arrays from all of its events.
        bounds = sorted({0, len(rows), *(c for c in cuts if c < len(rows))})
        for start, end in pairwise(bounds):
            await connection.executemany(
                "INSERT INTO loan_events (fund_id, loan_id, sequence, kind, effective_date,"
                " recorded_at, actor, data, penalty, interest, principal)"
                " SELECT $1, $2, $3, $4, $5, now(), 'test', '{}', 0, $6, $7",
                rows[start:end])
        every = [(e["effective_date"], e["interest"], e["principal"]) for e in
                 await connection.fetch(
                     "SELECT effective_date, interest, principal FROM loan_events"
                     " WHERE loan_id = $1", loan_id)]
        # The plain model: the dates with a payment and the running totals at each.
        by_day: dict[date, list[int]] = {}
        for day, interest, principal in every:
            if interest or principal:
                totals = by_day.setdefault(day, [0, 0])
                totals[0] += interest + principal
                totals[1] += principal
        dates = sorted(by_day)
        row = await connection.fetchrow(
            "SELECT paid_dates, paid_interest_principal_by_date, paid_principal_by_date"
            " FROM loans WHERE id = $1", loan_id)
        assert tuple(row) == (dates, list(accumulate(by_day[d][0] for d in dates)),
                              list(accumulate(by_day[d][1] for d in dates)))
        for offset in days:
            day = FIRST_DAY + timedelta(days=offset)
            paid = await connection.fetchrow(PAID_BY, loan_id, day)
            assert tuple(paid) == (
                sum(i + p for d, i, p in every if d <= day),
                sum(p for d, _, p in every if d <= day))
    finally:
        await transaction.rollback()
