from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, Field

from ledger.accounts import AccountType, Side


class StatementAccount(BaseModel):
    id: uuid.UUID
    fund_id: uuid.UUID
    code: str
    name: str
    type: AccountType
    normal_side: Side
    currency: str


class StatementLineRead(BaseModel):
    effective_date: date
    entry_id: uuid.UUID
    sequence: int
    line: int
    voucher_number: str | None
    description: str
    debit: int
    credit: int
    balance: int = Field(description="running balance after this line, signed on the normal side")


class StatementRead(BaseModel):
    """One page of an account statement. Opening, closing and period totals cover the
    whole range on every page; `items` are this page's lines."""

    account: StatementAccount
    from_: date = Field(serialization_alias="from")
    to: date
    opening_balance: int = Field(description="balance at the end of the day before `from`")
    total_debit: int
    total_credit: int
    closing_balance: int = Field(description="balance at the end of `to`")
    items: list[StatementLineRead]
    next_cursor: str | None
    columns: dict[str, str] = Field(description="field → header in the requested language")


class TrialBalanceRowRead(BaseModel):
    account_id: uuid.UUID
    code: str
    name: str
    type: AccountType
    normal_side: Side
    currency: str
    debits: int = Field(description="all debits up to and including `as_of`")
    credits: int
    debit_balance: int
    credit_balance: int
    balance: int = Field(description="signed on the account's normal side")
    label: str = Field(description="the account type, in the requested language")


class TrialBalanceTotalsRead(BaseModel):
    label: str
    currency: str
    debits: int
    credits: int
    debit_balance: int
    credit_balance: int
    balanced: bool


class TrialBalanceRead(BaseModel):
    fund_id: uuid.UUID
    as_of: date
    items: list[TrialBalanceRowRead]
    totals: list[TrialBalanceTotalsRead] = Field(description="per currency")
    balanced: bool
    columns: dict[str, str]


class ReportLineRead(BaseModel):
    account_id: uuid.UUID
    code: str
    name: str
    amount: int


class SectionRead(BaseModel):
    label: str
    lines: list[ReportLineRead]
    total: int


class BalanceSheetRead(BaseModel):
    fund_id: uuid.UUID
    as_of: date
    currency: str
    assets: SectionRead
    liabilities: SectionRead
    equity: SectionRead
    prior_years_surplus: int
    current_year_surplus: int
    total_assets: int
    total_liabilities_and_equity: int = Field(
        description="liabilities + equity + prior years' and current year's surplus"
    )
    balanced: bool
    labels: dict[str, str]


class IncomeStatementRead(BaseModel):
    fund_id: uuid.UUID
    from_: date = Field(serialization_alias="from")
    to: date
    currency: str
    income: SectionRead
    expenses: SectionRead
    surplus: int
    labels: dict[str, str]


class AreaRowRead(BaseModel):
    """A row of a report by area: one club, or the roll-up of an area."""

    level: str = Field(description="club, commune, district or province")
    label: str = Field(description="the level, in the requested language")
    area_code: str | None = Field(description="the area (for a club: its commune)")
    club_id: uuid.UUID | None
    name: str
    parent_code: str | None


class PortfolioRowRead(AreaRowRead):
    """One club, or the roll-up of an area (formulas: docs/reports.md). Ratios are
    null when their denominator is 0."""

    clubs: int
    capital_district_budget: int
    capital_other_budgets: int
    capital_donors: int
    capital_members: int
    capital_retained_surplus: int
    capital_total: int
    cash: int
    loans_outstanding: int
    active_borrowers: int
    active_borrowers_women: int
    active_borrowers_aged_60_plus: int
    amount_fallen_due: int
    amount_repaid_of_due: int
    repayment_rate: Decimal | None
    outstanding_at_risk_30: int
    par30: Decimal | None
    interest_earned: int
    write_offs: int


class PortfolioRead(BaseModel):
    area: str | None = Field(description="the area asked for; null: every province")
    as_of: date
    from_: date = Field(serialization_alias="from",
                        description="start of the period of the flows (interest, write-offs)")
    items: list[PortfolioRowRead]
    columns: dict[str, str]
