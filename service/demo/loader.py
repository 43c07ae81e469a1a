"""The demo province: a living ledger a newcomer can explore.

`load_demo` builds, through the service layer (the same functions the API calls),
province 51 with five districts and twenty communes, then the 2025 reorganisation
(districts removed, communes merged two by two, clubs moved); `clubs` clubs of
40–70 members (about 70 % aged 60 or more, about 70 % women); seed grants from the
district budgets (some also from the commune budget or a donor); and a year of
activity ending on `end_date`: monthly contributions and expenses, donations, one
to three loan applications a month (approved by the chair, disbursed when the cash
allows), repayments by good, late and defaulting borrowers, write-offs requested by
the treasurer and approved by the chair, and every month closed once it is over.

The programme: the plan's targets (Kế hoạch 70/KH-UBND) for the province and some of
its new communes for the last two years, and `new_clubs` clubs established in the
demo's last year in the new communes, the first half given their seed money by the
commune budget, the others still waiting for it, so the programme report shows new
clubs against the target and who is owed seed money.

Each club is one transaction on its own connection; clubs load in parallel. The
data depend only on `seed`, `clubs` and `end_date` (each club draws from its own
seeded generator), not on timing.
"""

from __future__ import annotations

import asyncio
import dataclasses
import heapq
import random
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from ledger import periods
from ledger.chart import FundingSource, PaymentMethod
from ledger.loans import (
    Frequency,
    InterestMethod,
    LoanState,
    LoanTerms,
    Schedule,
    allocate_repayment,
    amount_due,
    build_schedule,
    installment_due_date,
    opening_state,
    payoff_amount,
)
from service.areas import service as areas
from service.areas.schemas import AreaCreate, AreaDissolution, AreaLevel
from service.auth.repository import grant_all_funds
from service.cashbook.schemas import CashOperationCreate
from service.cashbook.service import CashOperation, post_cash_operation
from service.clubs import service as clubs
from service.clubs.schemas import ClubCreate, ClubMove, Gender, MemberCreate
from service.context import BUSINESS_TIMEZONE, RequestContext, TransactionState, operator_context
from service.demo import names
from service.loans import service as loans
from service.loans.schemas import (
    DisbursementCreate,
    LoanCreate,
    LoanDecision,
    RepaymentCreate,
    WriteOffRequest,
)
from service.people.schemas import PersonCreate
from service.people.service import add_person
from service.periods import service as closing
from service.programme import service as programme
from service.programme.schemas import TargetCreate
from service.signin.service import give_pin

AREAS_VALID_FROM = date(2004, 1, 1)
REORGANISATION = date(2025, 7, 1)
CASH_RESERVE = 1_000_000  # the treasurer keeps this much in the box
MILLION = 1_000_000
# (rate per month, a penalty per day within 150 % of it: rate × 12 × 1.5 / 365, rounded
# down), the rate 1 %/month twice as often as the others.
DEMO_RATES = (("0", "0"), ("0.005", "0.0002"), ("0.007", "0.0003"), ("0.008", "0.0003"),
              ("0.01", "0.0004"), ("0.01", "0.0004"))
PLAN_REFERENCE = "70/KH-UBND"
SEED_MONEY = 50 * MILLION  # the plan's seed money per new club


class DemoNotLoaded(Exception):
    """The database already holds clubs (or the dates make no sense)."""


@dataclass
class DemoSummary:
    clubs: int = 0
    members: int = 0
    loans: int = 0
    entries: int = 0
    written_off: int = 0
    seconds: float = 0.0
    sign_ins: list[str] = field(default_factory=list)

    def table(self) -> str:
        rows = [("clubs", self.clubs), ("members", self.members), ("loans", self.loans),
                ("entries", self.entries), ("loans written off", self.written_off),
                ("seconds", f"{self.seconds:.1f}")]
        lines = [f"{name:<18} {value:>8}" for name, value in rows]
        return "\n".join([*lines, *self.sign_ins])


# The demo's people who sign in on the pages, in the first club: (role, name, phone, PIN).
DEMO_SIGN_INS = (
    ("treasurer", "Nguyễn Thị Hoa", "0912000001", "2468"),
    ("chair", "Trần Văn Bình", "0912000002", "1357"),
)


