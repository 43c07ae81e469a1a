"""A stateful property test over HTTP: hypothesis drives the API through random sequences
of operations — bare ledgers with raw entries and reversals, clubs with seed grants,
expenses and loans (application by the treasurer, approval by the chair, disbursement,
repayments), month closes, idempotent retries — and a plain Python model predicts every
answer. After every step each account's balance, each fund's trial balance, each loan's
outstanding principal and the audit log's verification must agree with the model.

The model does its own arithmetic: a balance is the sum of the postings it expects, a
refusal is expected exactly when an account that may not go negative would, a
zero-rate loan's repayment goes wholly to principal. The one figure it takes from the
API is how an interest-bearing loan's repayment splits into interest and principal (the
schedule's arithmetic); it checks that the split adds up and follows it in the ledger.

Hypothesis rules are synchronous: the machine runs in a worker thread and hands each
request to the test's event loop, where the app and its connection pool live.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.api.factories import post_commune
from tests.report_figures import STOCK_FIGURES, figure_of

T = TypeVar("T")
START = date(2026, 1, 5)
BARE_FUNDS_MAX, CLUBS_MAX, LOANS_PER_CLUB_MAX, ENTRIES_PER_FUND_MAX = 1, 2, 4, 12
BARE_CHART = (("111", "asset", False), ("4111", "equity", True), ("642", "expense", True),
              ("711", "income", True))
_keys = itertools.count(1)


def today() -> date:
    return datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()


def month_start(day: date) -> date:
    return day.replace(day=1)


def previous_month(first: date) -> date:
    return (first - timedelta(days=1)).replace(day=1)


def next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


@dataclass
class AccountModel:
    code: str
    normal_side: str
    allow_negative: bool
    debits: int = 0
    credits: int = 0

    @property
    def balance(self) -> int:
        signed = self.debits - self.credits
        return signed if self.normal_side == "debit" else -signed


@dataclass
class EntryModel:
    id: str
    lines: list[tuple[str, str, int]]  # (account id, side, amount)
    reversed: bool = False


@dataclass
class LoanModel:
    id: str
    principal: int
    rate: str
    first_due_date: date
    status: str = "applied"
    outstanding: int = 0
    account_id: str = ""  # its receivable account, opened at disbursement


@dataclass
class ClubModel:
    member_id: str
    treasurer: httpx.AsyncClient
    chair: httpx.AsyncClient
    club_id: str
    loans: list[LoanModel] = field(default_factory=list)


@dataclass
class FundModel:
    id: str
    accounts: dict[str, AccountModel]  # by account id
    closer: httpx.AsyncClient  # who closes its months
    club: ClubModel | None = None
    entries: list[EntryModel] = field(default_factory=list)
    last_closed: date | None = None  # first day of the latest closed month

    def account_id(self, code: str) -> str:
        return next(i for i, a in self.accounts.items() if a.code == code)

    def refuses(self, lines: list[tuple[str, str, int]]) -> bool:
        """Would these postings take an account that may not go negative below zero?"""
        moved: dict[str, int] = {}
        for account_id, side, amount in lines:
            account = self.accounts[account_id]
            towards_normal = (side == account.normal_side)
            moved[account_id] = moved.get(account_id, 0) + (amount if towards_normal else -amount)
        return any(not self.accounts[a].allow_negative and self.accounts[a].balance + m < 0
                   for a, m in moved.items())

    def apply(self, lines: list[tuple[str, str, int]]) -> None:
        for account_id, side, amount in lines:
            account = self.accounts[account_id]
            if side == "debit":
                account.debits += amount
            else:
                account.credits += amount


@dataclass
class Post:
    """A POST that succeeded, kept to be retried with its Idempotency-Key."""
    http: httpx.AsyncClient
    path: str
    body: dict[str, Any]
    key: str
    status: int
    answer: dict[str, Any]


def flipped(lines: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    return [(a, "credit" if side == "debit" else "debit", amount) for a, side, amount in lines]


def changed(body: dict[str, Any]) -> dict[str, Any]:
    """The same request with a different body."""
    if "amount" in body:
        return {**body, "amount": body["amount"] + 1}
    if "description" in body:
        return {**body, "description": body["description"] + " (sửa)"}
    if "name" in body:
        return {**body, "name": body["name"] + " (sửa)"}
    return {**body, "effective_date": "2026-01-01"}


def build_machine(
    loop: asyncio.AbstractEventLoop, admin: httpx.AsyncClient,
    client_for: Any, commune: str,
) -> type[RuleBasedStateMachine]:

    def call(coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=120)

    def send(http: httpx.AsyncClient, path: str, body: dict[str, Any],
             key: str | None = None) -> httpx.Response:
        headers = {"Idempotency-Key": key} if key else {}
        return call(http.post(path, json=body, headers=headers))

    def get(http: httpx.AsyncClient, path: str) -> Any:
        response = call(http.get(path))
        assert response.status_code == 200, (path, response.text)
        return response.json()

    def refused(response: httpx.Response, status: int, code: str) -> None:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == code, response.text

    class LedgerOverHttp(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = START
            self.funds: list[FundModel] = []
            self.last_post: Post | None = None

        # -- helpers ---------------------------------------------------------------

        def post(self, http: httpx.AsyncClient, path: str,
                 body: dict[str, Any]) -> httpx.Response:
            """POST with a fresh Idempotency-Key; a success is kept for the retry rules."""
            key = f"machine-{uuid.uuid4().hex[:8]}-{next(_keys)}"
            response = send(http, path, body, key)
            assert response.status_code < 500, response.text
            if response.status_code < 300:
                self.last_post = Post(http, path, body, key, response.status_code,
                                      response.json())
            return response

        def bare_funds(self) -> list[FundModel]:
            return [f for f in self.funds if f.club is None]

        def clubs(self) -> list[FundModel]:
            return [f for f in self.funds if f.club is not None]

        def loans(self) -> list[tuple[FundModel, LoanModel]]:
            return [(f, loan) for f in self.clubs() for loan in f.club.loans]  # type: ignore[union-attr]

        def accounts_of(self, fund_id: str) -> dict[str, AccountModel]:
            listed = get(admin, f"/v1/funds/{fund_id}/accounts?limit=500")["items"]
            return {a["id"]: AccountModel(a["code"], a["normal_side"], a["allow_negative"])
                    for a in listed}

        # -- funds and clubs ---------------------------------------------------------

        @initialize()
        def open_a_ledger_and_a_seeded_club(self) -> None:
            self.open_bare_fund()
            self.open_club()
            self.seed_grant(len(self.funds) - 1, 10_000_000)

        @precondition(lambda self: len(self.bare_funds()) < BARE_FUNDS_MAX)
        @rule()
        def open_bare_fund(self) -> None:
            response = self.post(admin, "/v1/funds", {"name": "Sổ thử", "currency": "VND"})
            assert response.status_code == 201, response.text
            fund_id = response.json()["id"]
            for code, kind, negative in BARE_CHART:
                opened = self.post(admin, f"/v1/funds/{fund_id}/accounts", {
                    "code": code, "name": f"TK {code}", "type": kind,
                    "allow_negative": negative})
                assert opened.status_code == 201, opened.text
            self.funds.append(FundModel(fund_id, self.accounts_of(fund_id), closer=admin))

        @precondition(lambda self: len(self.clubs()) < CLUBS_MAX)
        @rule()
        def open_club(self) -> None:
            response = self.post(admin, "/v1/clubs", {
                "name": "CLB thử", "area_code": commune, "established_on": "2025-01-01"})
            assert response.status_code == 201, response.text
            club_id, fund_id = response.json()["id"], response.json()["fund_id"]
            clients = {}
            for role in ("treasurer", "chair"):
                person = self.post(admin, "/v1/people", {
                    "name": f"Người giữ vai {role}", "role": role, "scope": f"club:{club_id}"})
                assert person.status_code == 201, person.text
                issued = self.post(admin, "/v1/tokens", {"person_id": person.json()["id"]})
                assert issued.status_code == 201, issued.text
                clients[role] = client_for(issued.json()["token"])
            member = self.post(clients["treasurer"], f"/v1/clubs/{club_id}/members",
                               {"name": "Nguyễn Thị A", "gender": "female",
                                "birth_year": 1955})
            assert member.status_code == 201, member.text
            club = ClubModel(member.json()["id"], clients["treasurer"], clients["chair"],
                             club_id=club_id)
            self.funds.append(FundModel(fund_id, self.accounts_of(fund_id),
                                        closer=clients["chair"], club=club))

        # -- raw entries and reversals --------------------------------------------

        @precondition(lambda self: self.bare_funds())
        @rule(which=st.integers(0, 9), debit=st.sampled_from(BARE_CHART),
              credit=st.sampled_from(BARE_CHART), amount=st.integers(1, 5_000_000))
        def post_raw_entry(self, which: int, debit: tuple[str, str, bool],
                           credit: tuple[str, str, bool], amount: int) -> None:
            fund = self.bare_funds()[which % len(self.bare_funds())]
            if debit == credit or len(fund.entries) >= ENTRIES_PER_FUND_MAX:
                return
            lines = [(fund.account_id(debit[0]), "debit", amount),
                     (fund.account_id(credit[0]), "credit", amount)]
            response = self.post(admin, f"/v1/funds/{fund.id}/entries", {
                "effective_date": self.clock.isoformat(), "description": "Bút toán",
                "currency": "VND",
                "postings": [{"account_id": a, "side": s, "amount": m} for a, s, m in lines]})
            if fund.refuses(lines):
                refused(response, 422, "insufficient_funds")
                return
            assert response.status_code == 201, response.text
            fund.apply(lines)
            fund.entries.append(EntryModel(response.json()["id"], lines))

        @precondition(lambda self: any(f.entries for f in self.bare_funds()))
        @rule(which=st.integers(0, 9), pick=st.integers(0, 99))
        def reverse_entry(self, which: int, pick: int) -> None:
            funds = [f for f in self.bare_funds() if f.entries]
            fund = funds[which % len(funds)]
            entry = fund.entries[pick % len(fund.entries)]
            response = self.post(admin, f"/v1/entries/{entry.id}/reversal",
                                 {"effective_date": self.clock.isoformat()})
            if entry.reversed:
                refused(response, 409, "already_reversed")
                return
            if fund.refuses(flipped(entry.lines)):
                refused(response, 422, "insufficient_funds")
                return
            assert response.status_code == 201, response.text
            assert response.json()["reverses_entry_id"] == entry.id
            fund.apply(flipped(entry.lines))
            entry.reversed = True

        @precondition(lambda self: any(f.last_closed for f in self.bare_funds()))
        @rule(which=st.integers(0, 9))
        def post_into_a_closed_month(self, which: int) -> None:
            funds = [f for f in self.bare_funds() if f.last_closed]
            fund = funds[which % len(funds)]
            assert fund.last_closed is not None
            last_day = next_month(fund.last_closed) - timedelta(days=1)
            response = self.post(admin, f"/v1/funds/{fund.id}/entries", {
                "effective_date": last_day.isoformat(), "description": "Muộn",
                "currency": "VND",
                "postings": [{"account_id": fund.account_id("642"), "side": "debit",
                              "amount": 1},
                             {"account_id": fund.account_id("4111"), "side": "credit",
                              "amount": 1}]})
            refused(response, 409, "period_closed")

        # -- a club's cash book -----------------------------------------------------

        @precondition(lambda self: self.clubs())
        @rule(which=st.integers(0, 9), amount=st.integers(1, 40).map(lambda n: n * 250_000))
        def seed_grant(self, which: int, amount: int) -> None:
            fund = self.clubs()[which % len(self.clubs())]
            assert fund.club is not None
            response = self.post(fund.club.treasurer, f"/v1/funds/{fund.id}/seed-grants", {
                "amount": amount, "source": "district_budget",
                "decision_number": "12/QĐ-UBND", "effective_date": self.clock.isoformat()})
            assert response.status_code == 201, response.text
            fund.apply([(fund.account_id("111"), "debit", amount),
                        (fund.account_id("4111"), "credit", amount)])

        @precondition(lambda self: self.clubs())
        @rule(which=st.integers(0, 9), amount=st.integers(1, 1_500_000))
        def expense(self, which: int, amount: int) -> None:
            fund = self.clubs()[which % len(self.clubs())]
            assert fund.club is not None
            lines = [(fund.account_id("642"), "debit", amount),
                     (fund.account_id("111"), "credit", amount)]
            response = self.post(fund.club.treasurer, f"/v1/funds/{fund.id}/expenses",
                                 {"amount": amount, "effective_date": self.clock.isoformat()})
            if fund.refuses(lines):
                refused(response, 422, "insufficient_funds")
                return
            assert response.status_code == 201, response.text
            fund.apply(lines)

        # -- loans ------------------------------------------------------------------

        @precondition(lambda self: self.clubs())
        @rule(which=st.integers(0, 9), principal=st.integers(1, 30).map(lambda n: n * 100_000),
              installments=st.integers(1, 6), rate=st.sampled_from(["0", "0.01"]),
              then=st.sampled_from(["wait", "approve", "disburse", "disburse"]))
        def apply_for_loan(self, which: int, principal: int, installments: int,
                           rate: str, then: str) -> None:
            """An application; then, in the same step, its approval and disbursement
            too (each also has a rule of its own)."""
            fund = self.clubs()[which % len(self.clubs())]
            club = fund.club
            assert club is not None
            if len(club.loans) >= LOANS_PER_CLUB_MAX:
                return
            first_due = self.clock + timedelta(days=30)
            response = self.post(club.treasurer, f"/v1/funds/{fund.id}/loans", {
                "member_id": club.member_id, "principal": principal,
                "installments": installments, "rate_per_period": rate,
                "first_due_date": first_due.isoformat(),
                "applied_on": self.clock.isoformat()})
            assert response.status_code == 201, response.text
            assert response.json()["status"] == "applied"
            loan = LoanModel(response.json()["id"], principal, rate, first_due)
            club.loans.append(loan)
            if then != "wait":
                self.approve(fund, loan)
            if then == "disburse":
                self.disburse(fund, loan)

        @precondition(lambda self: any(loan.status == "applied" for _, loan in self.loans()))
        @rule(pick=st.integers(0, 99))
        def approve_loan(self, pick: int) -> None:
            candidates = [(f, loan) for f, loan in self.loans() if loan.status == "applied"]
            self.approve(*candidates[pick % len(candidates)])

        def approve(self, fund: FundModel, loan: LoanModel) -> None:
            assert fund.club is not None
            response = self.post(fund.club.chair, f"/v1/loans/{loan.id}/approval",
                                 {"effective_date": self.clock.isoformat()})
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "approved"
            loan.status = "approved"

        @precondition(lambda self: any(loan.status == "approved" for _, loan in self.loans()))
        @rule(pick=st.integers(0, 99))
        def disburse_loan(self, pick: int) -> None:
            candidates = [(f, loan) for f, loan in self.loans() if loan.status == "approved"]
            self.disburse(*candidates[pick % len(candidates)])

        def disburse(self, fund: FundModel, loan: LoanModel) -> None:
            assert fund.club is not None
            if self.clock >= loan.first_due_date:
                return  # too late to disburse on these terms
            response = self.post(fund.club.treasurer, f"/v1/loans/{loan.id}/disbursement",
                                 {"effective_date": self.clock.isoformat()})
            cash = fund.account_id("111")
            if fund.accounts[cash].balance < loan.principal:
                refused(response, 422, "insufficient_funds")
                return
            assert response.status_code == 200, response.text
            read = response.json()
            assert read["status"] == "disbursed"
            # the loan's own receivable account, opened now (its id comes from the API)
            fund.accounts[read["account_id"]] = AccountModel(read["account_code"], "debit",
                                                             True)
            fund.apply([(read["account_id"], "debit", loan.principal),
                        (cash, "credit", loan.principal)])
            loan.status, loan.outstanding = "disbursed", loan.principal
            loan.account_id = read["account_id"]

        @precondition(lambda self: any(loan.status in ("disbursed", "repaid")
                                       for _, loan in self.loans()))
        @rule(pick=st.integers(0, 99), share=st.integers(1, 100),
              exact=st.sampled_from(["share", "all", "more"]))
        def repay(self, pick: int, share: int, exact: str) -> None:
            candidates = [(f, loan) for f, loan in self.loans()
                          if loan.status in ("disbursed", "repaid")]
            fund, loan = candidates[pick % len(candidates)]
            assert fund.club is not None
            if loan.status == "repaid":
                response = self.post(fund.club.treasurer, f"/v1/loans/{loan.id}/repayments",
                                     {"amount": 1, "effective_date": self.clock.isoformat()})
                refused(response, 409, "invalid_loan_state")
                return
            interest_free = loan.rate == "0"
            if exact == "more" and interest_free:
                amount = loan.outstanding + 1
            elif exact == "all" and interest_free:
                amount = loan.outstanding
            else:
                amount = max(1, loan.outstanding * share // 100)
            response = self.post(fund.club.treasurer, f"/v1/loans/{loan.id}/repayments",
                                 {"amount": amount, "effective_date": self.clock.isoformat()})
            if amount > loan.outstanding:
                refused(response, 422, "overpayment")
                return
            assert response.status_code == 201, response.text
            paid = response.json()
            split = paid["allocation"]
            if interest_free:
                assert split == {"penalty": 0, "interest": 0, "principal": amount}
            else:  # the split is the schedule's: it must add up and not overpay principal
                assert split["penalty"] == 0 and min(split.values()) >= 0
                assert sum(split.values()) == amount and split["principal"] <= loan.outstanding
            fund.apply([(fund.account_id("111"), "debit", amount)] + [
                (account, "credit", part) for account, part in (
                    (loan.account_id, split["principal"]),
                    (fund.account_id("515"), split["interest"])) if part])
            loan.outstanding -= split["principal"]
            if interest_free:
                assert paid["status"] == ("repaid" if loan.outstanding == 0 else "disbursed")
            loan.status = paid["status"]
            assert paid["outstanding_principal"] == loan.outstanding

        # -- months and time ----------------------------------------------------------

        @precondition(lambda self: self.funds)
        @rule(which=st.integers(0, 9))
        def close_month(self, which: int) -> None:
            fund = self.funds[which % len(self.funds)]
            target = (next_month(fund.last_closed) if fund.last_closed
                      else previous_month(month_start(self.clock)))
            if target >= month_start(self.clock):
                return  # the next month to close has not ended (or holds today's work)
            response = self.post(fund.closer, f"/v1/funds/{fund.id}/periods/"
                                 f"{target:%Y-%m}/close", {})
            assert response.status_code == 201, response.text
            fund.last_closed = target

        @rule(days=st.integers(1, 45))
        def advance_clock(self, days: int) -> None:
            self.clock = min(self.clock + timedelta(days=days), today())

        # -- idempotent retries -------------------------------------------------------

        @precondition(lambda self: self.last_post is not None)
        @rule()
        def replay_the_last_post(self) -> None:
            last = self.last_post
            assert last is not None
            again = send(last.http, last.path, last.body, last.key)
            assert again.status_code == last.status, again.text
            # a token's secret is shown once: its replay carries null instead
            secret = {"token": None} if last.path == "/v1/tokens" else {}
            assert again.json() == {**last.answer, **secret}

        @precondition(lambda self: self.last_post is not None)
        @rule()
        def reuse_the_key_with_another_body(self) -> None:
            last = self.last_post
            assert last is not None
            other = send(last.http, last.path, changed(last.body), last.key)
            refused(other, 409, "idempotency_conflict")

        # -- what must hold after every step -------------------------------------------

        @invariant()
        def balances_trial_balances_loans_and_the_audit_log_agree(self) -> None:
            for fund in self.funds:
                listed = get(admin, f"/v1/funds/{fund.id}/accounts?limit=500")["items"]
                assert {a["id"]: a["balance"] for a in listed} == {
                    i: a.balance for i, a in fund.accounts.items()}
                trial = get(admin, f"/v1/funds/{fund.id}/trial-balance")
                rows = {r["account_id"]: (r["debits"], r["credits"], r["balance"])
                        for r in trial["items"]}
                expected = {i: (a.debits, a.credits, a.balance)
                            for i, a in fund.accounts.items()}
                assert {i: rows.get(i, (0, 0, 0)) for i in expected} == expected
                assert set(rows) <= set(expected)
                assert trial["balanced"] is True
                total_debits = sum(a.debits for a in fund.accounts.values())
                assert all((t["debits"], t["credits"]) == (total_debits, total_debits)
                           for t in trial["totals"])
                verified = get(admin, f"/v1/funds/{fund.id}/audit/verify")
                assert verified["ok"] is True, verified
                for loan in fund.club.loans if fund.club else []:
                    read = get(admin, f"/v1/loans/{loan.id}")
                    assert (read["status"], read["outstanding_principal"]) == (
                        loan.status, loan.outstanding)
            # Each club's fund figures in the portfolio (read from the database's figures
            # by day, backdated entries and reversals included) are its accounts' balances.
            clubs = [fund for fund in self.funds if fund.club]
            if clubs:
                rows = {row["club_id"]: row for row in get(
                    admin, f"/v1/reports/portfolio?area={commune}")["items"]
                    if row["level"] == "club"}
                for fund in clubs:
                    assert fund.club is not None
                    row = rows[fund.club.club_id]
                    assert {name: row[name] for name in STOCK_FIGURES} == {
                        name: sum(a.balance for a in fund.accounts.values()
                                  if figure_of(a.code) == name)
                        for name in STOCK_FIGURES}

    return LedgerOverHttp


@pytest.mark.slow
async def test_the_api_agrees_with_a_plain_model_after_every_step(
    anonymous, client, client_for
):
    assert (await anonymous.post("/v1/funds", json={"name": "x", "currency": "VND"})
            ).status_code == 401
    commune = await post_commune(client, prefix="77")
    machine = build_machine(asyncio.get_running_loop(), client, client_for, commune)
    await asyncio.to_thread(
        run_state_machine_as_test, machine,
        settings=settings(max_examples=5, stateful_step_count=30, deadline=None,
                          suppress_health_check=list(HealthCheck)),
    )
