"""The schema as SQLModel tables: the reference that `tests/integration/test_migrations.py`
compares with what the migrations build. Migrations remain the only way the
schema changes; the request path uses hand-written SQL in each repository.

Every fund-scoped table carries `fund_id` first in its primary key and in each
foreign key, so the schema can be distributed by fund (Citus) unchanged.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    CHAR,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlmodel import Field, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)
metadata = SQLModel.metadata


def _uuid(**kwargs: Any) -> Any:
    return Field(sa_column=Column(UUID(as_uuid=True), nullable=False, **kwargs))


class Fund(SQLModel, table=True):
    __tablename__ = "funds"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_funds"),
        ForeignKeyConstraint(["club_id"], ["clubs.id"], name="fk_funds_club_id_clubs"),
        Index("ix_funds_club_id", "club_id"),
    )
    id: uuid.UUID = _uuid()
    name: str = Field(sa_column=Column(Text, nullable=False))
    currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    entry_count: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    club_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True)
    )


class Account(SQLModel, table=True):
    __tablename__ = "accounts"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "id", name="pk_accounts"),
        UniqueConstraint("fund_id", "code", name="uq_accounts_fund_id_code"),
        UniqueConstraint("fund_id", "id", "currency", name="uq_accounts_fund_id_id_currency"),
        ForeignKeyConstraint(["fund_id"], ["funds.id"], name="fk_accounts_fund_id_funds"),
        Index("ix_accounts_id", "id"),
    )
    fund_id: uuid.UUID = _uuid()
    id: uuid.UUID = _uuid()
    code: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    type: str = Field(sa_column=Column(Text, nullable=False))
    normal_side: str = Field(sa_column=Column(Text, nullable=False))
    allow_negative: bool = Field(sa_column=Column(Boolean, nullable=False))
    currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AccountBalance(SQLModel, table=True):
    __tablename__ = "account_balances"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "account_id", name="pk_account_balances"),
        ForeignKeyConstraint(
            ["fund_id", "account_id"], ["accounts.fund_id", "accounts.id"],
            name="fk_account_balances_fund_id_account_id_accounts",
        ),
    )
    fund_id: uuid.UUID = _uuid()
    account_id: uuid.UUID = _uuid()
    normal_side: str = Field(sa_column=Column(Text, nullable=False))
    allow_negative: bool = Field(sa_column=Column(Boolean, nullable=False))
    debits: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    credits: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    postings_count: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))


class Entry(SQLModel, table=True):
    __tablename__ = "entries"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "id", name="pk_entries"),
        UniqueConstraint("fund_id", "sequence", name="uq_entries_fund_id_sequence"),
        UniqueConstraint(
            "fund_id", "reverses_entry_id", name="uq_entries_fund_id_reverses_entry_id"
        ),
        UniqueConstraint("fund_id", "voucher_number", name="uq_entries_fund_id_voucher_number"),
        ForeignKeyConstraint(["fund_id"], ["funds.id"], name="fk_entries_fund_id_funds"),
        ForeignKeyConstraint(
            ["fund_id", "reverses_entry_id"], ["entries.fund_id", "entries.id"],
            name="fk_entries_fund_id_reverses_entry_id_entries",
        ),
        Index("ix_entries_id", "id"),
        Index(
            "ix_entries_fund_id_effective_date_sequence", "fund_id", "effective_date", "sequence"
        ),
    )
    fund_id: uuid.UUID = _uuid()
    id: uuid.UUID = _uuid()
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    voucher_number: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    effective_date: date = Field(sa_column=Column(Date, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    metadata_: dict[str, Any] = Field(sa_column=Column("metadata", JSONB, nullable=False))
    reverses_entry_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True)
    )
    actor: str = Field(sa_column=Column(Text, nullable=False))
    hash: str = Field(sa_column=Column(Text, nullable=False))


class Posting(SQLModel, table=True):
    __tablename__ = "postings"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "entry_id", "line", name="pk_postings"),
        ForeignKeyConstraint(
            ["fund_id", "entry_id"], ["entries.fund_id", "entries.id"],
            name="fk_postings_fund_id_entry_id_entries",
        ),
        ForeignKeyConstraint(
            ["fund_id", "account_id", "currency"],
            ["accounts.fund_id", "accounts.id", "accounts.currency"],
            name="fk_postings_fund_id_account_id_currency_accounts",
        ),
        Index(
            "ix_postings_fund_id_account_id_effective_date_sequence",
            "fund_id", "account_id", "effective_date", "sequence",
        ),
    )
    fund_id: uuid.UUID = _uuid()
    entry_id: uuid.UUID = _uuid()
    line: int = Field(sa_column=Column(SmallInteger, nullable=False))
    account_id: uuid.UUID = _uuid()
    side: str = Field(sa_column=Column(Text, nullable=False))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    effective_date: date = Field(sa_column=Column(Date, nullable=False))
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))


class IdempotencyRecord(SQLModel, table=True):
    __tablename__ = "idempotency_records"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "principal_id", "key", name="pk_idempotency_records"),
        Index("ix_idempotency_records_principal_id_key", "principal_id", "key"),
    )
    fund_id: uuid.UUID = _uuid()
    principal_id: str = Field(sa_column=Column(Text, nullable=False))
    key: str = Field(sa_column=Column(Text, nullable=False))
    request_hash: str = Field(sa_column=Column(Text, nullable=False))
    response_status: int = Field(sa_column=Column(Integer, nullable=False))
    response_body: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class Area(SQLModel, table=True):
    __tablename__ = "areas"
    __table_args__ = (PrimaryKeyConstraint("code", name="pk_areas"),)
    code: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    level: str = Field(sa_column=Column(Text, nullable=False))
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    valid_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AreaParent(SQLModel, table=True):
    __tablename__ = "area_parents"
    __table_args__ = (
        PrimaryKeyConstraint("code", "valid_from", name="pk_area_parents"),
        ForeignKeyConstraint(["code"], ["areas.code"], name="fk_area_parents_code_areas"),
        ForeignKeyConstraint(
            ["parent_code"], ["areas.code"], name="fk_area_parents_parent_code_areas"
        ),
        Index("ix_area_parents_parent_code", "parent_code"),
    )
    code: str = Field(sa_column=Column(Text, nullable=False))
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    parent_code: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    valid_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class Club(SQLModel, table=True):
    __tablename__ = "clubs"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_clubs"),
        ForeignKeyConstraint(["area_code"], ["areas.code"], name="fk_clubs_area_code_areas"),
        Index("ix_clubs_area_code", "area_code"),
    )
    id: uuid.UUID = _uuid()
    name: str = Field(sa_column=Column(Text, nullable=False))
    area_code: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ProgrammeTarget(SQLModel, table=True):
    __tablename__ = "programme_targets"
    __table_args__ = (
        PrimaryKeyConstraint("area_code", "year", name="pk_programme_targets"),
        ForeignKeyConstraint(
            ["area_code"], ["areas.code"], name="fk_programme_targets_area_code_areas"
        ),
    )
    area_code: str = Field(sa_column=Column(Text, nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))
    new_clubs: int = Field(sa_column=Column(Integer, nullable=False))
    members: int = Field(sa_column=Column(Integer, nullable=False))
    fund_size: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    currency: str = Field(sa_column=Column(CHAR(3), nullable=False))
    plan_reference: str = Field(sa_column=Column(Text, nullable=False))
    set_by: str = Field(sa_column=Column(Text, nullable=False))
    set_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class AuditRecord(SQLModel, table=True):
    __tablename__ = "audit_records"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "sequence", name="pk_audit_records"),
        Index("ix_audit_records_feed_key_fund_id_sequence", "feed_key", "fund_id", "sequence"),
        Index("ix_audit_records_fund_id_subject_id", "fund_id", "subject_id"),
    )
    fund_id: uuid.UUID = _uuid()
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    subject_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True)
    )
    record: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    feed_key: int = Field(sa_column=Column(BigInteger, nullable=False))


class AuditNode(SQLModel, table=True):
    __tablename__ = "audit_nodes"
    __table_args__ = (PrimaryKeyConstraint("fund_id", "level", "index", name="pk_audit_nodes"),)
    fund_id: uuid.UUID = _uuid()
    level: int = Field(sa_column=Column(SmallInteger, nullable=False))
    index: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class AuditTree(SQLModel, table=True):
    __tablename__ = "audit_trees"
    __table_args__ = (PrimaryKeyConstraint("fund_id", name="pk_audit_trees"),)
    fund_id: uuid.UUID = _uuid()
    tree_size: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))
    frontier: list[bytes] = Field(
        sa_column=Column(ARRAY(LargeBinary), nullable=False, server_default="{}")
    )
    last_feed_key: int = Field(sa_column=Column(BigInteger, nullable=False, server_default="0"))


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_heads"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "tree_size", "key_id", name="pk_audit_heads"),
    )
    fund_id: uuid.UUID = _uuid()
    tree_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    key_id: str = Field(sa_column=Column(Text, nullable=False))
    root_hash: str = Field(sa_column=Column(Text, nullable=False))
    timestamp: str = Field(sa_column=Column(Text, nullable=False))
    signature: str = Field(sa_column=Column(Text, nullable=False))


class AuditCosignature(SQLModel, table=True):
    """A witness's cosignature line on a fund's checkpoint of `tree_size` records."""

    __tablename__ = "audit_cosignatures"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "witness_key", "tree_size",
                             name="pk_audit_cosignatures"),
    )
    fund_id: uuid.UUID = _uuid()
    tree_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    witness_key: str = Field(sa_column=Column(Text, nullable=False))
    signature_line: str = Field(sa_column=Column(Text, nullable=False))


class DailyBalance(SQLModel, table=True):
    """An account's cumulative totals at the end of each day it has postings on."""

    __tablename__ = "daily_balances"
    __table_args__ = (
        PrimaryKeyConstraint(
            "fund_id", "account_id", "effective_date", name="pk_daily_balances",
            postgresql_include=["debits", "credits"],
        ),
        ForeignKeyConstraint(
            ["fund_id", "account_id"], ["accounts.fund_id", "accounts.id"],
            name="fk_daily_balances_fund_id_account_id_accounts",
        ),
    )
    fund_id: uuid.UUID = _uuid()
    account_id: uuid.UUID = _uuid()
    effective_date: date = Field(sa_column=Column(Date, nullable=False))
    debits: int = Field(sa_column=Column(BigInteger, nullable=False))
    credits: int = Field(sa_column=Column(BigInteger, nullable=False))
    postings_count: int = Field(sa_column=Column(BigInteger, nullable=False))