async def add_sign_ins(
    connection: asyncpg.Connection, club_id: uuid.UUID, today: datetime
) -> list[str]:
    """The treasurer and the chair of the first club, with their PINs set: what the README
    tells a newcomer to sign in with."""
    lines = []
    for role, name, phone, pin in DEMO_SIGN_INS:
        person, _ = await add_person(connection, PersonCreate(
            name=name, phone=phone, role=role, scope=f"club:{club_id}"),  # type: ignore[arg-type]
            "demo", today)
        await give_pin(connection, person.id, pin, today)
        lines.append(f"sign in as the {role}: phone {phone}, PIN {pin} ({name})")
    return lines


# The demo province's auditor, who signs in on the auditor's pages: (name, phone, PIN).
DEMO_AUDITOR = ("Võ Thị Thu", "0912000003", "8642")


async def add_auditor_sign_in(connection: asyncpg.Connection, today: datetime) -> list[str]:
    """The auditor of the demo province, with her PIN set."""
    name, phone, pin = DEMO_AUDITOR
    person, _ = await add_person(connection, PersonCreate(
        name=name, phone=phone, role="auditor",
        scope=f"area:{names.PROVINCE[0]}"), "demo", today)
    await give_pin(connection, person.id, pin, today)
    return [f"sign in as the auditor of the province: phone {phone}, PIN {pin} ({name})"]


def context(
    connection: asyncpg.Connection, actor: str, today: datetime,
    transaction: TransactionState | None = None,
) -> RequestContext:
    return operator_context(connection, actor, today, "demo", transaction)


def add_months(day: date, months: int) -> date:
    return installment_due_date(day, Frequency.MONTHLY, months)


@dataclass
class LoanInProgress:
    """The demo's own copy of a loan's schedule and state (the service keeps the real one,
    computed by the same core functions), to know what a borrower owes on a date."""

    loan_id: uuid.UUID
    member_id: uuid.UUID
    principal: int
    terms: LoanTerms
    schedule: Schedule | None = None
    state: LoanState | None = None
    behaviour: str = "good"
    open: bool = True


