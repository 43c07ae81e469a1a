"""Account types and their normal side."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    DEBIT = "debit"
    CREDIT = "credit"

    @property
    def opposite(self) -> Side:
        return Side.CREDIT if self is Side.DEBIT else Side.DEBIT


class AccountType(StrEnum):
    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normal_side(self) -> Side:
        """Assets and expenses grow by debits; liabilities, equity and income by credits."""
        return Side.DEBIT if self in (AccountType.ASSET, AccountType.EXPENSE) else Side.CREDIT


def signed_balance(normal_side: Side, debits: int, credits: int) -> int:
    """The balance signed on the account's normal side (positive is the usual state)."""
    return debits - credits if normal_side is Side.DEBIT else credits - debits
