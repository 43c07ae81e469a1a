"""The demo loader on a small size: it goes through the service layer, is
deterministic, and leaves a consistent ledger (the full size is what
`clubfund serve --demo` loads; bench/demo_load.py times it)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate

import pytest

from service.areas.repository import area_subtree_codes, funds_in_area
from service.demo.loader import DemoNotLoaded, load_demo

END = date(2026, 10, 31)


async def content(connection) -> list:
    """What the demo wrote, without ids and clock times."""
    return [
        await connection.fetch(
            "SELECT c.name, c.area_code, m.name AS member, m.gender, m.birth_year"
            " FROM clubs c JOIN members m ON m.club_id = c.id ORDER BY c.name, m.name,"
            " m.birth_year"),
        await connection.fetch(
            "SELECT c.name, e.sequence, e.voucher_number, e.effective_date, e.description,"
            " p.line, a.code, p.side, p.amount"
            " FROM entries e JOIN funds f ON f.id = e.fund_id JOIN clubs c ON c.id = f.club_id"
            " JOIN postings p ON p.fund_id = e.fund_id AND p.entry_id = e.id"
            " JOIN accounts a ON a.fund_id = p.fund_id AND a.id = p.account_id"
            " ORDER BY c.name, e.sequence, p.line"),
        await connection.fetch(
            "SELECT c.name, l.number, l.status, l.principal, l.outstanding_principal"
            " FROM loans l JOIN funds f ON f.id = l.fund_id JOIN clubs c ON c.id = f.club_id"
            " ORDER BY c.name, l.number"),
    ]


async def test_a_small_demo_is_deterministic_and_consistent(
    app_pool, superuser_connection, test_server, template_database
):
    from tests.conftest import clone_database, drop_database

    summary = await load_demo(app_pool, clubs_count=2, seed=7, end_date=END, workers=2)
    assert summary.clubs == 2 + 4  # and the four new clubs of the programme
    assert [line.split(":")[0] for line in summary.sign_ins] == [
        "sign in as the treasurer", "sign in as the chair",
        "sign in as the auditor of the province"]
    assert 80 + 4 * 20 <= summary.members <= 140 + 4 * 35
    assert summary.loans >= 10 and summary.entries >= 100
    connection = superuser_connection

    women, older, members = await connection.fetchrow(
        "SELECT count(*) FILTER (WHERE gender = 'female'), count(*) FILTER (WHERE birth_year"
        " <= 1966), count(*) FROM members")
    assert 0.5 < women / members < 0.9 and 0.5 < older / members < 0.9
    statuses = {r["status"] for r in await connection.fetch("SELECT status FROM loans")}
    assert {"disbursed", "repaid"} <= statuses
    assert await connection.fetchval(
        "SELECT count(*) FROM loan_events WHERE kind = 'repayment'") >= 30
    # every balance equals its postings, and debit balances equal credit balances per fund
    assert await connection.fetchval("""
        SELECT count(*) FROM account_balances b
         WHERE (b.debits, b.credits) <> (
               SELECT coalesce(sum(amount) FILTER (WHERE side = 'debit'), 0),
                      coalesce(sum(amount) FILTER (WHERE side = 'credit'), 0)
                 FROM postings p WHERE p.fund_id = b.fund_id AND p.account_id = b.account_id)
    """) == 0
    assert await connection.fetchval(
        "SELECT count(*) FROM (SELECT fund_id FROM account_balances GROUP BY fund_id"
        " HAVING sum(debits) <> sum(credits)) unbalanced") == 0
    # each loan's outstanding principal is its 131 account's balance
    assert await connection.fetchval("""
        SELECT count(*) FROM loans l JOIN account_balances b
            ON b.fund_id = l.fund_id AND b.account_id = l.account_id
         WHERE l.outstanding_principal <> b.debits - b.credits
    """) == 0
    # months are closed up to the one before last, and the tree changed on 2025-07-01
    assert await connection.fetchval("SELECT max(period) FROM closed_periods") == date(2026, 9, 1)
    async with app_pool.acquire() as app, app.transaction():
        await app.execute("SELECT set_config('clubfund.all_funds', 'on', true)")
        assert len(await funds_in_area(app, "51", date(2026, 1, 1))) == 2
        assert "522" in await area_subtree_codes(app, "51", date(2025, 6, 30))
        assert "522" not in await area_subtree_codes(app, "51", date(2025, 7, 1))
    await the_programme_is_alive(app_pool)
    with pytest.raises(DemoNotLoaded):
        await load_demo(app_pool, clubs_count=2, seed=7, end_date=END)

    # the same seed and end date load the same content into another database
    first = await content(connection)
    other = await clone_database(test_server, template_database)
    try:
        import asyncpg

        from service.database import create_pool

        pool = await create_pool(other.app_url, min_size=1, max_size=3)
        try:
            await load_demo(pool, clubs_count=2, seed=7, end_date=END, workers=2)
        finally:
            await pool.close()
        again = await asyncpg.connect(other.superuser_url)
        try:
            assert await content(again) == first
        finally:
            await again.close()
    finally:
        await drop_database(other)


async def the_programme_is_alive(app_pool) -> None:
    """The report of the demo's last year: four new clubs (established at fifths of the
    way from 2026-01-01 to END) against the province's target of five, the first two
    seeded by the commune budget, the last two still waiting since they were established."""
    from service.demo.loader import context
    from service.programme.service import programme_report
    from service.reports.service import portfolio_report

    async with app_pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT set_config('clubfund.all_funds', 'on', true)")
        ctx = context(connection, "test", datetime(2027, 1, 15, tzinfo=UTC))
        # The programme reads the portfolio's figures it shows with parts of its own
        # (no cash, flows or borrowers): each row says what the portfolio's says.
        compared = {year: (await programme_report(ctx, "51", year, "vi"),
                           await portfolio_report(ctx, "51", date(year, 1, 1),
                                                  date(year, 12, 31), "vi"))
                    for year in (END.year - 1, END.year)}
    shown = ("clubs", "capital_district_budget", "capital_other_budgets", "capital_donors",
             "capital_members", "capital_retained_surplus", "capital_total",
             "loans_outstanding", "amount_fallen_due", "amount_repaid_of_due",
             "repayment_rate", "outstanding_at_risk_30", "par30")

    def by_row(items: list) -> dict:
        return {(r.level, r.area_code, r.club_id): tuple(getattr(r, f) for f in shown)
                for r in items}

    for year, (programme, portfolio) in compared.items():
        assert by_row(programme.items) == by_row(portfolio.items), year
        total = portfolio.items[0]
        assert min(total.capital_total, total.loans_outstanding, total.amount_fallen_due) > 0
    # Between the two years, each loan figure differs from the others: a part that
    # read one for another would fail the comparison.
    earlier, last = (compared[year][1].items[0] for year in (END.year - 1, END.year))
    assert earlier.outstanding_at_risk_30 < earlier.loans_outstanding
    assert 0 < last.amount_repaid_of_due < last.amount_fallen_due
    assert last.outstanding_at_risk_30 > 0
    report = compared[END.year][0]
    province = report.items[0]
    assert (province.target_new_clubs, province.plan_reference) == (5, "70/KH-UBND")
    assert (province.clubs, province.clubs_established, province.clubs_seeded) == (6, 4, 2)
    assert province.seed_commune_budget == 2 * 50_000_000
    assert len(province.decision_numbers) == 2 and province.median_days_to_seed is not None
    assert province.clubs_waiting == 2 and province.new_club_members >= 4 * 20
    established = [date(2026, 1, 1) + timedelta(days=(END - date(2026, 1, 1)).days * k // 5)
                   for k in (1, 2, 3, 4)]
    assert [(w.established_on, w.days_waiting) for w in report.waiting] == [
        (day, (date(2026, 12, 31) - day).days) for day in established[2:]]
    # The two old clubs record something every month up to END; the seeded new clubs
    # record their seed money; nothing after END.
    active = province.active_clubs_by_month
    assert min(active[:10]) >= 2 and sum(active[:10]) >= 2 * 10 + 2 and active[10:] == [0, 0]


async def installments(connection) -> list:
    return [tuple(r) for r in await connection.fetch(
        "SELECT fund_id, loan_id, number, due_date, principal, interest"
        " FROM loan_installments ORDER BY fund_id, loan_id, number")]


async def test_each_disbursed_loan_keeps_its_schedule_and_the_migration_rebuilds_it(
    app_pool, superuser_connection, database
):
    """Disbursement writes the loan's schedule as rows; the migration that introduced them
    rebuilds the same rows for loans disbursed before it ran."""
    from ledger.loans import build_schedule
    from service import migrate
    from service.loans.service import terms_of
    from tests.conftest import run_in_thread

    await load_demo(app_pool, clubs_count=1, seed=3, end_date=END, workers=1)
    connection = superuser_connection
    loans = await connection.fetch(
        "SELECT l.*, c.name AS club FROM loans l JOIN funds f ON f.id = l.fund_id"
        " JOIN clubs c ON c.id = f.club_id WHERE l.disbursed_on IS NOT NULL")
    assert len(loans) >= 5
    rows = await installments(connection)
    expected = sorted(
        (loan["fund_id"], loan["id"], i.number, i.due_date, i.principal, i.interest)
        for loan in loans for i in build_schedule(terms_of(loan)).installments)
    assert sorted(rows) == expected
    assert {r[1] for r in rows} == {loan["id"] for loan in loans}

    # Each loan's schedule columns (kept from its installments), and what its row says it
    # owes and when it closed, recomputed here from its events' allocation columns.
    positions = {(r["fund_id"], r["id"]): r for r in await connection.fetch("SELECT * FROM loans")}
    for loan in loans:
        row = positions[(loan["fund_id"], loan["id"])]
        schedule = build_schedule(terms_of(loan)).installments
        assert row["schedule_due_dates"] == [i.due_date for i in schedule]
        assert row["schedule_cumulative_due"] == list(accumulate(i.total for i in schedule))
        events = await connection.fetch(
            "SELECT kind, effective_date, interest, principal FROM loan_events"
            " WHERE fund_id = $1 AND loan_id = $2 ORDER BY sequence",
            loan["fund_id"], loan["id"])
        paid_principal = sum(e["principal"] for e in events)
        # What was paid by each payment date, kept by the database from the events:
        # the report reads it.
        paid_on: dict = {}
        for e in events:
            if e["interest"] or e["principal"]:
                day = paid_on.setdefault(e["effective_date"], [0, 0])
                day[0] += e["interest"] + e["principal"]
                day[1] += e["principal"]
        days = sorted(paid_on)
        assert (row["paid_dates"], row["paid_interest_principal_by_date"],
                row["paid_principal_by_date"]) == (
            days, list(accumulate(paid_on[d][0] for d in days)),
            list(accumulate(paid_on[d][1] for d in days)))
        last: dict = {}  # the latest date of each kind
        for e in events:
            last[e["kind"]] = max(last.get(e["kind"], e["effective_date"]), e["effective_date"])
        if row["status"] == "written_off":
            assert (row["closed_on"], row["outstanding_principal"]) == (last["written_off"], 0)
        elif row["status"] == "repaid":
            assert (row["closed_on"], row["outstanding_principal"]) == (last["repayment"], 0)
            assert paid_principal == row["principal"]
        else:
            assert row["closed_on"] is None
            assert row["outstanding_principal"] == row["principal"] - paid_principal
    assert any(positions[k]["closed_on"] for k in positions)
    assert any(len(positions[k]["paid_dates"]) > 1 for k in positions)

    events = await connection.fetch("SELECT * FROM loan_events ORDER BY fund_id, loan_id, sequence")
    # One revision down, each loan's repayment state is back as JSON, replayed from its
    # repayments: it says what the loan row says.
    run_in_thread(lambda: migrate.downgrade(database.owner_url, "2026_11_30_loan_terms"))
    for row in await connection.fetch("SELECT * FROM loans WHERE disbursed_on IS NOT NULL"):
        state = json.loads(row["repayment_state"])
        assert state["closed"] == (row["status"] == "repaid")
        if row["status"] != "written_off":
            assert row["principal"] - sum(state["principal_paid"]) == \
                row["outstanding_principal"]
    run_in_thread(lambda: migrate.downgrade(database.owner_url, "2026_11_23_daily_balances"))
    assert await connection.fetchval("SELECT to_regclass('loan_installments')") is None
    run_in_thread(lambda: migrate.upgrade(database.owner_url, "head"))
    assert await installments(connection) == rows
    # The allocations went back into the events' JSON and came out again, typed.
    assert await connection.fetch(
        "SELECT * FROM loan_events ORDER BY fund_id, loan_id, sequence") == events
    assert {(r["fund_id"], r["id"]): r for r in await connection.fetch("SELECT * FROM loans")} \
        == positions