@dataclass
class ClubBook:
    """One club's year, played in date order."""

    index: int
    club_id: uuid.UUID
    rng: random.Random
    start: date
    end: date
    fund_id: uuid.UUID
    treasurer: RequestContext
    chair: RequestContext
    members: list[uuid.UUID]
    cash: int = 0
    reserved: int = 0
    borrowing: set[uuid.UUID] = field(default_factory=set)
    loans: dict[uuid.UUID, LoanInProgress] = field(default_factory=dict)
    events: list[tuple[date, int, str, Any]] = field(default_factory=list)
    counter: int = 0
    written_off: int = 0

    def push(self, day: date, kind: str, payload: Any = None) -> None:
        if day <= self.end:
            self.counter += 1
            heapq.heappush(self.events, (day, self.counter, kind, payload))

    async def cash_operation(
        self, operation: CashOperation, amount: int, day: date, **extra: Any
    ) -> None:
        body = CashOperationCreate(amount=amount, effective_date=day, **extra)
        await post_cash_operation(self.treasurer, self.fund_id, operation, body)
        if body.payment_method is PaymentMethod.CASH:
            self.cash += -amount if operation is CashOperation.EXPENSE else amount

    def plan(self) -> None:
        rng, month = self.rng, self.start
        first_close = periods.period_of(self.start - timedelta(days=1))
        self.push(first_close + timedelta(days=35), "close", first_close)
        while month <= self.end:
            self.push(month + timedelta(days=9), "contribution")
            self.push(month + timedelta(days=24), "expense")
            for _ in range(rng.choice((1, 1, 2, 2, 3))):
                self.push(month + timedelta(days=rng.randint(0, 19)), "apply")
            if rng.random() < 0.15:
                self.push(month + timedelta(days=rng.randint(0, 27)), "donation")
            if periods.period_end(month) < self.end - timedelta(days=30):
                self.push(periods.next_period(month) + timedelta(days=4), "close", month)
            month = periods.next_period(month)

    async def play(self) -> None:
        self.plan()
        while self.events:
            day, _, kind, payload = heapq.heappop(self.events)
            await getattr(self, f"on_{kind}")(day, payload)

    async def on_contribution(self, day: date, _: Any) -> None:
        amount = len(self.members) * self.rng.choice((10_000, 20_000))
        await self.cash_operation(CashOperation.CONTRIBUTION, amount, day,
                                  description=f"Góp vốn tháng {day.month}/{day.year}")

    async def on_expense(self, day: date, _: Any) -> None:
        amount = self.rng.randint(1, 4) * 50_000
        if self.cash - self.reserved >= amount + CASH_RESERVE:
            await self.cash_operation(CashOperation.EXPENSE, amount, day,
                                      description=self.rng.choice(names.EXPENSES))

    async def on_donation(self, day: date, _: Any) -> None:
        await self.cash_operation(CashOperation.DONATION, self.rng.randint(1, 5) * MILLION, day,
                                  counterparty=self.rng.choice(names.DONORS))

    async def on_close(self, day: date, month: date) -> None:
        await closing.close_period(self.chair, self.fund_id, periods.format_period(month))

    async def on_apply(self, day: date, _: Any) -> None:
        rng = self.rng
        free = [m for m in self.members if m not in self.borrowing]
        principal = rng.randrange(3 * MILLION, 10 * MILLION + 1, 500_000)
        if not free or self.cash - self.reserved < principal + CASH_RESERVE:
            return
        member = rng.choice(free)
        disburse_on = day + timedelta(days=rng.randint(2, 5))
        # Rates a club charges (at most 1 %/month, 12 %/year: under the legal 20 %) and,
        # on some loans, the penalty of each that 150 % of its rate allows, per day.
        rate, penalty = rng.choice(DEMO_RATES)
        body = LoanCreate(
            member_id=member, principal=principal,
            installments=rng.choice((6, 9, 12, 12, 12, 18)),
            interest_method=InterestMethod.FLAT,
            rate_per_period=rate,
            first_due_date=add_months(disburse_on, 1), rounding_unit=1_000,
            penalty_rate_per_day=rng.choice(("0", penalty)),
            purpose=rng.choice(names.LOAN_PURPOSES), applied_on=day,
        )
        applied = await loans.apply_for_loan(self.treasurer, self.fund_id, body)
        await loans.decide_application(self.chair, applied.id,
                                       LoanDecision(effective_date=min(day + timedelta(days=1),
                                                                       self.end)))
        terms = loans.terms_of_application(body)
        self.loans[applied.id] = LoanInProgress(applied.id, member, principal, terms)
        self.borrowing.add(member)
        self.reserved += principal
        self.push(disburse_on, "disburse", applied.id)

    async def on_disburse(self, day: date, loan_id: uuid.UUID) -> None:
        loan = self.loans[loan_id]
        self.reserved -= loan.principal
        if self.cash < loan.principal:
            return  # stays approved, waiting for funds
        await loans.disburse(self.treasurer, loan_id, DisbursementCreate(effective_date=day))
        self.cash -= loan.principal
        loan.terms = dataclasses.replace(loan.terms, disbursed_on=day)
        loan.schedule = build_schedule(loan.terms)
        loan.state = opening_state(loan.schedule)
        self.plan_repayments(loan)

    def plan_repayments(self, loan: LoanInProgress) -> None:
        rng = self.rng
        assert loan.schedule is not None
        dues = [row.due_date for row in loan.schedule.installments]
        draw = rng.random()
        loan.behaviour = "default" if draw < 0.08 else "late" if draw < 0.25 else "good"
        if loan.behaviour == "good":
            payoff_at = rng.randint(2, len(dues)) if rng.random() < 0.1 else None
            for number, due in enumerate(dues, start=1):
                if number == payoff_at:
                    self.push(due - timedelta(days=5), "repay", (loan.loan_id, "payoff"))
                    break
                self.push(due, "repay", (loan.loan_id, "due"))
        elif loan.behaviour == "late":
            for number, due in enumerate(dues, start=1):
                if number < len(dues) and rng.random() < 0.15:
                    continue  # skipped: the next payment catches up
                self.push(due + timedelta(days=rng.randint(3, 20)), "repay",
                          (loan.loan_id, "due"))
        else:
            paid = rng.randint(1, min(4, len(dues) - 1))
            for due in dues[:paid]:
                self.push(due, "repay", (loan.loan_id, "due"))
            if rng.random() < 0.6:
                self.push(dues[paid] + timedelta(days=120), "write_off", loan.loan_id)

    async def on_repay(self, day: date, payload: tuple[uuid.UUID, str]) -> None:
        loan_id, mode = payload
        loan = self.loans[loan_id]
        if not loan.open or loan.schedule is None or loan.state is None:
            return
        rate = loan.terms.penalty_rate_per_day
        amount = (payoff_amount if mode == "payoff" else amount_due)(
            loan.schedule, loan.state, day, rate
        )
        if amount <= 0:
            return
        await loans.repay(self.treasurer, loan_id, RepaymentCreate(amount=amount,
                                                                    effective_date=day))
        _, loan.state = allocate_repayment(loan.schedule, loan.state, amount, day, rate)
        self.cash += amount
        if loan.state.closed:
            loan.open = False
            self.borrowing.discard(loan.member_id)

    async def on_write_off(self, day: date, loan_id: uuid.UUID) -> None:
        loan = self.loans[loan_id]
        if not loan.open:
            return
        await loans.request_write_off(self.treasurer, loan_id, WriteOffRequest(
            reason="Quá hạn trên 120 ngày, không có khả năng trả nợ", effective_date=day))
        self.push(day + timedelta(days=7), "approve_write_off", loan_id)

    async def on_approve_write_off(self, day: date, loan_id: uuid.UUID) -> None:
        await loans.decide_write_off(self.chair, loan_id, LoanDecision(effective_date=day))
        self.loans[loan_id].open = False
        self.written_off += 1


