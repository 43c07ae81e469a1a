"""Money: an integer number of minor units of one ISO 4217 currency.

VND has no minor unit, so 1 means one đồng. Money never mixes currencies and is
never a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ledger.errors import AmountOutOfRange, CurrencyMismatch, InvalidAmount, UnknownCurrency

# The largest absolute amount of one posting, in minor units (10^15 VND is
# about 40 billion US dollars: no club fund will ever see it; bigint sums of
# many such postings still cannot overflow).
AMOUNT_MINOR_MAX: Final = 10**15

# ISO 4217 exponents of the currencies the service accepts.
CURRENCY_MINOR_UNITS: Final[dict[str, int]] = {
    "VND": 0,
    "USD": 2,
    "EUR": 2,
    "JPY": 0,
    "KRW": 0,
    "LAK": 2,
    "KHR": 2,
    "THB": 2,
}


def check_currency(currency: str) -> str:
    """Return `currency` if the service knows it, else raise UnknownCurrency."""
    if currency not in CURRENCY_MINOR_UNITS:
        raise UnknownCurrency(f"unknown or unsupported currency {currency!r}",
                              f"loại tiền {currency!r} không có hoặc không được hỗ trợ")
    return currency


def check_amount(amount: object, *, allow_zero: bool = False) -> int:
    """Return `amount` if it is an int in (0, AMOUNT_MINOR_MAX] (or 0 when allowed)."""
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(f"amount must be an integer number of minor units, got {amount!r}",
                            f"số tiền phải là số nguyên (đơn vị nhỏ nhất), không phải {amount!r}")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise InvalidAmount(f"amount must be positive, got {amount}",
                            f"số tiền phải lớn hơn 0, không phải {amount}")
    if amount > AMOUNT_MINOR_MAX:
        raise AmountOutOfRange(f"amount {amount} exceeds the maximum of {AMOUNT_MINOR_MAX}",
                               f"số tiền {amount} vượt mức tối đa {AMOUNT_MINOR_MAX}")
    return amount


@dataclass(frozen=True, slots=True)
class Money:
    """A signed amount of minor units in one currency. Refuses to mix currencies."""

    amount: int
    currency: str

    @classmethod
    def of(cls, amount: int, currency: str) -> Money:
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise InvalidAmount(f"money is an integer of minor units, got {amount!r}",
                                f"tiền là số nguyên (đơn vị nhỏ nhất), không phải {amount!r}")
        return cls(amount, check_currency(currency))

    def _same(self, other: Money) -> None:
        if self.currency != other.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}",
                                   f"không thể cộng {self.currency} với {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __str__(self) -> str:
        units = CURRENCY_MINOR_UNITS.get(self.currency, 0)
        if units == 0:
            return f"{self.amount:,} {self.currency}"
        whole, frac = divmod(abs(self.amount), 10**units)
        sign = "-" if self.amount < 0 else ""
        return f"{sign}{whole:,}.{frac:0{units}d} {self.currency}"