class Person(SQLModel, table=True):
    """A person who holds a role: her tokens (and later her web sign-in) act as her."""

    __tablename__ = "people"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_people"),
        UniqueConstraint("phone", name="uq_people_phone"),
        ForeignKeyConstraint(["scope_club_id"], ["clubs.id"], name="fk_people_scope_club_id_clubs"),
        ForeignKeyConstraint(
            ["scope_area_code"], ["areas.code"], name="fk_people_scope_area_code_areas"
        ),
        ForeignKeyConstraint(
            ["scope_club_id", "member_id"], ["members.club_id", "members.id"],
            name="fk_people_scope_club_id_member_id_members",
        ),
        Index("ix_people_scope_club_id", "scope_club_id"),
    )
    id: uuid.UUID = _uuid()
    name: str = Field(sa_column=Column(Text, nullable=False))
    phone: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    role: str = Field(sa_column=Column(Text, nullable=False))
    scope_club_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True)
    )
    scope_area_code: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    member_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True)
    )
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))


class Token(SQLModel, table=True):
    """A bearer token of a person: only its SHA-256 hash is stored (see service/auth)."""

    __tablename__ = "tokens"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_tokens"),
        UniqueConstraint("hash", name="uq_tokens_hash"),
        ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_tokens_person_id_people"),
        Index("ix_tokens_person_id", "person_id"),
    )
    id: str = Field(sa_column=Column(Text, nullable=False))
    hash: str = Field(sa_column=Column(Text, nullable=False))
    can_write: bool = Field(sa_column=Column(Boolean, nullable=False))
    label: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    revoked_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    revoked_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    person_id: uuid.UUID = _uuid()