def member_bodies(rng: random.Random, count: int, year: int, joined_on: date) -> list[MemberCreate]:
    bodies = []
    for _ in range(count):
        female = rng.random() < 0.7
        age = rng.randint(60, 88) if rng.random() < 0.7 else rng.randint(30, 59)
        given = rng.choice(names.FEMALE_GIVEN if female else names.MALE_GIVEN)
        middle = rng.choice(names.FEMALE_MIDDLE if female else names.MALE_MIDDLE)
        bodies.append(MemberCreate(
            name=f"{rng.choice(names.FAMILY_NAMES)} {middle} {given}",
            gender=Gender.FEMALE if female else Gender.MALE, birth_year=year - age,
            joined_on=joined_on,
        ))
    return bodies


def old_communes() -> list[tuple[str, str, str]]:
    """(district code, commune code, commune name) in order."""
    return [(district, code, name)
            for district, _, communes in names.DISTRICTS for code, name in communes]


async def load_club(
    pool: asyncpg.Pool, index: int, seed: int, start: date, end: date, today: datetime
) -> ClubBook:
    rng = random.Random(f"clubfund-demo:{seed}:{index}")
    _, commune, commune_name = old_communes()[index % len(old_communes())]
    established = date(2023, 3, 1) + timedelta(days=rng.randint(0, 640))
    async with pool.acquire() as connection, connection.transaction():
        await grant_all_funds(connection)  # the demo acts as an operator, on every fund
        number = f"{index + 1:02d}"
        held = TransactionState()
        treasurer = context(connection, f"demo:treasurer:{number}", today, held)
        chair = context(connection, f"demo:chair:{number}", today, held)
        suffix = f" {index // len(old_communes()) + 1}" if index >= len(old_communes()) else ""
        club = await clubs.create_club(treasurer, ClubCreate(
            name=f"CLB Liên thế hệ tự giúp nhau xã {commune_name}{suffix}",
            area_code=commune, established_on=established,
        ))
        members = [
            (await clubs.create_member(treasurer, club.id, body)).id
            for body in member_bodies(rng, rng.randint(40, 70), end.year, established)
        ]
        book = ClubBook(index=index, club_id=club.id, rng=rng, start=start, end=end,
                        fund_id=club.fund_id, treasurer=treasurer, chair=chair, members=members)
        granted = established + timedelta(days=rng.randint(5, 30))
        await book.cash_operation(
            CashOperation.SEED_GRANT, rng.choice((30, 40, 50, 60, 70, 80)) * MILLION, granted,
            source=FundingSource.DISTRICT_BUDGET,
            decision_number=f"{rng.randint(10, 999)}/QĐ-UBND", counterparty="UBND huyện",
        )
        if rng.random() < 0.4:
            await book.cash_operation(
                CashOperation.SEED_GRANT, rng.randint(1, 4) * 5 * MILLION, granted,
                source=FundingSource.COMMUNE_BUDGET, payment_method=PaymentMethod.BANK,
                decision_number=f"{rng.randint(10, 999)}/QĐ-UBND", counterparty="UBND xã",
            )
        if rng.random() < 0.3:
            await book.cash_operation(
                CashOperation.SEED_GRANT, rng.randint(2, 6) * 5 * MILLION,
                granted + timedelta(days=rng.randint(30, 200)), source=FundingSource.DONOR,
                counterparty=rng.choice(names.DONORS),
            )
        await book.cash_operation(CashOperation.CONTRIBUTION, len(members) * 100_000, granted,
                                  description="Thành viên góp vốn ban đầu")
        await book.play()
    return book


