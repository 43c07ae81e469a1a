"""The one date type of the API, for bodies and query parameters alike.

`DateText` accepts only a calendar date written yyyy-mm-dd between 1900-01-01 and
2999-12-31 (`ledger.dates.parse_date`); anything else — a bare number, a timestamp, a
day that does not exist, a year out of bounds — is refused `422 invalid_date` naming
the field and the value. Whether a date may lie after today is the service's call
(`RequestContext.past_date`): nothing that happened is dated in the future.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from ledger.dates import DATE_MAX, DATE_MIN, InvalidDate, parse_date

INVALID_DATE_ERROR_TYPE = InvalidDate.code


def date_from_text(value: Any) -> date:
    try:
        return parse_date(value)
    except InvalidDate as error:
        raise PydanticCustomError(
            INVALID_DATE_ERROR_TYPE, "{detail}",
            {"detail": error.detail, "detail_vi": error.detail_vi or ""},
        ) from None


DateText = Annotated[
    date,
    BeforeValidator(date_from_text),
    WithJsonSchema({
        "type": "string", "format": "date",
        "description": f"yyyy-mm-dd, {DATE_MIN.isoformat()}..{DATE_MAX.isoformat()}",
    }),
]
