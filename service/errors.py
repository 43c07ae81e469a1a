"""One error hierarchy, mapped once to RFC 9457 `application/problem+json`.

Every error class carries its HTTP status and stable `code`. Core errors
(`ledger.errors.LedgerError`) are mapped through `LEDGER_STATUS`. Routes
declare what they may answer with `problem_responses(...)` so it shows in
OpenAPI.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import dates as ledger_dates
from ledger import errors as ledger_errors

log = logging.getLogger("clubfund.errors")
PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: list[dict[str, Any]] | None = None


class ClubfundError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.headers = headers


class BadRequest(ClubfundError):
    status, code, title = 400, "bad_request", "Bad request"


class MalformedJson(ClubfundError):
    status, code, title = 400, "malformed_json", "The request body is not valid JSON"


class InvalidCursor(ClubfundError):
    status, code, title = 400, "invalid_cursor", "The pagination cursor is not valid"


class Unauthenticated(ClubfundError):
    status, code, title = 401, "unauthenticated", "A valid bearer token is required"


class Forbidden(ClubfundError):
    status, code, title = 403, "forbidden", "This token may not do that"


class NotFound(ClubfundError):
    status, code, title = 404, "not_found", "Not found"


class MethodNotAllowed(ClubfundError):
    status, code, title = 405, "method_not_allowed", "Method not allowed"


class Conflict(ClubfundError):
    status, code, title = 409, "conflict", "Conflict"


class IdempotencyConflict(ClubfundError):
    status, code, title = (
        409, "idempotency_conflict",
        "This Idempotency-Key was already used with a different request",
    )


class AlreadyReversed(ClubfundError):
    status, code, title = 409, "already_reversed", "This entry has already been reversed"


class ValidationFailed(ClubfundError):
    status, code, title = 422, "validation_error", "The request is not valid"

    def __init__(self, detail: str | None = None, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.errors = errors


class UnknownAccount(ClubfundError):
    status, code, title = 422, "unknown_account", "An account is unknown to this fund"


class DuplicateAccountCode(ClubfundError):
    status, code, title = 409, "duplicate_account_code", "This fund already has that account code"


class AmountOutOfRange(ClubfundError):
    status, code, title = 422, "amount_out_of_range", "An amount or a total is out of range"


class SequenceOutOfRange(ClubfundError):
    status, code, title = (
        422, "sequence_out_of_range", "The sequence is not a record of this tree size"
    )


class TreeSizeOutOfRange(ClubfundError):
    status, code, title = (
        422, "tree_size_out_of_range", "The tree size is below 1 or beyond the log"
    )


class InvalidConsistencyRange(ClubfundError):
    status, code, title = (
        422, "invalid_consistency_range",
        "A consistency proof needs 1 <= first <= second <= the log's size",
    )


class AuditKeyMissing(ClubfundError):
    status, code, title = 503, "audit_key_missing", "No audit signing key is configured"


class ExportTooLarge(ClubfundError):
    status, code, title = 422, "export_too_large", "The export is too large; narrow the range"


# Core errors: one status per class, everything else 422.
LEDGER_STATUS: dict[type[ledger_errors.LedgerError], int] = {}


def problem(
    status: int, code: str, title: str, detail: str,
    errors: list[dict[str, Any]] | None = None, headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://clubfund.example/problems/{code}",
        "title": title, "status": status, "detail": detail, "code": code,
    }
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def problem_for(error: Exception) -> JSONResponse:
    """The problem response for any error the service knows; 500 for the rest."""
    if isinstance(error, ValidationFailed):
        return problem(error.status, error.code, error.title, error.detail, error.errors)
    if isinstance(error, ClubfundError):
        return problem(error.status, error.code, error.title, error.detail, headers=error.headers)
    if isinstance(error, ledger_errors.LedgerError):
        status = LEDGER_STATUS.get(type(error), 422)
        return problem(status, error.code, error.code.replace("_", " ").capitalize(), error.detail)
    if isinstance(error, asyncpg.PostgresError):
        mapped = map_database_error(error)
        if mapped is not None:
            return problem_for(mapped)
    log.exception("unhandled error", exc_info=error)
    return problem(500, "internal_error", "Internal error", "an unexpected error occurred")


# Constraint names whose violation is the client's doing, not a bug.
CONSTRAINT_ERRORS: dict[str, type[ClubfundError] | type[ledger_errors.LedgerError]] = {
    "ck_account_balances_non_negative": ledger_errors.InsufficientFunds,
    "ck_entries_balanced": ledger_errors.UnbalancedEntry,
    "fk_postings_fund_id_account_id_currency_accounts": UnknownAccount,
    "uq_accounts_fund_id_code": DuplicateAccountCode,
    "uq_entries_fund_id_reverses_entry_id": AlreadyReversed,
}


def map_database_error(error: asyncpg.PostgresError) -> Exception | None:
    constraint = getattr(error, "constraint_name", None)
    if constraint in CONSTRAINT_ERRORS:
        error_class = CONSTRAINT_ERRORS[constraint]
        detail = getattr(error, "message", str(error))
        if error_class is ledger_errors.InsufficientFunds:
            detail = "an account that may not go below zero would be negative"
        return error_class(detail)
    if isinstance(error, asyncpg.NumericValueOutOfRangeError):
        return AmountOutOfRange("a total would exceed the range of the ledger")
    return None


class ProblemDetails(BaseModel):
    """Documentation model for OpenAPI."""

    type: str
    title: str
    status: int
    detail: str
    code: str


def problem_responses(*errors: type[ClubfundError] | tuple[int, str]) -> dict[int | str, Any]:
    """`responses=` for a route: each status with the codes it may carry."""
    by_status: dict[int, list[str]] = {}
    for item in (*errors, ValidationFailed):
        status, code = (item.status, item.code) if isinstance(item, type) else item
        by_status.setdefault(status, []).append(code)
    return {
        status: {
            "model": ProblemDetails,
            "description": "Problem: " + ", ".join(sorted(set(codes))),
            "content": {PROBLEM_MEDIA_TYPE: {}},
        }
        for status, codes in sorted(by_status.items())
    }


def install_error_handlers(app: FastAPI) -> None:
    async def on_error(_: Request, error: Exception) -> JSONResponse:
        return problem_for(error)

    async def on_validation(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        details = [dict(e) for e in error.errors()]
        if any(e.get("type") == "json_invalid" for e in details):
            return problem_for(MalformedJson("the body could not be parsed as JSON"))
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")),
             "type": str(e.get("type"))}
            for e in details
        ]
        where = ".".join(str(p) for p in details[0].get("loc", ())) if details else "body"
        message = errors[0]["msg"] if errors else "invalid"
        if errors and errors[0]["type"] == ledger_dates.InvalidDate.code:
            return problem_for(ledger_dates.InvalidDate(f"{where}: {message}"))
        return problem_for(ValidationFailed(f"{where}: {message}", errors))

    async def on_http(_: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        mapping: dict[int, type[ClubfundError]] = {
            404: NotFound, 405: MethodNotAllowed, 401: Unauthenticated, 403: Forbidden,
        }
        error_class = mapping.get(error.status_code)
        if error_class is not None:
            return problem_for(error_class(str(error.detail)))
        return problem(error.status_code, "http_error", str(error.detail), str(error.detail))

    app.add_exception_handler(ClubfundError, on_error)
    app.add_exception_handler(ledger_errors.LedgerError, on_error)
    app.add_exception_handler(asyncpg.PostgresError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


class InvalidScope(ClubfundError):
    status, code, title = 422, "invalid_scope", "The token's role and scope do not fit together"


# --- the club fund domain: areas, clubs, members, loans, periods -----------------------------
from ledger import loan_lifecycle, loans, periods  # noqa: E402


class UnknownArea(ClubfundError):
    status, code, title = 422, "unknown_area", "An area code is unknown or not valid on that date"


class DuplicateArea(ClubfundError):
    status, code, title = 409, "duplicate_area", "An area with this code already exists"


class InvalidAreaParent(ClubfundError):
    status, code, title = 422, "invalid_area_parent", "This parent cannot hold this area"


class AreaInUse(ClubfundError):
    status, code, title = 409, "area_in_use", "Areas or clubs still belong to this area"


class UnknownMember(ClubfundError):
    status, code, title = 422, "unknown_member", "The member is unknown to this fund's club"


class LoanAccountPosting(ClubfundError):
    status, code, title = (
        409, "loan_account_posting",
        "A loan's account moves only through the loan's own operations",
    )


class LoanEntryReversal(ClubfundError):
    status, code, title = (
        409, "loan_entry_reversal",
        "A loan's entries change only through the loan's own operations",
    )


class CorrectionPending(ClubfundError):
    status, code, title = 409, "correction_pending", "A correction of this is already pending"


class CorrectionDecided(ClubfundError):
    status, code, title = 409, "correction_decided", "This correction was already decided"


class CorrectionReasonRequired(ClubfundError):
    status, code, title = (
        422, "reason_required", "A correction in a club's fund needs its reason")


class PeriodNotLatestClosed(ClubfundError):
    status, code, title = (
        409, "period_not_latest_closed", "Only the latest closed month can be reopened")


LEDGER_STATUS.update({
    periods.PeriodClosed: 409,
    periods.PeriodAlreadyClosed: 409,
    periods.PeriodOutOfOrder: 409,
    periods.PeriodNotEnded: 409,
    periods.InvalidPeriod: 422,
    loan_lifecycle.LoanTransitionRefused: 409,
    loan_lifecycle.SameActorApproval: 403,
    loans.InvalidLoanTerms: 422,
    loans.Overpayment: 422,
    loans.LoanClosed: 409,
    loans.RepaymentOutOfOrder: 409,
})
CONSTRAINT_ERRORS.update({
    "ck_entries_period_open": periods.PeriodClosed,
    "pk_areas": DuplicateArea,
})
