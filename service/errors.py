"""One error hierarchy, mapped once to RFC 9457 `application/problem+json`.

Every error class carries its HTTP status and stable `code`. Core errors
(`ledger.errors.LedgerError`) are mapped through `LEDGER_STATUS`, one line per
class the client can cause. Anything not mapped on purpose (a core error missing
from that table, any other exception) is a bug: a 500 problem that is logged and
says nothing of its cause. Routes declare what they may answer with
`problem_responses(...)` so it shows in OpenAPI.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Final, Literal

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger import dates as ledger_dates
from ledger import errors as ledger_errors
from ledger import input_limits
from service.language import Language, Text, language_of

log = logging.getLogger("clubfund.errors")
PROBLEM_MEDIA_TYPE = "application/problem+json"


class ClubfundError(Exception):
    """Each class declares its `status`, stable `code`, and `title` in English and
    Vietnamese (`title_vi`). The detail is either a bilingual `Text` filled from typed
    values, or (for details not translated yet) English text."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    title: ClassVar[str] = "Internal error"
    title_vi: ClassVar[str] = "Lỗi nội bộ"

    def __init__(
        self, detail: str | Text | None = None, *, headers: dict[str, str] | None = None,
        **values: Any,
    ) -> None:
        self.detail_text = detail if isinstance(detail, Text) else None
        self.values = values
        english = self.detail_in("en") if isinstance(detail, Text) else detail or self.title
        super().__init__(english)
        self.detail = english
        self.headers = headers

    def title_in(self, language: Language) -> str:
        return self.title_vi if language == "vi" else self.title

    def detail_in(self, language: Language) -> str:
        if self.detail_text is not None:
            values = {
                name: value.render(language) if isinstance(value, Text) else value
                for name, value in self.values.items()
            }
            return self.detail_text.render(language, **values)
        return untranslated_detail(self.title_in(language), self.detail, language)


def untranslated_detail(title: str, english_detail: str, language: Language) -> str:
    """A detail that has no Vietnamese wording yet: the Vietnamese title, then the
    English detail (it names the values) in brackets."""
    if language == "vi" and english_detail != title:
        return f"{title} ({english_detail})"
    return english_detail


class BadRequest(ClubfundError):
    status, code, title, title_vi = (
        400, "bad_request", "Bad request",
        "Yêu cầu không hợp lệ",
    )


class MalformedJson(ClubfundError):
    status, code, title, title_vi = (
        400, "malformed_json", "The request body is not valid JSON",
        "Nội dung gửi lên không phải JSON hợp lệ",
    )


class JsonTooDeep(ClubfundError):
    status, code, title, title_vi = (
        400, "json_too_deep", "The JSON body nests too deeply",
        "Nội dung JSON lồng nhau quá sâu",
    )


class PayloadTooLarge(ClubfundError):
    status, code, title, title_vi = (
        413, "payload_too_large", "The request body is too large",
        "Nội dung gửi lên quá lớn",
    )


class InvalidCursor(ClubfundError):
    status, code, title, title_vi = (
        400, "invalid_cursor", "The pagination cursor is not valid",
        "Con trỏ phân trang không hợp lệ",
    )


class UnknownQueryParameter(ClubfundError):
    status, code, title, title_vi = (
        400, "unknown_query_parameter",
        "The request has a query parameter this route does not take",
        "Yêu cầu có tham số truy vấn mà đường dẫn này không nhận",
    )

    def __init__(self, name: str, accepted: list[str]) -> None:
        super().__init__(
            Text("unknown query parameter `{name}`; this route takes {accepted}",
                 "không có tham số truy vấn `{name}`; đường dẫn này nhận {accepted}"),
            name=name,
            accepted=", ".join(f"`{a}`" for a in accepted) if accepted
            else Text("none", "không tham số nào"),
        )


class UnknownExportFormat(ClubfundError):
    status, code, title, title_vi = (
        400, "unknown_format", "The requested format is not one this route writes",
        "Định dạng yêu cầu không được hỗ trợ",
    )

    def __init__(self, requested: str, known: list[str]) -> None:
        super().__init__(
            Text("unknown format `{requested}`; use one of {known}",
                 "không có định dạng `{requested}`; hãy dùng một trong {known}"),
            requested=requested, known=", ".join(f"`{k}`" for k in known),
        )


class Unauthenticated(ClubfundError):
    status, code, title, title_vi = (
        401, "unauthenticated", "A valid bearer token is required",
        "Cần mã truy cập hợp lệ",
    )


class Forbidden(ClubfundError):
    status, code, title, title_vi = (
        403, "forbidden", "This token may not do that",
        "Mã truy cập này không được phép làm việc đó",
    )


Thing = Literal["fund", "loan", "club", "area", "entry", "account", "token", "person", "correction",
                "member"]