class ClubArea(SQLModel, table=True):
    __tablename__ = "club_areas"
    __table_args__ = (
        PrimaryKeyConstraint("club_id", "valid_from", name="pk_club_areas"),
        ForeignKeyConstraint(["club_id"], ["clubs.id"], name="fk_club_areas_club_id_clubs"),
        ForeignKeyConstraint(
            ["area_code"], ["areas.code"], name="fk_club_areas_area_code_areas"
        ),
        Index("ix_club_areas_area_code", "area_code"),
    )
    club_id: uuid.UUID = _uuid()
    valid_from: date = Field(sa_column=Column(Date, nullable=False))
    area_code: str = Field(sa_column=Column(Text, nullable=False))
    valid_to: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class Member(SQLModel, table=True):
    __tablename__ = "members"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_members"),
        ForeignKeyConstraint(["club_id"], ["clubs.id"], name="fk_members_club_id_clubs"),
        UniqueConstraint("club_id", "id", name="uq_members_club_id_id"),
        Index("ix_members_club_id_id", "club_id", "id"),
    )
    id: uuid.UUID = _uuid()
    club_id: uuid.UUID = _uuid()
    name: str = Field(sa_column=Column(Text, nullable=False))
    gender: str = Field(sa_column=Column(Text, nullable=False))
    birth_year: int = Field(sa_column=Column(Integer, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    joined_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class VoucherCounter(SQLModel, table=True):
    __tablename__ = "voucher_counters"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "kind", "year", name="pk_voucher_counters"),
        ForeignKeyConstraint(["fund_id"], ["funds.id"], name="fk_voucher_counters_fund_id_funds"),
    )
    fund_id: uuid.UUID = _uuid()
    kind: str = Field(sa_column=Column(Text, nullable=False))
    year: int = Field(sa_column=Column(Integer, nullable=False))
    last_number: int = Field(sa_column=Column(Integer, nullable=False))


