"""A batch of operations on one fund, each run by the single endpoint's own service.

Every item is validated by the single endpoint's schema and executed by the same
service function (`OPERATIONS`): a batch adds no rule of its own. Each item's `key` is
that operation's Idempotency-Key: its answer is stored exactly as the single endpoint's
middleware stores one (`service.transactions`: same caller, same request fingerprint of
method, path and canonical body), so a key first used in a batch replays through the
single endpoint and the other way round.

The batch runs in the request's one transaction, under the fund's lock taken once
(`open_fund_write`); then one query finds which loans are the fund's, one which keys
have an answer already, and one at the end stores the answers of the items written.
`independent`: each item runs in its own savepoint; a refused item leaves nothing
behind and the others are written. `atomic`: the items run one after the other in one
savepoint, consecutive journal entries written together by `create_entries` (the round
trips of one entry for all of them); at the first refused item it is rolled back, the
items are run again each in its own savepoint to find every refused item's problem,
and the batch is refused (422 `batch_refused`, each refused item's problem listed); the
request's transaction is rolled back: nothing is written.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from service.batches import repository
from service.batches.schemas import BatchCreate, BatchItem, BatchMode, BatchOperation
from service.cashbook.schemas import CashOperationCreate
from service.cashbook.service import CashOperation, post_cash_operation
from service.context import FundWrite, RequestContext
from service.entries.schemas import EntryCreate
from service.entries.service import create_entries, create_entry
from service.errors import (
    BatchRefused,
    IdempotencyConflict,
    IdempotencyKeyRequired,
    NotFound,
    ValidationFailed,
    problem_for,
    validation_problem,
)
from service.funds.service import open_fund_write
from service.ids import new_id
from service.language import Language, Text
from service.loans.schemas import DisbursementCreate, LoanCreate, RepaymentCreate
from service.loans.service import apply_for_loan, disburse, repay
from service.transactions import request_hash

Body = TypeVar("Body", bound=BaseModel)


@dataclass(frozen=True)
class Operation(Generic[Body]):
    """A batch operation: the single endpoint's body schema, path, success status and
    service function (called with the fund id, or the loan id for a loan's operation)."""

    schema: type[Body]
    path: str
    status: int
    run: Callable[[RequestContext, uuid.UUID, Body], Awaitable[BaseModel]]
    on_loan: bool = False
    body_optional: bool = False

    def target_path(self, target: uuid.UUID) -> str:
        return self.path.format(target=target)


def cash_operation(
    operation: CashOperation,
) -> Callable[[RequestContext, uuid.UUID, CashOperationCreate], Awaitable[BaseModel]]:
    async def run(ctx: RequestContext, fund_id: uuid.UUID, body: CashOperationCreate) -> BaseModel:
        return await post_cash_operation(ctx, fund_id, operation, body)

    return run


FUND_PATH = "/v1/funds/{target}"
CASH_PATHS = {
    CashOperation.SEED_GRANT: "seed-grants", CashOperation.DONATION: "donations",
    CashOperation.CONTRIBUTION: "contributions", CashOperation.EXPENSE: "expenses",
}
OPERATIONS: dict[BatchOperation, Operation[Any]] = {
    BatchOperation.ENTRY: Operation(EntryCreate, FUND_PATH + "/entries", 201, create_entry),
    **{
        BatchOperation(operation.value): Operation(
            CashOperationCreate, f"{FUND_PATH}/{path}", 201, cash_operation(operation))
        for operation, path in CASH_PATHS.items()
    },
    BatchOperation.LOAN_APPLICATION: Operation(
        LoanCreate, FUND_PATH + "/loans", 201, apply_for_loan),
    BatchOperation.DISBURSEMENT: Operation(
        DisbursementCreate, "/v1/loans/{target}/disbursement", 200, disburse,
        on_loan=True, body_optional=True),
    BatchOperation.REPAYMENT: Operation(
        RepaymentCreate, "/v1/loans/{target}/repayments", 201, repay, on_loan=True),
}


@dataclass
class ItemAnswer:
    key: str
    status: int
    result: dict[str, Any] | None = None
    problem: dict[str, Any] | None = None

    def document(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"key": self.key, "status": self.status}
        if self.problem is not None:
            answer["problem"] = self.problem
        else:
            answer["result"] = self.result
        return answer


@dataclass
class ParsedItem:
    operation: Operation[Any]
    body: BaseModel
    request_body: bytes  # what the single endpoint would have received


@dataclass
class StoredAnswers:
    """The answers of the items written, stored at the end in one statement."""

    keys: list[str]
    request_hashes: list[str]
    statuses: list[int]
    bodies: list[bytes]


def problem_document(error: Exception, language: Language) -> dict[str, Any]:
    """An error as the problem+json object the single endpoint would answer."""
    document: dict[str, Any] = json.loads(bytes(problem_for(error, language).body))
    return document


def answer_bytes(document: dict[str, Any]) -> bytes:
    """An answer as FastAPI's JSONResponse writes it (what the single endpoint stores)."""
    return json.dumps(document, ensure_ascii=False, allow_nan=False,
                      separators=(",", ":")).encode()


def check_keys(items: list[BatchItem], batch_key: str) -> None:
    """Refuse the batch when a key appears twice, or is the batch's own key."""
    seen: set[str] = set()
    errors = []
    for index, item in enumerate(items):
        if item.key in seen or item.key == batch_key:
            errors.append({"loc": ["body", "items", str(index), "key"],
                           "msg": "a key may appear once in a batch and differ from the"
                                  " batch's Idempotency-Key", "type": "duplicate_key"})
        seen.add(item.key)
    if errors:
        raise ValidationFailed(
            Text("items.{index}.key: the key {key} appears twice, or is the batch's own"
                 " Idempotency-Key",
                 "items.{index}.key: khóa {key} xuất hiện hai lần, hoặc trùng khóa"
                 " Idempotency-Key của cả lô"),
            errors, index=errors[0]["loc"][2], key=items[int(errors[0]["loc"][2])].key,
        )


def parse_item(item: BatchItem, language: Language) -> ParsedItem | ItemAnswer:
    """The item's body through the single endpoint's schema, or its problem."""
    operation = OPERATIONS[item.op]
    if operation.on_loan != (item.loan_id is not None):
        error = ValidationFailed(
            Text("loan_id: {op} {needs} a loan_id", "loan_id: thao tác {op} {needs_vi} loan_id"),
            [{"loc": ["loan_id"], "msg": "required" if operation.on_loan else "not allowed",
              "type": "missing" if operation.on_loan else "extra_forbidden"}],
            op=item.op.value, needs="needs" if operation.on_loan else "takes no",
            needs_vi="cần" if operation.on_loan else "không nhận",
        )
        return ItemAnswer(item.key, error.status, problem=problem_document(error, language))
    if item.body is None and operation.body_optional:
        return ParsedItem(operation, operation.schema(), b"")
    try:
        body = operation.schema.model_validate(item.body)
    except ValidationError as invalid:
        details = [{**error, "loc": ("body", *error["loc"])} for error in invalid.errors()]
        response = validation_problem(details, language)
        return ItemAnswer(item.key, response.status_code,
                          problem=json.loads(bytes(response.body)))
    return ParsedItem(operation, body, json.dumps(item.body).encode())


def refusal(answers: list[ItemAnswer]) -> BatchRefused:
    refused = [
        {"index": index, "key": answer.key, "status": answer.status, "problem": answer.problem}
        for index, answer in enumerate(answers) if answer.problem is not None
    ]
    return BatchRefused(
        Text("{count} of the {total} items were refused: nothing was written",
             "{count} trên {total} mục bị từ chối: không ghi gì cả"),
        refused, count=len(refused), total=len(answers),
    )


class FirstRefusal(Exception):
    """An atomic batch's first refused item: stop running the others on the fast path."""


@dataclass
class BatchRun:
    """The items of one batch run in order on the request's connection, under the fund's
    lock, with what was read once for all of them."""

    ctx: RequestContext
    fund: FundWrite
    batch: BatchCreate
    parsed: list[ParsedItem | ItemAnswer]
    own_loans: set[uuid.UUID]
    stored: dict[str, Any]
    language: Language

    async def run(self, alone: bool) -> tuple[list[ItemAnswer], StoredAnswers]:
        """Every item's answer and the answers to store. `alone`: each item in its own
        savepoint (a refused one leaves nothing, the others go on); otherwise the first
        refused item raises FirstRefusal (the caller rolls the batch back), and
        consecutive journal entries are written together (`create_entries`: the round
        trips of one entry for all of them)."""
        answers: list[ItemAnswer | None] = []
        written = StoredAnswers([], [], [], [])
        entries: list[tuple[int, BatchItem, EntryCreate, str]] = []
        for item, parsed_item in zip(self.batch.items, self.parsed, strict=True):
            if isinstance(parsed_item, ItemAnswer):
                answers.append(parsed_item)
                continue
            operation = parsed_item.operation
            target = item.loan_id if item.loan_id is not None else self.fund.fund_id
            fingerprint = request_hash("POST", operation.target_path(target), b"",
                                       parsed_item.request_body)
            try:
                answer = self.replayed(item, operation, target, fingerprint)
                if answer is None and not alone and item.op is BatchOperation.ENTRY:
                    assert isinstance(parsed_item.body, EntryCreate)
                    entries.append((len(answers), item, parsed_item.body, fingerprint))
                    answers.append(None)
                    continue
                await self.write_entries(entries, answers, written)
                if answer is None:
                    result = await self.execute(operation, target, parsed_item.body, alone)
            except Exception as error:
                problem = problem_document(error, self.language)
                if problem["status"] >= 500:
                    raise
                if not alone:
                    raise FirstRefusal from error
                answers.append(ItemAnswer(item.key, problem["status"], problem=problem))
                continue
            if answer is not None:
                answers.append(answer)
                continue
            answers.append(self.answer_written(item.key, operation.status, result,
                                               fingerprint, written))
        try:
            await self.write_entries(entries, answers, written)
        except Exception as error:
            if problem_document(error, self.language)["status"] >= 500:
                raise
            raise FirstRefusal from error
        return [answer for answer in answers if answer is not None], written

    async def write_entries(
        self, entries: list[tuple[int, BatchItem, EntryCreate, str]],
        answers: list[ItemAnswer | None], written: StoredAnswers,
    ) -> None:
        """Write the journal entries gathered so far together; fill in their answers."""
        if not entries:
            return
        results = await create_entries(self.ctx, self.fund.fund_id,
                                       [body for _, _, body, _ in entries])
        status = OPERATIONS[BatchOperation.ENTRY].status
        for (place, item, _, fingerprint), result in zip(entries, results, strict=True):
            answers[place] = self.answer_written(item.key, status, result, fingerprint, written)
        entries.clear()

    @staticmethod
    def answer_written(key: str, status: int, result: BaseModel, fingerprint: str,
                       written: StoredAnswers) -> ItemAnswer:
        """A written item's answer, noted to be stored for its key."""
        document = result.model_dump(mode="json", by_alias=True)
        written.keys.append(key)
        written.request_hashes.append(fingerprint)
        written.statuses.append(status)
        written.bodies.append(answer_bytes(document))
        return ItemAnswer(key, status, result=document)

    def replayed(
        self, item: BatchItem, operation: Operation[Any], target: uuid.UUID, fingerprint: str,
    ) -> ItemAnswer | None:
        """The stored answer of the item's key, if it has one (NotFound for a loan that
        is not the fund's, IdempotencyConflict for a key used for another request)."""
        if operation.on_loan and target not in self.own_loans:
            raise NotFound("loan", target)
        previous = self.stored.get(item.key)
        if previous is None:
            return None
        if previous["request_hash"] != fingerprint:
            raise IdempotencyConflict(Text(
                "the key {key} was used before with a different request",
                "khóa {key} đã được dùng trước đây cho một yêu cầu khác"), key=item.key)
        return ItemAnswer(item.key, previous["response_status"],
                          result=json.loads(previous["response_body"]))

    async def execute(
        self, operation: Operation[Any], target: uuid.UUID, body: BaseModel, alone: bool,
    ) -> BaseModel:
        """The single endpoint's service function; `alone`: in a savepoint, refused it
        leaves nothing (the fund's entry counter held in memory included)."""
        if not alone:
            return await operation.run(self.ctx, target, body)
        last_sequence = self.fund.last_sequence
        try:
            async with self.ctx.connection.transaction():
                return await operation.run(self.ctx, target, body)
        except BaseException:
            self.fund.last_sequence = last_sequence
            raise

    async def run_atomic(self) -> tuple[list[ItemAnswer], StoredAnswers]:
        """All items in one savepoint, none alone (the fast path). At the first refused
        item that savepoint is rolled back and the items run again each alone, to find
        every refused item's problem; the batch is then refused."""
        savepoint = self.ctx.connection.transaction()
        await savepoint.start()
        last_sequence = self.fund.last_sequence
        try:
            answers, written = await self.run(alone=False)
        except FirstRefusal:
            await savepoint.rollback()
            self.fund.last_sequence = last_sequence
            answers, _ = await self.run(alone=True)
            raise refusal(answers) from None
        await savepoint.commit()
        return answers, written


async def create_batch(
    ctx: RequestContext, fund_id: uuid.UUID, batch: BatchCreate, batch_key: str | None,
    language: Language, keys_owner: str | None = None,
) -> dict[str, Any]:
    """Run the batch's items in order; its answer, or BatchRefused for an atomic batch
    with a refused item (the request's transaction is then rolled back).

    The items' keys belong to the caller's token, or to `keys_owner` when given (the
    meeting page: the person, whichever of her web sessions sends); then an answer
    stored under the token itself still replays."""
    if batch_key is None:
        raise IdempotencyKeyRequired(Text(
            "a batch needs an Idempotency-Key header (its answer is replayed for the same key)",
            "một lô cần tiêu đề Idempotency-Key (câu trả lời được gửi lại cho cùng khóa)"))
    check_keys(batch.items, batch_key)
    parsed = [parse_item(item, language) for item in batch.items]
    if batch.mode is BatchMode.ATOMIC and any(isinstance(p, ItemAnswer) for p in parsed):
        raise refusal([p if isinstance(p, ItemAnswer) else ItemAnswer(i.key, 0)
                       for p, i in zip(parsed, batch.items, strict=True)])
    fund = await open_fund_write(ctx, fund_id)
    loan_ids = sorted({item.loan_id for item in batch.items if item.loan_id is not None})
    own_loans = await repository.loans_of_fund(ctx.connection, fund_id, loan_ids)
    token_id: str = ctx.state.principal_id
    principal_id = keys_owner or token_id
    stored = await repository.stored_answers(
        ctx.connection, list(dict.fromkeys([principal_id, token_id])),
        [item.key for item in batch.items])
    run = BatchRun(ctx, fund, batch, parsed, own_loans, stored, language)
    if batch.mode is BatchMode.ATOMIC:
        answers, written = await run.run_atomic()
    else:
        answers, written = await run.run(alone=True)
    if written.keys:
        count = await repository.store_answers(
            ctx.connection, fund_id, principal_id, written.keys, written.request_hashes,
            written.statuses, written.bodies, ctx.now)
        if count != len(written.keys):
            # Another request stored one of these keys meanwhile (not under this fund's
            # lock): refuse the whole batch rather than answer twice.
            raise IdempotencyConflict(Text(
                "a key of this batch was used meanwhile by another request; send it again",
                "một khóa của lô vừa được yêu cầu khác dùng; hãy gửi lại"))
    return {"id": str(new_id()), "items": [answer.document() for answer in answers]}