THINGS: dict[str, Text] = {
    "member": Text("member", "thành viên"),
    "fund": Text("fund", "quỹ"),
    "loan": Text("loan", "khoản vay"),
    "club": Text("club", "câu lạc bộ"),
    "area": Text("area", "địa bàn"),
    "entry": Text("entry", "bút toán"),
    "account": Text("account", "tài khoản"),
    "token": Text("token", "mã truy cập"),
    "person": Text("person", "người"),
    "correction": Text("correction", "yêu cầu sửa sai"),
}


class NotFound(ClubfundError):
    status, code, title, title_vi = (
        404, "not_found", "Not found",
        "Không tìm thấy",
    )

    def __init__(self, thing: Thing | None = None, identifier: object = None) -> None:
        if thing is None:
            super().__init__()
        else:
            super().__init__(Text("{thing} {identifier} not found",
                                  "Không tìm thấy {thing} {identifier}"),
                             thing=THINGS[thing], identifier=identifier)


class MethodNotAllowed(ClubfundError):
    status, code, title, title_vi = (
        405, "method_not_allowed", "Method not allowed",
        "Không hỗ trợ phương thức này",
    )


class Conflict(ClubfundError):
    status, code, title, title_vi = (
        409, "conflict", "Conflict",
        "Xung đột dữ liệu",
    )


class IdempotencyConflict(ClubfundError):
    status, code, title, title_vi = (
        409, "idempotency_conflict",
        "This Idempotency-Key was already used with a different request",
        "Khóa Idempotency-Key này đã dùng cho một yêu cầu khác",
    )


class IdempotencyKeyRequired(ClubfundError):
    status, code, title, title_vi = (
        400, "idempotency_key_required", "This request needs an Idempotency-Key header",
        "Yêu cầu này cần tiêu đề Idempotency-Key",
    )


class AlreadyReversed(ClubfundError):
    status, code, title, title_vi = (
        409, "already_reversed", "This entry has already been reversed",
        "Bút toán này đã được đảo rồi",
    )


class ValidationFailed(ClubfundError):
    status, code, title, title_vi = (
        422, "validation_error", "The request is not valid",
        "Dữ liệu gửi lên không hợp lệ",
    )

    def __init__(
        self, detail: str | Text | None = None, errors: list[dict[str, Any]] | None = None,
        **values: Any,
    ) -> None:
        super().__init__(detail, **values)
        self.errors = errors


class BatchRefused(ValidationFailed):
    """An `atomic` batch with an item refused: nothing written; `errors` holds each
    refused item's index, key and problem."""

    status, code, title, title_vi = (
        422, "batch_refused", "An item of the atomic batch was refused: nothing was written",
        "Một mục của lô nguyên khối bị từ chối: không ghi gì cả",
    )


class UnknownAccount(ClubfundError):
    status, code, title, title_vi = (
        422, "unknown_account", "An account is unknown to this fund",
        "Quỹ không có tài khoản này",
    )


class DuplicateAccountCode(ClubfundError):
    status, code, title, title_vi = (
        409, "duplicate_account_code", "This fund already has that account code",
        "Quỹ đã có tài khoản với số hiệu này",
    )


class AmountOutOfRange(ClubfundError):
    status, code, title, title_vi = (
        422, "amount_out_of_range", "An amount or a total is out of range",
        "Số tiền hoặc tổng cộng vượt giới hạn",
    )


class SequenceOutOfRange(ClubfundError):
    status, code, title, title_vi = (
        422, "sequence_out_of_range", "The sequence is not a record of this tree size",
        "Số thứ tự không thuộc nhật ký có kích thước này",
    )


class TreeSizeOutOfRange(ClubfundError):
    status, code, title, title_vi = (
        422, "tree_size_out_of_range", "The tree size is below 1 or beyond the log",
        "Kích thước cây nhỏ hơn 1 hoặc vượt quá nhật ký",
    )


class InvalidConsistencyRange(ClubfundError):
    status, code, title, title_vi = (
        422, "invalid_consistency_range",
        "A consistency proof needs 1 <= first <= second <= the log's size",
        "Bằng chứng nhất quán cần 1 ≤ first ≤ second ≤ kích thước nhật ký",
    )


class AuditKeyMissing(ClubfundError):
    status, code, title, title_vi = (
        503, "audit_key_missing", "No audit signing key is configured",
        "Chưa cấu hình khóa ký nhật ký kiểm toán",
    )


class DatabaseUnavailable(ClubfundError):
    """The database cannot be reached (down, restarting, or no connection free in time).

    Nothing was written by this request unless an earlier answer said so; the client
    retries after `Retry-After` seconds, with the same Idempotency-Key for a POST.
    """

    status, code, title, title_vi = (
        503, "database_unavailable", "The database is unreachable; retry later",
        "Không kết nối được cơ sở dữ liệu; xin thử lại sau",
    )
    retry_after_seconds: ClassVar[int] = 2

    def __init__(self, detail: str | Text | None = None, **values: Any):
        super().__init__(detail, headers={"Retry-After": str(self.retry_after_seconds)},
                         **values)


