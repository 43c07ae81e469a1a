"""Clubs (each with its income fund and default chart of accounts) and members."""

from __future__ import annotations

import uuid
from datetime import date

from ledger.chart import DEFAULT_CHART
from service.accounts import repository as accounts
from service.areas import repository as areas
from service.areas.schemas import AreaLevel
from service.areas.service import sees_area, valid_on
from service.audit.schemas import AuditStamp
from service.audit.service import record_write
from service.clubs import repository
from service.clubs.schemas import (
    ClubCreate,
    ClubMove,
    ClubRead,
    MemberCreate,
    MemberRead,
    MemberUpdate,
)
from service.context import RequestContext
from service.errors import InvalidAreaParent, NotFound, UnknownArea, ValidationFailed
from service.funds import repository as funds
from service.ids import new_id
from service.language import Text
from service.pagination import Page, decode_cursor, make_page, uuid_key

FUND_CURRENCY = "VND"


async def check_commune(ctx: RequestContext, area_code: str, day: date) -> None:
    area = await areas.get_area(ctx.connection, area_code)
    if area is None or not valid_on(area, day):
        raise UnknownArea(Text("area {code} does not exist on {day}",
                               "địa bàn {code} không tồn tại vào ngày {day}"),
                          code=area_code, day=day.isoformat())
    if area["level"] != AreaLevel.COMMUNE.value:
        raise InvalidAreaParent(Text("a club belongs to a commune; {code} is a {level}",
                                     "câu lạc bộ thuộc một xã; {code} là cấp {level}"),
                                code=area_code, level=area["level"])


async def create_club(ctx: RequestContext, body: ClubCreate) -> ClubRead:
    """The club, its area history's first row, its income fund and the default chart."""
    established_on = body.established_on or ctx.business_date
    await check_commune(ctx, body.area_code, established_on)
    club_id, fund_id = new_id(), new_id()
    ctx.writes_to_fund(fund_id)
    await repository.insert_club(
        ctx.connection, club_id=club_id, name=body.name, area_code=body.area_code,
        established_on=established_on, now=ctx.now,
    )
    fund_name = f"Quỹ tăng thu nhập {body.name}"[:200]
    await funds.insert_fund(ctx.connection, fund_id, fund_name, FUND_CURRENCY, ctx.now, club_id)
    chart = [(new_id(), account) for account in DEFAULT_CHART]
    await accounts.insert_accounts(
        ctx.connection, fund_id=fund_id, account_ids=[i for i, _ in chart],
        codes=[a.code for _, a in chart], names=[a.name for _, a in chart],
        types=[a.type.value for _, a in chart],
        normal_sides=[a.type.normal_side.value for _, a in chart],
        allow_negatives=[a.allow_negative for _, a in chart],
        currency=FUND_CURRENCY, now=ctx.now,
    )
    club = await get_club(ctx, club_id)
    await record_write(ctx, fund_id, "club.created", {
        **club.model_dump(mode="json"),
        "fund": {"id": str(fund_id), "name": fund_name, "currency": FUND_CURRENCY},
        "accounts": [
            {"id": str(i), "code": a.code, "name": a.name, "type": a.type.value,
             "allow_negative": a.allow_negative}
            for i, a in chart
        ],
    })
    return club


async def get_club(ctx: RequestContext, club_id: uuid.UUID) -> ClubRead:
    record = await repository.get_club(ctx.connection, club_id)
    if record is None or record["fund_id"] is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("club", club_id)
    return ClubRead(**repository.club_values(record))


async def list_clubs(
    ctx: RequestContext, area_code: str | None, as_of: date | None, limit: int,
    cursor: str | None,
) -> Page[ClubRead]:
    day = as_of or ctx.business_date
    codes = None
    if area_code is not None:
        codes = await areas.area_subtree_codes(ctx.connection, area_code, day)
        if not codes or not await sees_area(ctx, area_code):
            raise UnknownArea(Text("area {code} not found", "không tìm thấy địa bàn {code}"),
                              code=area_code)
    after = decode_cursor(cursor, uuid_key)
    rows = await repository.list_clubs(
        ctx.connection, codes, day, after[0] if after else None, limit + 1,
        ctx.fund_scope,
    )
    return make_page(
        [ClubRead(**repository.club_values(r)) for r in rows], limit, lambda c: [str(c.id)]
    )


