"""Order of recording does not matter: the same operations recorded in a random order
and in date order leave every account's balance on every date, the trial balance and
every loan's register equal; and no never-negative account ends any day below zero."""

from __future__ import annotations

import itertools
import uuid
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.factories import accounts_by_code, post_club, post_commune, post_member

FIRST_DAY = date(2026, 2, 1)
DAYS = [date(2026, 1, 1) + timedelta(days=n) for n in range(150)]
LOANS_COUNT = 2
_areas = itertools.count(1)


@st.composite
def operations(draw: st.DrawFn) -> list[tuple[str, int, int, int]]:
    """(kind, day offset from FIRST_DAY, amount, loan index) — each loan disbursed once,
    before the first due date (2026-03-05), and repaid only after it was disbursed."""
    ops: list[tuple[str, int, int, int]] = []
    for loan in range(LOANS_COUNT):
        disbursed = draw(st.integers(0, 20))
        ops.append(("disbursement", disbursed, 0, loan))
        for day in draw(st.lists(st.integers(disbursed, 90), max_size=3)):
            ops.append(("repayment", day, draw(st.integers(1, 120_000)), loan))
    for day in draw(st.lists(st.integers(0, 90), max_size=3)):
        ops.append(("deposit", day, draw(st.integers(1, 1_000_000)), 0))
    for day in draw(st.lists(st.integers(0, 90), max_size=3)):
        ops.append(("withdrawal", day, draw(st.integers(1, 1_000_000)), 0))
    return ops


def recording_order(ops, permutation: list[int]) -> list[int]:
    """The permutation, except that a loan's disbursement is recorded before any of its
    repayments (a repayment of a loan not yet disbursed is refused, as it should be)."""
    order: list[int] = []
    for index in permutation:
        kind, _, _, loan = ops[index]
        if kind == "repayment":
            disbursement = next(i for i, o in enumerate(ops)
                                if o[0] == "disbursement" and o[3] == loan)
            if disbursement not in order:
                order.append(disbursement)
        if index not in order:
            order.append(index)
    return order


async def new_fund(client, approver) -> tuple[str, list[str]]:
    """A club's fund with 10,000,000 of seed money and LOANS_COUNT approved loans of
    1,200,000 over 12 months at 1 %."""
    club = await post_club(client, await post_commune(client, prefix=f"Q{next(_areas)}X"))
    member = await post_member(client, club["id"])
    fund = club["fund_id"]
    seed = await client.post(f"/v1/funds/{fund}/seed-grants", json={
        "amount": 10_000_000, "source": "district_budget", "decision_number": "1/QĐ",
        "effective_date": "2026-01-05"})
    assert seed.status_code == 201, seed.text
    loans = []
    for _ in range(LOANS_COUNT):
        applied = await client.post(f"/v1/funds/{fund}/loans", json={
            "member_id": member["id"], "principal": 1_200_000, "installments": 12,
            "rate_per_period": "0.01", "first_due_date": "2026-03-05",
            "applied_on": "2026-01-10"})
        assert applied.status_code == 201, applied.text
        approval = await approver.post(f"/v1/loans/{applied.json()['id']}/approval",
                                       json={"effective_date": "2026-01-10"})
        assert approval.status_code == 200, approval.text
        loans.append(applied.json()["id"])
    return fund, loans


async def record(client, fund: str, loans: list[str], operation) -> None:
    kind, offset, amount, loan = operation
    day = (FIRST_DAY + timedelta(days=offset)).isoformat()
    path, body = {
        "deposit": (f"/v1/funds/{fund}/donations", {"amount": amount}),
        "withdrawal": (f"/v1/funds/{fund}/expenses", {"amount": amount}),
        "disbursement": (f"/v1/loans/{loans[loan]}/disbursement", {}),
        "repayment": (f"/v1/loans/{loans[loan]}/repayments", {"amount": amount}),
    }[kind]
    response = await client.post(path, json={**body, "effective_date": day})
    assert response.status_code in (200, 201), (operation, response.text)


async def balances_by_day(connection, fund: str) -> dict[str, list[int]]:
    """Each account's balance (on its normal side) at the end of every day of DAYS."""
    rows = await connection.fetch(
        """
        SELECT a.code, a.normal_side, p.effective_date,
               sum(CASE WHEN p.side = 'debit' THEN p.amount ELSE -p.amount END) AS moved
          FROM accounts a JOIN postings p ON p.fund_id = a.fund_id AND p.account_id = a.id
         WHERE a.fund_id = $1
         GROUP BY a.code, a.normal_side, p.effective_date
        """,
        uuid.UUID(fund),
    )
    series: dict[str, list[int]] = {}
    for code in {r["code"] for r in rows}:
        moves = [(r["effective_date"], r["moved"] * (1 if r["normal_side"] == "debit" else -1))
                 for r in rows if r["code"] == code]
        series[code] = [sum(m for d, m in moves if d <= day) for day in DAYS]
    return series


async def register(client, loans: list[str]) -> list[tuple]:
    found = []
    for loan in loans:
        read = (await client.get(f"/v1/loans/{loan}")).json()
        schedule = (await client.get(f"/v1/loans/{loan}/schedule")).json()
        seen = [(await client.get(f"/v1/loans/{loan}", params={"as_of": day})).json()
                for day in ("2026-02-15", "2026-03-10", "2026-04-20")]
        found.append((
            read["status"], read["outstanding_principal"], read["principal_repaid"],
            read["interest_paid"], read["penalty_paid"],
            [(i["principal_paid"], i["interest_paid"]) for i in schedule["installments"]],
            [(s["outstanding_principal"], s["interest_paid"], s["days_overdue"]) for s in seen],
        ))
    return found


@pytest.mark.slow
@settings(max_examples=6, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=operations(), data=st.data())
async def test_recording_order_does_not_matter(client, client_for, new_token,
                                               superuser_connection, ops, data):
    approver = client_for(await new_token("admin"))
    shuffled = recording_order(ops, data.draw(st.permutations(range(len(ops)))))
    by_date = sorted(range(len(ops)), key=lambda i: (ops[i][1], ops[i][0] != "disbursement", i))
    results = []
    for order in (by_date, shuffled):
        fund, loans = await new_fund(client, approver)
        for index in order:
            await record(client, fund, loans, ops[index])
        series = await balances_by_day(superuser_connection, fund)
        accounts = await accounts_by_code(client, fund)
        for code, account in accounts.items():
            if not account["allow_negative"] and code in series:
                assert min(series[code]) >= 0, (code, series[code])
        trial = (await client.get(f"/v1/funds/{fund}/trial-balance",
                                  params={"as_of": "2026-03-31"})).json()
        loan_register = await register(client, loans)
        for loan, position in zip(loans, loan_register, strict=True):
            account_id = (await client.get(f"/v1/loans/{loan}")).json()["account_id"]
            code = next(c for c, a in accounts.items() if a["id"] == account_id)
            assert series[code][-1] == position[1]  # the register equals the ledger
        results.append((series, sorted((r["code"], r["balance"]) for r in trial["items"]),
                        loan_register))
    assert results[0] == results[1]