# What a lost, refused or not yet ready database connection raises: the database is
# unavailable, which is not the client's fault and not a bug of the service.
DATABASE_UNREACHABLE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError, TimeoutError,  # refused or reset; no connection within the timeout
    asyncpg.PostgresConnectionError,  # class 08, including a connection lost mid-query
    asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.CannotConnectNowError,
)


def is_database_unreachable(error: BaseException) -> bool:
    if isinstance(error, DATABASE_UNREACHABLE_ERRORS):
        return True
    # asyncpg's answers to a call on a connection it already knows is lost: closed, or (a
    # pooled one) handed back to its pool by the loss while the request still held it.
    return isinstance(error, asyncpg.InterfaceError) and any(
        words in str(error) for words in CONNECTION_LOST_WORDS
    )


CONNECTION_LOST_WORDS = ("connection is closed", "connection has been released back to the pool")


class ExportTooLarge(ClubfundError):
    status, code, title, title_vi = (
        422, "export_too_large", "The export is too large; narrow the range",
        "Tệp xuất quá lớn; hãy thu hẹp khoảng thời gian",
    )


# Core errors the client can cause: one status per class (the exact class). A core
# error not listed here is a bug and answers 500.
LEDGER_STATUS: dict[type[ledger_errors.LedgerError], int] = {
    ledger_errors.InvalidAmount: 422,
    ledger_errors.AmountOutOfRange: 422,
    ledger_errors.UnknownCurrency: 422,
    ledger_errors.CurrencyMismatch: 422,
    ledger_errors.UnbalancedEntry: 422,
    ledger_errors.InvalidEntry: 422,
    ledger_errors.InsufficientFunds: 422,
    ledger_errors.InvalidReversal: 422,
    input_limits.InvalidText: 422,
    input_limits.MetadataTooLarge: 422,
    input_limits.MetadataTooDeep: 422,
    input_limits.InvalidMetadata: 422,
}

# Core input rules checked while a request body is validated: pydantic reports them with
# their code as the error type (service/input_types.py).
INPUT_RULES: dict[str, type[ledger_errors.LedgerError]] = {
    rule.code: rule for rule in (input_limits.InvalidText, input_limits.MetadataTooLarge,
                                 input_limits.MetadataTooDeep, input_limits.InvalidMetadata,
                                 ledger_dates.InvalidDate)
}