async def load_new_club(
    pool: asyncpg.Pool, index: int, count: int, seed: int, end: date, today: datetime
) -> None:
    """A club established this year in a new commune, with members; the first half of
    them seeded by the commune budget 20–60 days later (if that day has come), the rest
    still waiting."""
    rng = random.Random(f"clubfund-demo:new:{seed}:{index}")
    first_day = max(date(end.year, 1, 1), REORGANISATION)  # the new communes exist
    established = first_day + timedelta(days=(end - first_day).days * (index + 1) // (count + 1))
    code, name = names.MERGED_COMMUNES[index % len(names.MERGED_COMMUNES)]
    async with pool.acquire() as connection, connection.transaction():
        await grant_all_funds(connection)
        treasurer = context(connection, f"demo:treasurer:new-{index + 1:02d}", today)
        club = await clubs.create_club(treasurer, ClubCreate(
            name=f"CLB Liên thế hệ tự giúp nhau mới xã {name} {index + 1}",
            area_code=code, established_on=established,
        ))
        for body in member_bodies(rng, rng.randint(20, 35), end.year, established):
            await clubs.create_member(treasurer, club.id, body)
        granted = established + timedelta(days=rng.randint(20, 60))
        if index < count // 2 and granted <= end:
            await post_cash_operation(treasurer, club.fund_id, CashOperation.SEED_GRANT,
                                      CashOperationCreate(
                amount=SEED_MONEY, effective_date=granted, source=FundingSource.COMMUNE_BUDGET,
                decision_number=f"{rng.randint(10, 999)}/QĐ-UBND", counterparty="UBND xã",
            ))


async def set_targets(connection: asyncpg.Connection, today: datetime, end: date,
                      new_clubs: int) -> None:
    """The plan's targets for the last two years: the province's, and one new club of
    30 members for each of the first new communes."""
    admin = context(connection, "demo:admin", today)
    for year, clubs_planned in ((end.year - 1, max(new_clubs - 1, 1)), (end.year, new_clubs + 1)):
        await programme.set_target(admin, names.PROVINCE[0], TargetCreate(
            year=year, new_clubs=clubs_planned, members=30 * clubs_planned,
            fund_size=SEED_MONEY * clubs_planned, plan_reference=PLAN_REFERENCE))
    for code, _ in names.MERGED_COMMUNES[:new_clubs]:
        await programme.set_target(admin, code, TargetCreate(
            year=end.year, new_clubs=1, members=30, fund_size=SEED_MONEY,
            plan_reference=PLAN_REFERENCE))


async def create_areas(connection: asyncpg.Connection, today: datetime) -> None:
    admin = context(connection, "demo:admin", today)
    code, name = names.PROVINCE
    await areas.create_area(admin, AreaCreate(code=code, name=name, level=AreaLevel.PROVINCE,
                                              valid_from=AREAS_VALID_FROM))
    for district, district_name, communes in names.DISTRICTS:
        await areas.create_area(admin, AreaCreate(
            code=district, name=f"Huyện {district_name}", level=AreaLevel.DISTRICT,
            parent_code=code, valid_from=AREAS_VALID_FROM))
        for commune, commune_name in communes:
            await areas.create_area(admin, AreaCreate(
                code=commune, name=f"Xã {commune_name}", level=AreaLevel.COMMUNE,
                parent_code=district, valid_from=AREAS_VALID_FROM))


async def reorganise(connection: asyncpg.Connection, today: datetime,
                     club_ids: dict[str, list[uuid.UUID]]) -> None:
    """2025-07-01: communes merge two by two under the province; districts end."""
    admin = context(connection, "demo:admin", today)
    province = names.PROVINCE[0]
    old = old_communes()
    for pair, (code, name) in enumerate(names.MERGED_COMMUNES):
        await areas.create_area(admin, AreaCreate(
            code=code, name=f"Xã {name}", level=AreaLevel.COMMUNE, parent_code=province,
            valid_from=REORGANISATION))
        for _, old_code, _ in old[2 * pair: 2 * pair + 2]:
            for club_id in club_ids.get(old_code, []):
                await clubs.move_club(admin, club_id, ClubMove(area_code=code,
                                                               valid_from=REORGANISATION))
            await areas.dissolve_area(admin, old_code, AreaDissolution(valid_to=REORGANISATION))
    for district, _, _ in names.DISTRICTS:
        await areas.dissolve_area(admin, district, AreaDissolution(valid_to=REORGANISATION))


async def database_has_clubs(pool: asyncpg.Pool) -> bool:
    async with pool.acquire() as connection, connection.transaction():
        await grant_all_funds(connection)
        return bool(await connection.fetchval("SELECT count(*) FROM clubs"))


async def load_demo(
    pool: asyncpg.Pool, *, clubs_count: int = 30, seed: int = 1336,
    end_date: date | None = None, workers: int = 4, new_clubs: int = 4,
) -> DemoSummary:
    """Load the demo province into an empty database (one without clubs)."""
    started = time.perf_counter()
    today = datetime.now(UTC)
    end = end_date or today.astimezone(BUSINESS_TIMEZONE).date()
    if end < REORGANISATION + timedelta(days=31):
        raise DemoNotLoaded("the demo year ends after the 2025 reorganisation (August 2025)")
    start = periods.next_period(add_months(periods.period_of(end), -12))
    if await database_has_clubs(pool):
        raise DemoNotLoaded("the database already holds clubs")
    async with pool.acquire() as connection, connection.transaction():
        await grant_all_funds(connection)
        await create_areas(connection, today)
    semaphore = asyncio.Semaphore(workers)

    async def one(index: int) -> ClubBook:
        async with semaphore:
            return await load_club(pool, index, seed, start, end, today)

    books = await asyncio.gather(*(one(index) for index in range(clubs_count)))
    club_ids: dict[str, list[uuid.UUID]] = {}
    async with pool.acquire() as connection, connection.transaction():
        await grant_all_funds(connection)
        for book in books:
            area = old_communes()[book.index % len(old_communes())][1]
            club_ids.setdefault(area, []).append(book.club_id)
        await reorganise(connection, today, club_ids)
        await set_targets(connection, today, end, new_clubs)
        sign_ins = await add_sign_ins(connection, books[0].club_id, today) if books else []
        sign_ins += await add_auditor_sign_in(connection, today)
    for index in range(new_clubs):
        await load_new_club(pool, index, new_clubs, seed, end, today)
    async with pool.acquire() as connection, connection.transaction():
        await grant_all_funds(connection)
        counts = await connection.fetchrow(
            "SELECT (SELECT count(*) FROM clubs) AS clubs, (SELECT count(*) FROM members)"
            " AS members, (SELECT count(*) FROM loans) AS loans,"
            " (SELECT count(*) FROM entries) AS entries")
    return DemoSummary(
        clubs=counts["clubs"], members=counts["members"], loans=counts["loans"],
        entries=counts["entries"], written_off=sum(b.written_off for b in books),
        seconds=time.perf_counter() - started, sign_ins=sign_ins,
    )