class ClosedPeriod(SQLModel, table=True):
    __tablename__ = "closed_periods"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "period", "closed_at", name="pk_closed_periods"),
        ForeignKeyConstraint(["fund_id"], ["funds.id"], name="fk_closed_periods_fund_id_funds"),
        Index("uq_closed_periods_fund_id_period_in_force", "fund_id", "period", unique=True,
              postgresql_where=text("reopened_at IS NULL")),
    )
    fund_id: uuid.UUID = _uuid()
    period: date = Field(sa_column=Column(Date, nullable=False))
    closed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    reopened_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    reopened_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Correction(SQLModel, table=True):
    """A reversal or a reopening asked by one person and decided by another."""

    __tablename__ = "corrections"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "id", name="pk_corrections"),
        ForeignKeyConstraint(["fund_id"], ["funds.id"], name="fk_corrections_fund_id_funds"),
        ForeignKeyConstraint(
            ["fund_id", "entry_id"], ["entries.fund_id", "entries.id"],
            name="fk_corrections_fund_id_entry_id_entries",
        ),
        ForeignKeyConstraint(
            ["fund_id", "reversal_entry_id"], ["entries.fund_id", "entries.id"],
            name="fk_corrections_fund_id_reversal_entry_id_entries",
        ),
        ForeignKeyConstraint(
            ["fund_id", "loan_id"], ["loans.fund_id", "loans.id"],
            name="fk_corrections_fund_id_loan_id_loans",
        ),
        Index("ix_corrections_id", "id"),
        Index("uq_corrections_fund_id_entry_id_pending", "fund_id", "entry_id", unique=True,
              postgresql_where=text("status = 'pending'")),
    )
    fund_id: uuid.UUID = _uuid()
    id: uuid.UUID = _uuid()
    kind: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    entry_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True))
    period: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    effective_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    description: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    requested_by: str = Field(sa_column=Column(Text, nullable=False))
    requested_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    decided_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decided_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    decision_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reversal_entry_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True))
    # A waiver: the loan, the part forgiven (penalty or interest) and how much.
    loan_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True))
    waived_part: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    waived_amount: int | None = Field(
        default=None, sa_column=Column(BigInteger, nullable=True))