# Core errors' titles by `code`, in English and Vietnamese.
LEDGER_TITLES: dict[str, Text] = {
    "ledger_error": Text("The books refused this", "Sổ sách không chấp nhận thao tác này"),
    "invalid_amount": Text("An amount is not valid", "Số tiền không hợp lệ"),
    "invalid_date": Text("A date is not valid", "Ngày không hợp lệ"),
    "future_date": Text("A date is in the future", "Ngày ở trong tương lai"),
    "invalid_text": Text("The text holds a character that is not allowed",
                         "Văn bản có ký tự không được phép"),
    "metadata_too_large": Text("The metadata is too large", "Siêu dữ liệu quá lớn"),
    "metadata_too_deep": Text("The metadata nests too deeply", "Siêu dữ liệu lồng nhau quá sâu"),
    "invalid_metadata": Text("The metadata holds a value that is not allowed",
                             "Siêu dữ liệu có giá trị không được phép"),
    "malformed_note": Text("The signed note is not well formed",
                           "Ghi chú có chữ ký không đúng định dạng"),
    "invalid_note_signature": Text("A signature on the note does not verify",
                                   "Chữ ký trên ghi chú không khớp"),
    "unverified_note": Text("No known key signed the note",
                            "Ghi chú không có chữ ký của khóa nào đã biết"),
    "invalid_verifier_key": Text("The verifier key is not valid", "Khóa kiểm tra không hợp lệ"),
    "invalid_checkpoint": Text("The checkpoint is not valid", "Điểm kiểm tra không hợp lệ"),
    "unknown_signer": Text("A signature is by an unknown key",
                           "Có chữ ký của một khóa không rõ"),
    "invalid_witness_request": Text("The witness request is not valid",
                                    "Yêu cầu gửi bên chứng kiến không hợp lệ"),
    "log_mismatch": Text("The audit log does not match what was signed",
                         "Nhật ký kiểm toán không khớp với bản đã ký"),
    "borrower_approval": Text("A member may not approve her own loan",
                              "Thành viên không được tự duyệt khoản vay của chính mình"),
    "disbursement_has_repayments": Text(
        "A disbursement is reversed only after its loan's repayments",
        "Chỉ hủy được khoản giải ngân sau khi đã hủy các khoản thu nợ của khoản vay"),
    "invalid_phone": Text("The phone number is not valid", "Số điện thoại không hợp lệ"),
    "amount_out_of_range": Text("An amount is out of range", "Số tiền vượt giới hạn"),
    "unknown_currency": Text("Unknown currency", "Loại tiền không được hỗ trợ"),
    "currency_mismatch": Text("The currencies do not match", "Loại tiền không khớp nhau"),
    "unbalanced_entry": Text("The entry does not balance",
                             "Bút toán không cân: tổng Nợ khác tổng Có"),
    "invalid_entry": Text("The entry is not valid", "Bút toán không hợp lệ"),
    "insufficient_funds": Text("Not enough money in the account",
                               "Tài khoản không đủ tiền (không được âm)"),
    "invalid_reversal": Text("This entry cannot be reversed", "Không thể đảo bút toán này"),
    "invalid_receipt": Text("The receipt is not valid", "Biên nhận không hợp lệ"),
    "invalid_loan_terms": Text("The loan terms are not valid",
                               "Điều kiện khoản vay không hợp lệ"),
    "invalid_loan_state": Text("The loan's state is not valid",
                               "Trạng thái khoản vay không hợp lệ"),
    "overpayment": Text("The repayment is more than is owed", "Số tiền trả vượt quá số còn nợ"),
    "waiver_too_large": Text("The waiver is more than is due and unpaid",
                             "Số tiền miễn giảm vượt quá số đến hạn chưa trả"),
    "loan_closed": Text("The loan is closed", "Khoản vay đã tất toán hoặc đã đóng"),
    "repayment_out_of_order": Text("The repayment is dated before an earlier one",
                                   "Ngày trả nợ sớm hơn lần trả trước"),
    "invalid_portfolio_input": Text("The portfolio input is not valid",
                                    "Dữ liệu danh mục cho vay không hợp lệ"),
    "invalid_proof": Text("The proof is not valid", "Bằng chứng không hợp lệ"),
    "invalid_tree_argument": Text("The tree sizes are not valid",
                                  "Kích thước cây không hợp lệ"),
    "missing_node": Text("A node of the tree is missing", "Thiếu một nút của cây"),
    "invalid_record": Text("The record is not valid", "Bản ghi không hợp lệ"),
    "invalid_tree_head": Text("The signed head is not valid", "Đầu cây đã ký không hợp lệ"),
    "invalid_signature": Text("The signature is not valid", "Chữ ký không hợp lệ"),
    "unknown_key": Text("The signing key is unknown", "Không biết khóa ký này"),
    "invalid_key_document": Text("The key document is not valid",
                                 "Tài liệu khóa không hợp lệ"),
    "same_actor_approval": Text("The same person cannot also approve",
                                "Người đề nghị không được tự phê duyệt"),
    "invalid_report_range": Text("The report's dates are not valid",
                                 "Khoảng thời gian của báo cáo không hợp lệ"),
    "invalid_period": Text("The month is not valid", "Tháng không hợp lệ"),
    "period_closed": Text("The month is closed", "Tháng này đã khóa sổ"),
    "period_already_closed": Text("The month is already closed", "Tháng này đã được khóa sổ rồi"),
    "period_out_of_order": Text("Months are closed in order",
                                "Phải khóa sổ lần lượt từng tháng"),
    "period_not_ended": Text("The month has not ended yet", "Tháng này chưa kết thúc"),
}


def ledger_detail(
    title: str, english: str, vietnamese: str | None, language: Language
) -> str:
    """A core error's detail in `language` (its Vietnamese wording when it has one)."""
    if language == "vi" and vietnamese:
        return vietnamese
    return untranslated_detail(title, english, language)


# What a person reads for a field the schema refused (pydantic's error type → the
# Vietnamese of its message; `{name}` fields come from the error's context). The
# `errors` member keeps pydantic's English `msg` for programs.
VALIDATION_MESSAGES_VI: Final[dict[str, str]] = {
    "missing": "thiếu, bắt buộc phải có",
    "extra_forbidden": "không phải một trường được nhận",
    "string_type": "phải là chuỗi ký tự",
    "string_too_short": "phải có ít nhất {min_length} ký tự",
    "string_too_long": "có nhiều nhất {max_length} ký tự",
    "string_pattern_mismatch": "không đúng mẫu {pattern}",
    "int_type": "phải là số nguyên",
    "int_parsing": "phải là số nguyên",
    "int_from_float": "phải là số nguyên",
    "bool_type": "phải là true hoặc false",
    "bool_parsing": "phải là true hoặc false",
    "greater_than": "phải lớn hơn {gt}",
    "greater_than_equal": "phải từ {ge} trở lên",
    "less_than": "phải nhỏ hơn {lt}",
    "less_than_equal": "phải nhiều nhất là {le}",
    "enum": "phải là một trong {expected}",
    "literal_error": "phải là một trong {expected}",
    "uuid_type": "phải là một UUID",
    "uuid_parsing": "phải là một UUID",
    "date_type": "phải là một ngày (yyyy-mm-dd)",
    "date_parsing": "phải là một ngày (yyyy-mm-dd)",
    "date_from_datetime_parsing": "phải là một ngày (yyyy-mm-dd)",
    "dict_type": "phải là một đối tượng JSON",
    "model_type": "phải là một đối tượng JSON",
    "model_attributes_type": "phải là một đối tượng JSON",
    "list_type": "phải là một danh sách",
    "too_short": "phải có ít nhất {min_length} phần tử",
    "too_long": "có nhiều nhất {max_length} phần tử",
    "value_error": "giá trị không hợp lệ",
    "decimal_parsing": "phải là một số thập phân",
}


