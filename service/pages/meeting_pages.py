"""The treasurer's meeting page, which keeps working without signal.

One visit while online is enough: the page registers a service worker
(`/meeting-worker.js`, scoped to the page alone) that keeps the page, its style sheet
and its script. Offline, the page shows the members and their loans with the amounts
due as they were when the page was last fetched (the time is shown), and keeps each
repayment and contribution recorded in the phone's IndexedDB under a key made on the
phone. When the connection returns the waiting records are posted to
`POST /clubs/{club_id}/meeting/batch` as one `independent` batch: the page's session
and its form token are checked, then the batches service the API calls runs them, each
record's key acting as its Idempotency-Key (a second send writes nothing). Refused
records come back with their problem, in the page's language.

The keys belong to the person, not to one web session (`keys_owner`: `person:<id>`, the
actor her entries carry): when a send's answer is lost and she signs in again (the
session expired, she signed out, the phone restarted), the same records sent under the
new session replay their first answers instead of being written twice. Another person's
session never sees those answers: the same key sent by her is her own.

The phone keeps who recorded each record (person and club, with her name). The page
shows and sends only the signed-in person's records of the club; another officer's
records on the same phone are left as they are (never sent under someone else's name,
never deleted) and counted with her name. Signing out from the page with records still
waiting asks first ("Còn N khoản chưa gửi…").

Only these responses let scripts run (`'self'` only): every other page runs none.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from ledger.loan_lifecycle import LoanStatus
from service.batches.schemas import ITEM_KEY_LENGTH_MAX, BatchCreate, BatchItem, BatchMode
from service.batches.service import create_batch
from service.clubs.service import get_club
from service.context import BUSINESS_TIMEZONE, RequestContext
from service.errors import Unauthenticated, ValidationFailed
from service.language import Text
from service.loans.schemas import LoanRead
from service.pages import service
from service.pages.rendering import (
    FOLDER,
    PAGE_POLICY,
    Context,
    PageRoute,
    SignInNeeded,
    officer,
    page_language,
    render,
)
from service.pages.words import WORDS
from service.signin import service as signin

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# The meeting page runs its own script and worker, from the service only, and posts its
# queue to the service only.
MEETING_POLICY = PAGE_POLICY + "; script-src 'self'; worker-src 'self'; connect-src 'self'"
# What the worker itself may do: fetch the page and its assets from the service.
WORKER_POLICY = "default-src 'none'; connect-src 'self'"
SCRIPT = (FOLDER / "static" / "meeting.js").read_bytes()
WORKER = (FOLDER / "static" / "meeting-worker.js").read_bytes()
JAVASCRIPT = "text/javascript; charset=utf-8"
# One send carries at most this many records (the page sends the rest next time).
MEETING_ITEMS_COUNT_MAX = 200
MEETING_OPERATIONS = frozenset({"repayment", "contribution"})
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class MeetingLoan:
    loan: LoanRead
    amount_due: int


@dataclass(frozen=True)
class MeetingMember:
    id: uuid.UUID
    name: str
    loans: list[MeetingLoan]


async def meeting_members(ctx: RequestContext, club_id: uuid.UUID) -> list[MeetingMember]:
    """The club's members, each with her loans being repaid and what is due on them now
    (owed up to today, or the instalment falling due later this month)."""
    club = await get_club(ctx, club_id)
    members = await service.club_members(ctx, club_id)
    lent = await service.club_loans(ctx, club, LoanStatus.DISBURSED)
    today = ctx.business_date
    loans: dict[uuid.UUID, list[MeetingLoan]] = {}
    for loan in sorted(lent, key=lambda loan: loan.number):
        line = await service.due_line(ctx, loan, "", today)
        loans.setdefault(loan.member_id, []).append(
            MeetingLoan(loan, line.amount if line else 0))
    return [MeetingMember(m.id, m.name, loans.get(m.id, [])) for m in members]


def synced_at_text(moment: datetime) -> str:
    """dd/mm/yyyy hh:mm in Viet Nam."""
    return moment.astimezone(BUSINESS_TIMEZONE).strftime("%d/%m/%Y %H:%M")


@router.get("/clubs/{club_id}/meeting")
async def meeting_page(request: Request, ctx: Context, club_id: uuid.UUID) -> Response:
    await officer(request, ctx, club_id)
    assert ctx.principal is not None
    club = await get_club(ctx, club_id)
    language = page_language(request)
    # The script's words, unformatted: it fills in {sent}, {reason}… itself.
    words = {key.removeprefix("meeting_js_"): vi if language == "vi" else en
             for key, (vi, en) in WORDS.items() if key.startswith("meeting_js_")}
    response = render(request, "meeting.html", club=club,
                      members=await meeting_members(ctx, club_id),
                      synced_at=synced_at_text(ctx.now), synced_at_iso=ctx.now.isoformat(),
                      today=service.day_text(ctx.business_date), words=words,
                      batch_path=f"/clubs/{club_id}/meeting/batch",
                      person_id=ctx.principal.person_id)
    response.headers["Content-Security-Policy"] = MEETING_POLICY
    # The worker refreshes its copy whenever the page is fetched: no stale copy in the
    # browser's own cache in between.
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/pages/meeting.js")
async def meeting_script() -> Response:
    return Response(SCRIPT, media_type=JAVASCRIPT, headers={"Cache-Control": "no-cache"})


@router.get("/meeting-worker.js")
async def meeting_worker() -> Response:
    """Served from the root so that it may control the meeting pages (it is registered
    with each page's own path as its scope)."""
    return Response(WORKER, media_type=JAVASCRIPT, headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": WORKER_POLICY})


class MeetingItem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=ITEM_KEY_LENGTH_MAX)
    op: str = Field(min_length=1, max_length=40)
    loan_id: uuid.UUID | None = None
    body: dict[str, Any]


class MeetingBatch(BaseModel):
    """What the meeting page sends: its waiting records (the items of a batch)."""

    model_config = ConfigDict(extra="forbid")
    batch_key: str = Field(min_length=1, max_length=ITEM_KEY_LENGTH_MAX)
    items: list[MeetingItem] = Field(min_length=1, max_length=MEETING_ITEMS_COUNT_MAX)


async def meeting_officer(request: Request, ctx: RequestContext, club_id: uuid.UUID,
                          form_token: str | None) -> None:
    """The club's officer, signed in, sending her session's form token; refusals are
    problems (the page's script reads them), not pages."""
    try:
        await officer(request, ctx, club_id)
    except SignInNeeded:
        raise Unauthenticated(Text("sign in again: the web session has ended",
                                   "hãy đăng nhập lại: phiên làm việc đã hết")) from None
    await signin.check_form_token(ctx, form_token)


async def send_meeting(request: Request, ctx: Context, club_id: uuid.UUID, body: MeetingBatch,
                       form_token: Annotated[str | None, Header(alias=CSRF_HEADER)] = None,
                       ) -> JSONResponse:
    """The meeting's records as one `independent` batch, through the batches service."""
    await meeting_officer(request, ctx, club_id, form_token)
    unknown = [index for index, item in enumerate(body.items) if item.op not in MEETING_OPERATIONS]
    if unknown:
        raise ValidationFailed(
            Text("items.{index}.op: the meeting page records repayments and contributions",
                 "items.{index}.op: trang họp chỉ ghi thu trả nợ và thu đóng góp"),
            [{"loc": ["body", "items", str(unknown[0]), "op"], "msg": "not allowed",
              "type": "enum"}], index=unknown[0])
    club = await get_club(ctx, club_id)
    batch = BatchCreate(mode=BatchMode.INDEPENDENT, items=[
        BatchItem.model_validate(item.model_dump()) for item in body.items])
    assert ctx.principal is not None
    answer = await create_batch(ctx, club.fund_id, batch, body.batch_key,
                                page_language(request), keys_owner=ctx.principal.actor)
    return JSONResponse(answer)


# A plain route: whatever it answers is JSON (a problem on refusal), never a page.
router.add_api_route("/clubs/{club_id}/meeting/batch", send_meeting, methods=["POST"],
                     route_class_override=APIRoute)