class Loan(SQLModel, table=True):
    __tablename__ = "loans"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "id", name="pk_loans"),
        UniqueConstraint("fund_id", "number", name="uq_loans_fund_id_number"),
        ForeignKeyConstraint(["fund_id"], ["funds.id"], name="fk_loans_fund_id_funds"),
        ForeignKeyConstraint(["member_id"], ["members.id"], name="fk_loans_member_id_members"),
        ForeignKeyConstraint(
            ["fund_id", "account_id"], ["accounts.fund_id", "accounts.id"],
            name="fk_loans_fund_id_account_id_accounts",
        ),
        Index("ix_loans_id", "id"),
        Index("ix_loans_member_id", "member_id"),
    )
    fund_id: uuid.UUID = _uuid()
    id: uuid.UUID = _uuid()
    number: int = Field(sa_column=Column(Integer, nullable=False))
    member_id: uuid.UUID = _uuid()
    status: str = Field(sa_column=Column(Text, nullable=False))
    principal: int = Field(sa_column=Column(BigInteger, nullable=False))
    installments: int = Field(sa_column=Column(Integer, nullable=False))
    frequency: str = Field(sa_column=Column(Text, nullable=False))
    interest_method: str = Field(sa_column=Column(Text, nullable=False))
    amortization: str = Field(sa_column=Column(Text, nullable=False))
    rate_per_period: Any = Field(sa_column=Column(Numeric, nullable=False))
    day_count: str = Field(sa_column=Column(Text, nullable=False))
    grace_periods: int = Field(sa_column=Column(Integer, nullable=False))
    rounding_unit: int = Field(sa_column=Column(BigInteger, nullable=False))
    penalty_rate_per_day: Any = Field(sa_column=Column(Numeric, nullable=False))
    # What principal paid ahead shortens (reduce_term, the default, or reduce_installment).
    prepayment: str = Field(
        sa_column=Column(Text, nullable=False, server_default="reduce_term"))
    first_due_date: date = Field(sa_column=Column(Date, nullable=False))
    purpose: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    applied_on: date = Field(sa_column=Column(Date, nullable=False))
    applied_by: str = Field(sa_column=Column(Text, nullable=False))
    approved_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    disbursed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    account_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True)
    )
    write_off_requested_by: str | None = Field(
        default=None, sa_column=Column(Text, nullable=True)
    )
    # Written with each event from the loan's repayments replayed (the service).
    outstanding_principal: int = Field(sa_column=Column(BigInteger, nullable=False))
    events_count: int = Field(sa_column=Column(Integer, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    # Kept by a trigger from loan_installments (see the migration
    # 2026_11_23_loan_installments); the portfolio report reads them.
    schedule_due_dates: list[date] | None = Field(
        default=None, sa_column=Column(ARRAY(Date), nullable=True))
    schedule_cumulative_due: list[int] | None = Field(
        default=None, sa_column=Column(ARRAY(BigInteger), nullable=True))
    # The day the loan was paid off or written off (written with each event).
    closed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    # Kept by a trigger from loan_events (see the migration
    # 2026_12_01_loan_payments_by_date): the dates on which an event moved the loan's
    # interest or principal, in order, and the running totals of interest + principal
    # and of principal paid up to each; the portfolio report reads them.
    paid_dates: list[date] = Field(
        sa_column=Column(ARRAY(Date), nullable=False, server_default="{}"))
    paid_interest_principal_by_date: list[int] = Field(
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"))
    paid_principal_by_date: list[int] = Field(
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"))


class LoanEvent(SQLModel, table=True):
    __tablename__ = "loan_events"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "loan_id", "sequence", name="pk_loan_events"),
        ForeignKeyConstraint(
            ["fund_id", "loan_id"], ["loans.fund_id", "loans.id"],
            name="fk_loan_events_fund_id_loan_id_loans",
        ),
        ForeignKeyConstraint(
            ["fund_id", "entry_id"], ["entries.fund_id", "entries.id"],
            name="fk_loan_events_fund_id_entry_id_entries",
        ),
        Index("ix_loan_events_fund_id_entry_id", "fund_id", "entry_id"),
    )
    fund_id: uuid.UUID = _uuid()
    loan_id: uuid.UUID = _uuid()
    sequence: int = Field(sa_column=Column(Integer, nullable=False))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    effective_date: date = Field(sa_column=Column(Date, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    actor: str = Field(sa_column=Column(Text, nullable=False))
    entry_id: uuid.UUID | None = Field(
        default=None, sa_column=Column(UUID(as_uuid=True), nullable=True)
    )
    data: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    # What a repayment, its adjustment or its reversal moves (signed; 0 for the other
    # kinds): the one record of what a loan has paid.
    penalty: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest: int = Field(sa_column=Column(BigInteger, nullable=False))
    principal: int = Field(sa_column=Column(BigInteger, nullable=False))
    repayment_sequence: int | None = Field(
        default=None, sa_column=Column(Integer, nullable=True))


class LoanInstallment(SQLModel, table=True):
    """One installment of the schedule a loan's disbursement (the event numbered
    `disbursement`) fixed, or that a later event (principal paid ahead, interest
    forgiven) put in force; the latest is in force (append-only)."""

    __tablename__ = "loan_installments"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "loan_id", "disbursement", "number",
                             name="pk_loan_installments"),
        ForeignKeyConstraint(
            ["fund_id", "loan_id"], ["loans.fund_id", "loans.id"],
            name="fk_loan_installments_fund_id_loan_id_loans",
        ),
    )
    fund_id: uuid.UUID = _uuid()
    loan_id: uuid.UUID = _uuid()
    disbursement: int = Field(sa_column=Column(Integer, nullable=False))
    number: int = Field(sa_column=Column(Integer, nullable=False))
    due_date: date = Field(sa_column=Column(Date, nullable=False))
    principal: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest: int = Field(sa_column=Column(BigInteger, nullable=False))


class DailyFundFigures(SQLModel, table=True):
    """Per fund and day on which an account of a report figure moved: each figure's
    balance at the end of the day (signed on each account's normal side, summed over
    the figure's accounts; which accounts: `clubfund_report_figure`). Derived from the
    postings by the database, never written by the service."""

    __tablename__ = "daily_fund_figures"
    __table_args__ = (
        PrimaryKeyConstraint(
            "fund_id", "effective_date", name="pk_daily_fund_figures",
            postgresql_include=["capital_district_budget", "capital_other_budgets",
                                "capital_donors", "capital_members",
                                "capital_retained_surplus", "cash", "loans_outstanding",
                                "interest_earned", "write_offs"],
        ),
        ForeignKeyConstraint(["fund_id"], ["funds.id"],
                             name="fk_daily_fund_figures_fund_id_funds"),
    )
    fund_id: uuid.UUID = _uuid()
    effective_date: date = Field(sa_column=Column(Date, nullable=False))
    capital_district_budget: int = Field(sa_column=Column(BigInteger, nullable=False))
    capital_other_budgets: int = Field(sa_column=Column(BigInteger, nullable=False))
    capital_donors: int = Field(sa_column=Column(BigInteger, nullable=False))
    capital_members: int = Field(sa_column=Column(BigInteger, nullable=False))
    capital_retained_surplus: int = Field(sa_column=Column(BigInteger, nullable=False))
    cash: int = Field(sa_column=Column(BigInteger, nullable=False))
    loans_outstanding: int = Field(sa_column=Column(BigInteger, nullable=False))
    interest_earned: int = Field(sa_column=Column(BigInteger, nullable=False))
    write_offs: int = Field(sa_column=Column(BigInteger, nullable=False))


class SeedGrantCredit(SQLModel, table=True):
    """A credit posting of a seed grant (an entry whose metadata names the operation
    `seed_grant`), with its entry's source and decision number and the date of the
    entry reversing it: derived from the journal by the database, never written by
    the service (migration 0024)."""

    __tablename__ = "seed_grant_credits"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "entry_id", "line", name="pk_seed_grant_credits"),
        ForeignKeyConstraint(
            ["fund_id", "entry_id", "line"],
            ["postings.fund_id", "postings.entry_id", "postings.line"],
            name="fk_seed_grant_credits_fund_id_entry_id_line_postings",
        ),
        Index("ix_seed_grant_credits_fund_id_effective_date", "fund_id", "effective_date"),
    )
    fund_id: uuid.UUID = _uuid()
    entry_id: uuid.UUID = _uuid()
    line: int = Field(sa_column=Column(SmallInteger, nullable=False))
    effective_date: date = Field(sa_column=Column(Date, nullable=False))
    account_code: str = Field(sa_column=Column(Text, nullable=False))
    source: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    decision_number: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    amount: int = Field(sa_column=Column(BigInteger, nullable=False))
    reversed_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))