def validation_message_vi(error: dict[str, Any]) -> str:
    """One field error in Vietnamese: a core rule's own wording, else the wording of
    its pydantic type, else a plain "not valid"."""
    context = error.get("ctx") or {}
    if context.get("detail_vi"):
        return str(context["detail_vi"])
    template = VALIDATION_MESSAGES_VI.get(str(error.get("type")), "giá trị không hợp lệ")
    try:
        return template.format(**context)
    except (KeyError, IndexError, ValueError):
        return template.split(" {")[0]


def ledger_title(error: ledger_errors.LedgerError) -> Text:
    return LEDGER_TITLES.get(error.code) or Text(error.code.replace("_", " ").capitalize(),
                                                 error.code.replace("_", " ").capitalize())


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


def problem_for(error: Exception, language: Language = "en") -> JSONResponse:
    """The problem response for any error the service knows; 500 for the rest.

    `title` and `detail` are in `language`; `code` and the rest never change."""
    if isinstance(error, ValidationFailed):
        return problem(error.status, error.code, error.title_in(language),
                       error.detail_in(language), error.errors)
    if isinstance(error, ClubfundError):
        if error.status >= 500:
            log.error("%s: %s", error.code, error.detail)
        return problem(error.status, error.code, error.title_in(language),
                       error.detail_in(language), headers=error.headers)
    if isinstance(error, ledger_errors.LedgerError) and type(error) in LEDGER_STATUS:
        status = LEDGER_STATUS[type(error)]
        title = ledger_title(error).render(language)
        if isinstance(error, loan_terms.LoanTermsOutOfBounds):
            return problem(status, error.code, title,
                           LOAN_TERM_RULES[error.rule].render(language, **error.values),
                           [{"loc": ["body", error.field], "msg": error.detail,
                             "type": error.rule.value}])
        return problem(status, error.code, title,
                       ledger_detail(title, error.detail, error.detail_vi, language))
    if is_database_unreachable(error):
        log.warning("database unreachable: %s: %s", type(error).__name__, error)
        return problem_for(DatabaseUnavailable(), language)
    if isinstance(error, asyncpg.PostgresError):
        mapped = map_database_error(error)
        if mapped is not None:
            return problem_for(mapped, language)
    log.exception("unhandled error", exc_info=error)
    return problem(500, "internal_error", ClubfundError().title_in(language),
                   ClubfundError(Text("an unexpected error occurred",
                                      "đã xảy ra lỗi ngoài dự kiến")).detail_in(language))


def problem_language(request: Request) -> Language:
    """The language of a request's problems: its `Accept-Language`, English without one."""
    return language_of(request.headers.get("accept-language"))


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
            return error_class("an account that may not go below zero would be negative",
                               "một tài khoản không được âm sẽ bị âm")
        if issubclass(error_class, ClubfundError):
            return error_class(Text("{refused}", "cơ sở dữ liệu từ chối: {title}"),
                               refused=detail, title=error_class.title_vi.lower())
        title = LEDGER_TITLES[error_class.code].vi.lower()
        return error_class(detail, f"cơ sở dữ liệu từ chối: {title}")
    if isinstance(error, asyncpg.NumericValueOutOfRangeError):
        return AmountOutOfRange(Text("a total would exceed the range of the ledger",
                                     "một tổng số sẽ vượt giới hạn của sổ cái"))
    return None


class ValidationErrorItem(BaseModel):
    loc: list[str] = Field(description="where: `body`, then the field's path")
    msg: str = Field(description="what is wrong, in English")
    type: str = Field(description="the kind of mistake (`missing`, `int_type`, `invalid_text`…)")


class RefusedBatchItem(BaseModel):
    index: int = Field(description="the item's place in the batch, from 0")
    key: str = Field(description="the item's key")
    status: int = Field(description="the status its single endpoint answers")
    problem: ProblemDetails = Field(description="why it was refused")