async def move_club(ctx: RequestContext, club_id: uuid.UUID, body: ClubMove) -> ClubRead:
    """From `valid_from` on the club belongs to another commune; its history stays."""
    record = await repository.get_club(ctx.connection, club_id, for_update=True)
    if record is None or record["fund_id"] is None or not ctx.sees_fund(record["fund_id"]):
        raise NotFound("club", club_id)
    club = ClubRead(**repository.club_values(record))
    if club.areas and club.areas[-1].valid_from >= body.valid_from:
        raise ValidationFailed(
            Text("the club is in {code} from {day}; a move must come after that",
                 "câu lạc bộ thuộc {code} từ ngày {day}; lần chuyển mới phải sau ngày đó"),
            code=club.areas[-1].area_code, day=club.areas[-1].valid_from.isoformat(),
        )
    await check_commune(ctx, body.area_code, body.valid_from)
    ctx.writes_to_fund(club.fund_id)
    await repository.move_club(ctx.connection, club_id, body.area_code, body.valid_from)
    await record_write(ctx, club.fund_id, "club.moved",
                       {"club_id": str(club_id), **body.model_dump(mode="json")})
    return await get_club(ctx, club_id)


def check_member_facts(
    ctx: RequestContext, birth_year: int | None, joined_on: date | None
) -> None:
    """A member was born and joined no later than today."""
    if joined_on is not None:
        ctx.past_date(joined_on, "joined_on")
    if birth_year is not None and birth_year > ctx.business_date.year:
        raise ValidationFailed(
            Text("birth_year is in the future", "năm sinh (birth_year) ở tương lai"),
            errors=[{"loc": ["body", "birth_year"], "msg": "birth_year is in the future",
                     "type": "less_than_equal"}])


async def create_member(
    ctx: RequestContext, club_id: uuid.UUID, body: MemberCreate
) -> MemberRead:
    club = await get_club(ctx, club_id)
    check_member_facts(ctx, body.birth_year, body.joined_on)
    ctx.writes_to_fund(club.fund_id)
    record = await repository.insert_member(
        ctx.connection, member_id=new_id(), club_id=club_id, name=body.name,
        gender=body.gender.value, birth_year=body.birth_year, status=body.status.value,
        joined_on=body.joined_on, now=ctx.now,
    )
    member = MemberRead(**dict(record))
    stamp = await record_write(ctx, club.fund_id, "member.created",
                               member.model_dump(mode="json", exclude={"audit"}))
    member.audit = AuditStamp(**stamp)
    return member


async def list_members(
    ctx: RequestContext, club_id: uuid.UUID, limit: int, cursor: str | None
) -> Page[MemberRead]:
    await get_club(ctx, club_id)
    after = decode_cursor(cursor, uuid_key)
    rows = await repository.list_members(
        ctx.connection, club_id, after[0] if after else None, limit + 1
    )
    return make_page([MemberRead(**dict(r)) for r in rows], limit, lambda m: [str(m.id)])


async def update_member(
    ctx: RequestContext, club_id: uuid.UUID, member_id: uuid.UUID, body: MemberUpdate
) -> MemberRead:
    """Change a member's name, gender, birth year, status or joining date. The change is
    one `member.updated` record in the club's fund's log (the member as she is now and
    the fields that changed); a request that changes nothing writes nothing."""
    club = await get_club(ctx, club_id)
    changes = body.changes()
    if not changes:
        raise ValidationFailed(Text("nothing to change: give at least one of name, gender,"
                                    " birth_year, status, joined_on",
                                    "không có gì để sửa: hãy gửi ít nhất một trong name,"
                                    " gender, birth_year, status, joined_on"))
    check_member_facts(ctx, body.birth_year, body.joined_on)
    ctx.writes_to_fund(club.fund_id)
    record = await repository.get_member_for_update(ctx.connection, member_id)
    if record is None or record["club_id"] != club_id:
        raise NotFound("member", member_id)
    before = MemberRead(**dict(record))
    after = before.model_copy(update=changes)
    changed = sorted(name for name in changes if getattr(before, name) != getattr(after, name))
    if not changed:
        return await member_of_club(ctx, club_id, member_id)
    updated = MemberRead(**dict(await repository.update_member(
        ctx.connection, member_id, name=after.name, gender=after.gender.value,
        birth_year=after.birth_year, status=after.status.value, joined_on=after.joined_on,
    )))
    stamp = await record_write(ctx, club.fund_id, "member.updated", {
        **updated.model_dump(mode="json", exclude={"audit"}), "changed": changed})
    updated.audit = AuditStamp(**stamp)
    return updated


async def member_of_club(
    ctx: RequestContext, club_id: uuid.UUID, member_id: uuid.UUID
) -> MemberRead:
    """A member of a club in the caller's scope (another club's member is not found)."""
    await get_club(ctx, club_id)
    record = await repository.get_member(ctx.connection, member_id)
    if record is None or record["club_id"] != club_id:
        raise NotFound("member", member_id)
    return MemberRead(**dict(record))