class FundMonth(SQLModel, table=True):
    """A month (its first day) in which the fund has an entry dated, and the earliest
    date of those entries: derived from the journal by the database, never written by
    the service (migrations 0025 and 0032)."""

    __tablename__ = "fund_months"
    __table_args__ = (
        PrimaryKeyConstraint("fund_id", "month", name="pk_fund_months"),
        ForeignKeyConstraint(["fund_id"], ["funds.id"], name="fk_fund_months_fund_id_funds"),
    )
    fund_id: uuid.UUID = _uuid()
    month: date = Field(sa_column=Column(Date, nullable=False))
    first_day: date = Field(sa_column=Column(Date, nullable=False))


class WebCredential(SQLModel, table=True):
    """A person's web sign-in: argon2id hashes of her PIN and of her one-time setup
    code, and the failed attempts that lock her sign-in for a while."""

    __tablename__ = "web_credentials"
    __table_args__ = (
        PrimaryKeyConstraint("person_id", name="pk_web_credentials"),
        ForeignKeyConstraint(["person_id"], ["people.id"],
                             name="fk_web_credentials_person_id_people"),
    )
    person_id: uuid.UUID = _uuid()
    pin_hash: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    setup_code_hash: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    setup_code_expires_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    failed_attempts_count: int = Field(sa_column=Column(Integer, nullable=False))
    locked_until: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class WebSession(SQLModel, table=True):
    """A signed-in browser: the token its cookie holds, its form (CSRF) token, its end."""

    __tablename__ = "web_sessions"
    __table_args__ = (
        PrimaryKeyConstraint("id", name="pk_web_sessions"),
        UniqueConstraint("token_id", name="uq_web_sessions_token_id"),
        ForeignKeyConstraint(["token_id"], ["tokens.id"], name="fk_web_sessions_token_id_tokens"),
        ForeignKeyConstraint(["person_id"], ["people.id"],
                             name="fk_web_sessions_person_id_people"),
        Index("ix_web_sessions_person_id", "person_id"),
    )
    id: uuid.UUID = _uuid()
    token_id: str = Field(sa_column=Column(Text, nullable=False))
    person_id: uuid.UUID = _uuid()
    csrf_token: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ended_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