class ProblemDetails(BaseModel):
    """An RFC 9457 problem, the body of every 4xx and 5xx answer
    (`application/problem+json`). Switch on `code`: `title` and `detail` follow
    `Accept-Language` and may be reworded."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "type": "https://clubfund.example/problems/insufficient_funds",
        "title": "Tài khoản không đủ tiền (không được âm)",
        "status": 422,
        "detail": "Tài khoản không đủ tiền (không được âm) (account"
                  " 5f0c2a8e-3d41-4b7a-9e62-1c8d4f7a2b90 may not go below zero"
                  " (would be -1500000))",
        "code": "insufficient_funds",
    }, {
        "type": "https://clubfund.example/problems/validation_error",
        "title": "Dữ liệu gửi lên không hợp lệ",
        "status": 422,
        "detail": "body.amount không hợp lệ: Input should be a valid integer",
        "code": "validation_error",
        "errors": [{"loc": ["body", "amount"], "msg": "Input should be a valid integer",
                    "type": "int_type"}],
    }]})

    type: str = Field(description="a URI naming the kind of problem")
    title: str = Field(description="the kind of problem, in the caller's language")
    status: int = Field(description="the HTTP status")
    detail: str = Field(description="this occurrence, naming the values concerned")
    code: str = Field(description="stable machine-readable code: switch on this")
    errors: list[ValidationErrorItem | RefusedBatchItem] | None = Field(
        None, description="each field that was wrong (`validation_error` and input rules);"
                          " for `batch_refused`, each refused item of the batch")


RefusedBatchItem.model_rebuild()


PROBLEM_PREFIX = "Problem: "
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/ProblemDetails"}


def problem_response(description: str) -> dict[str, Any]:
    """One status's OpenAPI response: the problem schema under `application/problem+json`."""
    return {"description": description, "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_SCHEMA}}}


def problem_responses(*errors: type[ClubfundError] | tuple[int, str]) -> dict[int | str, Any]:
    """`responses=` for a route: each status with the codes it may carry (every route may
    answer 422 validation_error and, while the database is unreachable, 503)."""
    by_status: dict[int, list[str]] = {}
    for item in (*errors, ValidationFailed, UnknownQueryParameter, DatabaseUnavailable):
        status, code = (item.status, item.code) if isinstance(item, type) else item
        by_status.setdefault(status, []).append(code)
    return {
        status: problem_response(PROBLEM_PREFIX + ", ".join(sorted(set(codes))))
        for status, codes in sorted(by_status.items())
    }


def add_problems(responses: dict[str, Any], problems: tuple[type[ClubfundError], ...]) -> None:
    """Add each problem's code to its status's response (idempotent)."""
    for error in problems:
        status = str(error.status)
        response = responses.get(status)
        if response is None:
            responses[status] = problem_response(PROBLEM_PREFIX + error.code)
            continue
        described: str = response.get("description", "")
        codes = set(described.removeprefix(PROBLEM_PREFIX).split(", ")) - {""}
        if described.startswith(PROBLEM_PREFIX) or not described:
            response["description"] = PROBLEM_PREFIX + ", ".join(sorted(codes | {error.code}))
    ordered = dict(sorted(responses.items()))
    responses.clear()
    responses.update(ordered)


def document_problems(app: FastAPI) -> None:
    """Put `ProblemDetails` (which `problem_response` refers to) in the OpenAPI components."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        models = schema.setdefault("components", {}).setdefault("schemas", {})
        problem_schema = ProblemDetails.model_json_schema(
            ref_template="#/components/schemas/{model}")
        models.update(problem_schema.pop("$defs", {}))
        if "$ref" not in problem_schema:  # a model that refers to itself is in its $defs
            models["ProblemDetails"] = problem_schema
        schema["components"]["schemas"] = dict(sorted(models.items()))
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install_error_handlers(app: FastAPI) -> None:
    async def on_error(request: Request, error: Exception) -> JSONResponse:
        return problem_for(error, problem_language(request))

    async def on_validation(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        return validation_problem([dict(e) for e in error.errors()], problem_language(request))

    async def on_http(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, StarletteHTTPException)
        mapping: dict[int, type[ClubfundError]] = {
            400: MalformedJson, 401: Unauthenticated, 403: Forbidden, 404: NotFound,
            405: MethodNotAllowed,
        }
        error_class = mapping.get(error.status_code)
        if error_class is not None:
            return problem_for(error_class(), problem_language(request))
        return problem(error.status_code, "http_error", str(error.detail), str(error.detail))

    app.add_exception_handler(ClubfundError, on_error)
    app.add_exception_handler(ledger_errors.LedgerError, on_error)
    app.add_exception_handler(asyncpg.PostgresError, on_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def validation_problem(details: list[dict[str, Any]], language: Language) -> JSONResponse:
    """The problem for a body that failed its schema (pydantic's error list): a core
    input rule broken inside a field keeps its own code (invalid_text...), anything else
    is `validation_error`, each error listed with where it is."""
    if any(e.get("type") == "json_invalid" for e in details):
        return problem_for(MalformedJson(Text("the body could not be parsed as JSON",
                                              "không đọc được nội dung gửi lên dạng JSON")),
                           language)
    errors: list[dict[str, Any]] = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg")),
         "type": str(e.get("type"))}
        for e in details
    ]
    ruled = [n for n, e in enumerate(errors) if e["type"] in INPUT_RULES]
    index = (ruled or [0])[0]
    first = errors[index] if errors else {"loc": ["body"], "msg": "invalid", "type": ""}
    first_detail = details[index] if details else {}
    where, message = ".".join(first["loc"]), str(first["msg"])
    message_vi = validation_message_vi(first_detail)
    rule = INPUT_RULES.get(str(first["type"]))
    if rule is not None:
        title = (LEDGER_TITLES.get(rule.code) or Text(rule.code, rule.code)).render(language)
        return problem(LEDGER_STATUS[rule], rule.code, title,
                       ledger_detail(title, f"{where}: {message}", f"{where}: {message_vi}",
                                     language), errors)
    return problem_for(
        ValidationFailed(Text("{where}: {message}", "{where} không hợp lệ: {message_vi}"),
                         errors, where=where, message=message, message_vi=message_vi),
        language,
    )


class InvalidScope(ClubfundError):
    status, code, title, title_vi = (
        422, "invalid_scope", "The role and the scope do not fit together",
        "Vai trò và phạm vi không khớp nhau",
    )


class SignInLocked(ClubfundError):
    status, code, title, title_vi = (
        429, "sign_in_locked", "Too many wrong attempts: sign-in is locked for a while",
        "Nhập sai quá nhiều lần: tạm khóa đăng nhập một lúc",
    )


class FormTokenMissing(ClubfundError):
    status, code, title, title_vi = (
        403, "form_token_missing", "The form was sent without its security token",
        "Biểu mẫu gửi lên thiếu mã bảo vệ",
    )


class DuplicatePhone(ClubfundError):
    status, code, title, title_vi = (
        409, "duplicate_phone", "Another person has this phone number",
        "Số điện thoại này đã thuộc về một người khác",
    )


class UnknownPerson(ClubfundError):
    status, code, title, title_vi = (
        422, "unknown_person", "There is no such person",
        "Không có người này",
    )


# --- the club fund domain: areas, clubs, members, loans, periods -----------------------------
from ledger import (  # noqa: E402
    checkpoints,
    loan_lifecycle,
    loan_terms,
    loans,
    log_replay,
    people,
    periods,
    reports,
    signed_notes,
)


class LastAdminToken(ClubfundError):
    status, code, title, title_vi = (
        409, "last_admin_token",
        "The last usable admin token cannot be revoked: issue another admin token first",
        "Không thể thu hồi mã quản trị cuối cùng còn dùng được: hãy cấp một mã quản trị khác trước",
    )


class UnknownArea(ClubfundError):
    status, code, title, title_vi = (
        422, "unknown_area", "An area code is unknown or not valid on that date",
        "Mã địa bàn không tồn tại hoặc không còn hiệu lực vào ngày đó",
    )


class DuplicateArea(ClubfundError):
    status, code, title, title_vi = (
        409, "duplicate_area", "An area with this code already exists",
        "Đã có địa bàn với mã này",
    )


class InvalidAreaParent(ClubfundError):
    status, code, title, title_vi = (
        422, "invalid_area_parent", "This parent cannot hold this area",
        "Địa bàn cấp trên này không thể chứa địa bàn này",
    )


class AreaInUse(ClubfundError):
    status, code, title, title_vi = (
        409, "area_in_use", "Areas or clubs still belong to this area",
        "Vẫn còn địa bàn hoặc câu lạc bộ thuộc địa bàn này",
    )


class UnknownMember(ClubfundError):
    status, code, title, title_vi = (
        422, "unknown_member", "The member is unknown to this fund's club",
        "Hội viên không thuộc câu lạc bộ của quỹ này",
    )


class LoanAccountPosting(ClubfundError):
    status, code, title, title_vi = (
        409, "loan_account_posting",
        "A loan's account moves only through the loan's own operations",
        "Tài khoản của khoản vay chỉ thay đổi qua các nghiệp vụ của khoản vay",
    )


class LoanEntryReversal(ClubfundError):
    status, code, title, title_vi = (
        409, "loan_entry_reversal",
        "A loan's entries change only through the loan's own operations",
        "Bút toán của khoản vay chỉ thay đổi qua các nghiệp vụ của khoản vay",
    )


class RecoveryTooLarge(ClubfundError):
    status, code, title, title_vi = (
        422, "recovery_too_large",
        "The recovery is more than was written off and not yet recovered",
        "Số tiền thu hồi vượt quá số đã xóa nợ chưa thu hồi",
    )


class CorrectionPending(ClubfundError):
    status, code, title, title_vi = (
        409, "correction_pending", "A correction of this is already pending",
        "Đã có một yêu cầu sửa sai việc này đang chờ duyệt",
    )


class CorrectionDecided(ClubfundError):
    status, code, title, title_vi = (
        409, "correction_decided", "This correction was already decided",
        "Yêu cầu sửa sai này đã được quyết định rồi",
    )


class CorrectionReasonRequired(ClubfundError):
    status, code, title, title_vi = (
        422, "reason_required", "A correction in a club's fund needs its reason",
        "Yêu cầu sửa sai trong quỹ câu lạc bộ phải ghi rõ lý do",
    )


class PeriodNotLatestClosed(ClubfundError):
    status, code, title, title_vi = (
        409, "period_not_latest_closed", "Only the latest closed month can be reopened",
        "Chỉ mở lại được tháng đã khóa gần nhất",
    )


class ArchiveRefused(ClubfundError):
    """A fund's archive that is not restored: it does not verify, is malformed, or the
    target already holds another history of the fund (nothing is written)."""

    status, code, title, title_vi = (
        422, "archive_refused", "The archive is refused: nothing was written",
        "Tệp lưu trữ bị từ chối: không ghi gì cả",
    )


LEDGER_STATUS.update({
    periods.PeriodClosed: 409,
    periods.PeriodAlreadyClosed: 409,
    periods.PeriodOutOfOrder: 409,
    periods.PeriodNotEnded: 409,
    periods.InvalidPeriod: 422,
    loan_lifecycle.LoanTransitionRefused: 409,
    loan_lifecycle.SameActorApproval: 403,
    loan_lifecycle.BorrowerApproval: 403,
    loan_lifecycle.DisbursementHasRepayments: 409,
    loans.InvalidLoanTerms: 422,
    loan_terms.LoanTermsOutOfBounds: 422,
    reports.InvalidReportRange: 422,
    loans.Overpayment: 422,
    loans.WaiverTooLarge: 422,
    loans.LoanClosed: 409,
    loans.RepaymentOutOfOrder: 409,
    loans.InvalidLoanState: 422,
    ledger_dates.InvalidDate: 422,
    ledger_dates.FutureDate: 422,
    people.InvalidPhone: 422,
    signed_notes.MalformedNote: 422,
    signed_notes.InvalidNoteSignature: 422,
    signed_notes.UnverifiedNote: 422,
    signed_notes.InvalidVerifierKey: 422,
    checkpoints.InvalidCheckpoint: 422,
    checkpoints.UnknownSigner: 422,
    checkpoints.InvalidWitnessRequest: 422,
    log_replay.LogMismatch: 422,
})
# Each bound on a new loan's terms (ledger/loan_terms.py), named in both languages: the
# detail of its `invalid_loan_terms` problem; `errors[0].type` is the rule.
LOAN_TERM_RULES: dict[loan_terms.TermRule, Text] = {
    loan_terms.TermRule.ANNUAL_RATE_MAX: Text(
        "annual_rate_max: the annual rate {annual_rate_percent} % (rate per period × "
        "{periods_per_year} periods a year) is above {limit_percent} % (Civil Code art. 468)",
        "annual_rate_max: lãi suất năm {annual_rate_percent} % (lãi suất mỗi kỳ × "
        "{periods_per_year} kỳ một năm) vượt quá {limit_percent} % (Bộ luật Dân sự, điều 468)"),
    loan_terms.TermRule.PENALTY_RATE_MAX: Text(
        "penalty_rate_max: the overdue penalty {penalty_percent} % a year (per day × 365) is "
        "above 150 % of the loan's annual rate {annual_rate_percent} %, that is "
        "{limit_percent} % (Civil Code art. 466)",
        "penalty_rate_max: lãi phạt quá hạn {penalty_percent} % một năm (mỗi ngày × 365) "
        "vượt quá 150 % lãi suất năm của khoản vay {annual_rate_percent} %, tức là "
        "{limit_percent} % (Bộ luật Dân sự, điều 466)"),
    loan_terms.TermRule.PRINCIPAL_MIN: Text(
        "principal_min: the principal {principal} is less than one rounding unit "
        "({rounding_unit}) per instalment ({installments}): at least {principal_min}",
        "principal_min: số tiền vay {principal} nhỏ hơn một đơn vị làm tròn "
        "({rounding_unit}) cho mỗi kỳ trả ({installments} kỳ): tối thiểu {principal_min}"),
    loan_terms.TermRule.ROUNDING_UNIT_MAX: Text(
        "rounding_unit_max: the rounding unit {rounding_unit} is larger than instalment "
        "{installment} ({installment_total})",
        "rounding_unit_max: đơn vị làm tròn {rounding_unit} lớn hơn kỳ trả số "
        "{installment} ({installment_total})"),
}
CONSTRAINT_ERRORS.update({
    "ck_entries_period_open": periods.PeriodClosed,
    "ck_loans_terms_within_bounds": loans.InvalidLoanTerms,
    "pk_areas": DuplicateArea,
    "uq_people_phone": DuplicatePhone,
    "fk_people_scope_club_id_member_id_members": UnknownMember,
})
# The books import (`clubfund import`, a command: no HTTP status).
LEDGER_TITLES.update({
    "books_refused": Text("The books were not imported", "Chưa nhập được sổ sách"),
    "fund_not_empty": Text("The fund already holds books", "Quỹ đã có sổ sách"),
})
