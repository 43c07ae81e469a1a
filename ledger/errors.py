"""The core's typed errors. Each carries a stable `code` that the service maps
to an HTTP status once, in `service/errors.py`."""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the core raises. `code` is stable and public. `detail` is
    English; `detail_vi` the same in Vietnamese (None where the core has no Vietnamese
    wording: the verification tooling's errors)."""

    code: str = "ledger_error"

    def __init__(self, detail: str, detail_vi: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.detail_vi = detail_vi


class InvalidAmount(LedgerError):
    code = "invalid_amount"


class AmountOutOfRange(LedgerError):
    code = "amount_out_of_range"


class UnknownCurrency(LedgerError):
    code = "unknown_currency"


class CurrencyMismatch(LedgerError):
    code = "currency_mismatch"


class UnbalancedEntry(LedgerError):
    code = "unbalanced_entry"


class InvalidEntry(LedgerError):
    """Structurally wrong entry: too few or too many postings, empty text, ..."""

    code = "invalid_entry"


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"


class InvalidReversal(LedgerError):
    code = "invalid_reversal"
