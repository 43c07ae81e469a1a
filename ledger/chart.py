"""The default chart of accounts of a club's income fund, and which account each
domain operation uses.

Codes follow the Vietnamese chart of accounts (Circular 133/2016/TT-BTC) where a
matching account exists; the fund-capital accounts are 411 split by source:

    111   Tiền mặt                        cash                         asset    never negative
    112   Tiền gửi ngân hàng              bank deposits                asset    never negative
    131.NNNN Cho vay thành viên           one receivable per loan      asset    never negative
    4111  Vốn ngân sách huyện             capital: district budget     equity
    4112  Vốn ngân sách xã/tỉnh           capital: commune/province    equity
    4113  Vốn tài trợ                     capital: donors              equity
    4114  Vốn góp thành viên              capital: member contributions equity
    4118  Thặng dư giữ lại                retained surplus             equity
    515   Thu lãi cho vay                 interest income              income
    711   Thu nhập khác                   other income: donations,     income
                                          fees, late-payment penalties
    642   Chi phí hoạt động               operating expenses           expense
    811   Chi phí xóa nợ                  loan write-offs              expense

131 is a group code: each loan gets its own account `131.<loan number>` (four
digits at least, e.g. 131.0007) when it is disbursed, so the sum of accounts
131.* is the loan portfolio and each balance is one loan's outstanding principal.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from ledger.accounts import AccountType


@dataclass(frozen=True, slots=True)
class ChartAccount:
    code: str
    name: str
    type: AccountType
    allow_negative: bool


CASH: Final = "111"
BANK: Final = "112"
LOANS_RECEIVABLE: Final = "131"
CAPITAL_DISTRICT_BUDGET: Final = "4111"
CAPITAL_COMMUNE_PROVINCE_BUDGET: Final = "4112"
CAPITAL_DONORS: Final = "4113"
CAPITAL_MEMBERS: Final = "4114"
RETAINED_SURPLUS: Final = "4118"
INTEREST_INCOME: Final = "515"
OTHER_INCOME: Final = "711"
OPERATING_EXPENSES: Final = "642"
LOAN_WRITE_OFFS: Final = "811"

DEFAULT_CHART: Final[tuple[ChartAccount, ...]] = (
    ChartAccount(CASH, "Tiền mặt", AccountType.ASSET, False),
    ChartAccount(BANK, "Tiền gửi ngân hàng", AccountType.ASSET, False),
    ChartAccount(CAPITAL_DISTRICT_BUDGET, "Vốn ngân sách huyện", AccountType.EQUITY, True),
    ChartAccount(CAPITAL_COMMUNE_PROVINCE_BUDGET, "Vốn ngân sách xã, tỉnh",
                 AccountType.EQUITY, True),
    ChartAccount(CAPITAL_DONORS, "Vốn tài trợ", AccountType.EQUITY, True),
    ChartAccount(CAPITAL_MEMBERS, "Vốn góp thành viên", AccountType.EQUITY, True),
    ChartAccount(RETAINED_SURPLUS, "Thặng dư giữ lại", AccountType.EQUITY, True),
    ChartAccount(INTEREST_INCOME, "Thu lãi cho vay", AccountType.INCOME, True),
    ChartAccount(OPERATING_EXPENSES, "Chi phí hoạt động", AccountType.EXPENSE, True),
    ChartAccount(OTHER_INCOME, "Thu nhập khác", AccountType.INCOME, True),
    ChartAccount(LOAN_WRITE_OFFS, "Chi phí xóa nợ cho vay", AccountType.EXPENSE, True),
)


class FundingSource(StrEnum):
    DISTRICT_BUDGET = "district_budget"
    COMMUNE_BUDGET = "commune_budget"
    PROVINCE_BUDGET = "province_budget"
    DONOR = "donor"
    MEMBERS = "members"

    @property
    def is_budget(self) -> bool:
        return self in BUDGET_SOURCES


BUDGET_SOURCES: Final = frozenset(
    {FundingSource.DISTRICT_BUDGET, FundingSource.COMMUNE_BUDGET, FundingSource.PROVINCE_BUDGET}
)

CAPITAL_ACCOUNT_BY_SOURCE: Final[dict[FundingSource, str]] = {
    FundingSource.DISTRICT_BUDGET: CAPITAL_DISTRICT_BUDGET,
    FundingSource.COMMUNE_BUDGET: CAPITAL_COMMUNE_PROVINCE_BUDGET,
    FundingSource.PROVINCE_BUDGET: CAPITAL_COMMUNE_PROVINCE_BUDGET,
    FundingSource.DONOR: CAPITAL_DONORS,
    FundingSource.MEMBERS: CAPITAL_MEMBERS,
}


class PaymentMethod(StrEnum):
    CASH = "cash"
    BANK = "bank"

    @property
    def account_code(self) -> str:
        return CASH if self is PaymentMethod.CASH else BANK


class VoucherKind(StrEnum):
    """Receipts (phiếu thu) and payments (phiếu chi), numbered per fund and year."""

    RECEIPT = "PT"
    PAYMENT = "PC"


def voucher_number(kind: VoucherKind, year: int, number: int) -> str:
    """'PT-2026-0001': kind, year, and the number within it (four digits at least)."""
    return f"{kind.value}-{year:04d}-{number:04d}"


def loan_account_code(loan_number: int) -> str:
    """The receivable account of loan number `loan_number` in its fund: 131.0007."""
    return f"{LOANS_RECEIVABLE}.{loan_number:04d}"
