"""Request-schema types for stored text and metadata: the core's input rules
(`ledger.input_limits`) applied while pydantic validates a body.

A broken rule is reported as a validation error whose type is the rule's stable code
(`invalid_text`, `metadata_too_deep`...); `service/errors.py` answers with that code.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from ledger.errors import LedgerError
from ledger.input_limits import (
    METADATA_DEPTH_MAX,
    METADATA_SIZE_MAX_BYTES,
    TEXT_PATTERN,
    check_metadata,
    check_text,
)

T = TypeVar("T")


def as_validation_error(rule: Callable[[T], T]) -> Callable[[T], T]:
    """`rule`, its core error turned into a pydantic error typed with the error's code."""

    def validate(value: T) -> T:
        try:
            return rule(value)
        except LedgerError as error:
            raise PydanticCustomError(error.code, "{detail}", {
                "detail": error.detail, "detail_vi": error.detail_vi or ""}) from error

    return validate


def checked_if_text(value: object) -> object:
    """The text rule on a string, before any other check of the field (its length or
    pattern), so that the refusal names the rule; other values go on to be refused."""
    return check_text(value) if isinstance(value, str) else value


# The text rule, first of a field's checks. A field with its own, narrower pattern
# (codes, currencies) puts it after the pattern: Annotated[str, Field(pattern=...), TEXT_RULE].
TEXT_RULE = BeforeValidator(as_validation_error(checked_if_text))
# Stored text: no NUL, lone surrogate or control character but tab and newline.
Text = Annotated[str, Field(json_schema_extra={"pattern": TEXT_PATTERN}), TEXT_RULE]
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# An ISO 4217 code.
CurrencyCode = Annotated[str, Field(pattern=CURRENCY_PATTERN), TEXT_RULE]
# An entry's metadata: a JSON object of bounded size and depth holding only valid text.
Metadata = Annotated[
    dict[str, Any], AfterValidator(as_validation_error(check_metadata)),
    Field(description=f"any JSON object: at most {METADATA_SIZE_MAX_BYTES // 1024} KiB as"
                      f" compact JSON, {METADATA_DEPTH_MAX} levels deep"),
]
