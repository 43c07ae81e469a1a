"""Administrative areas with a parent history: creating, re-parenting, dissolving."""

from __future__ import annotations

from datetime import date

import asyncpg

from service.areas import repository
from service.areas.schemas import (
    AreaCreate,
    AreaDissolution,
    AreaLevel,
    AreaParentCreate,
    AreaParentRead,
    AreaRead,
)
from service.audit.service import record_write
from service.context import RequestContext
from service.errors import (
    AreaInUse,
    DuplicateArea,
    InvalidAreaParent,
    NotFound,
    UnknownArea,
)
from service.language import Text
from service.pagination import Page, decode_cursor, make_page, text_key


def valid_on(area: asyncpg.Record, day: date) -> bool:
    return bool(area["valid_from"] <= day and (area["valid_to"] is None or area["valid_to"] > day))


async def check_parent(
    ctx: RequestContext, level: AreaLevel, parent_code: str | None, day: date
) -> None:
    """A province has no parent; a district sits in a province; a commune in a district
    or (since 2025) directly in a province. The parent must exist on `day`."""
    if parent_code is None:
        if level is not AreaLevel.PROVINCE:
            raise InvalidAreaParent(Text("a {level} needs a parent area",
                                         "cấp {level} cần có địa bàn cấp trên"),
                                    level=level.value)
        return
    if level is AreaLevel.PROVINCE:
        raise InvalidAreaParent(Text("a province has no parent area",
                                     "tỉnh không có địa bàn cấp trên"))
    parent = await repository.get_area(ctx.connection, parent_code)
    if parent is None or not valid_on(parent, day):
        raise UnknownArea(Text("area {code} does not exist on {day}",
                               "địa bàn {code} không tồn tại vào ngày {day}"),
                          code=parent_code, day=day.isoformat())
    if AreaLevel(parent["level"]).rank >= level.rank:
        raise InvalidAreaParent(Text("a {parent} cannot contain a {level}",
                                     "cấp {parent} không thể chứa cấp {level}"),
                                parent=parent["level"], level=level.value)


async def create_area(ctx: RequestContext, body: AreaCreate) -> AreaRead:
    if await repository.get_area(ctx.connection, body.code) is not None:
        raise DuplicateArea(Text("area {code} already exists", "địa bàn {code} đã có"),
                            code=body.code)
    await check_parent(ctx, body.level, body.parent_code, body.valid_from)
    await repository.insert_area(
        ctx.connection, code=body.code, name=body.name, level=body.level.value,
        valid_from=body.valid_from, now=ctx.now,
    )
    await repository.insert_parent(ctx.connection, body.code, body.parent_code, body.valid_from)
    await record_write(ctx, None, "area.created", body.model_dump(mode="json"))
    return await get_area(ctx, body.code, body.valid_from)


async def reparent_area(ctx: RequestContext, code: str, body: AreaParentCreate) -> AreaRead:
    """From `valid_from` on, the area sits under `parent_code`; before, under its old parent."""
    area = await repository.get_area(ctx.connection, code, for_update=True)
    if area is None:
        raise NotFound("area", code)
    if not valid_on(area, body.valid_from):
        raise InvalidAreaParent(Text("area {code} does not exist on {day}",
                                     "địa bàn {code} không tồn tại vào ngày {day}"),
                                code=code, day=body.valid_from.isoformat())
    history = await repository.parent_history(ctx.connection, code)
    if history and history[-1]["valid_from"] >= body.valid_from:
        raise InvalidAreaParent(
            Text("area {code} already has a parent from {day}; the history is appended in"
                 " date order",
                 "địa bàn {code} đã có cấp trên từ ngày {day}; lịch sử chỉ ghi tiếp theo thứ"
                 " tự ngày"),
            code=code, day=history[-1]["valid_from"].isoformat(),
        )
    if body.parent_code == code:
        raise InvalidAreaParent(Text("an area cannot contain itself",
                                     "địa bàn không thể chứa chính nó"))
    await check_parent(ctx, AreaLevel(area["level"]), body.parent_code, body.valid_from)
    await repository.close_open_parent(ctx.connection, code, body.valid_from)
    await repository.insert_parent(ctx.connection, code, body.parent_code, body.valid_from)
    await record_write(ctx, None, "area.reparented",
                       {"code": code, **body.model_dump(mode="json")})
    return await get_area(ctx, code, body.valid_from)


async def dissolve_area(ctx: RequestContext, code: str, body: AreaDissolution) -> AreaRead:
    """The area ends on `valid_to` (exclusive). Every child area and club must have been
    moved elsewhere from that date on; the history before it stays."""
    area = await repository.get_area(ctx.connection, code, for_update=True)
    if area is None:
        raise NotFound("area", code)
    if area["valid_to"] is not None:
        raise InvalidAreaParent(Text("area {code} already ended on {day}",
                                     "địa bàn {code} đã kết thúc ngày {day}"),
                                code=code, day=area["valid_to"].isoformat())
    if body.valid_to <= area["valid_from"]:
        raise InvalidAreaParent(Text("an area ends after it begins",
                                     "địa bàn phải kết thúc sau ngày bắt đầu"))
    users = await repository.users_on_or_after(ctx.connection, code, body.valid_to)
    if users:
        raise AreaInUse(
            f"move these out of area {code} from {body.valid_to.isoformat()} first: "
            + ", ".join(users)
        )
    await repository.close_open_parent(ctx.connection, code, body.valid_to)
    await repository.set_area_end(ctx.connection, code, body.valid_to)
    await record_write(ctx, None, "area.dissolved",
                       {"code": code, **body.model_dump(mode="json")})
    return await get_area(ctx, code, area["valid_from"])


async def visible_codes(ctx: RequestContext) -> list[str] | None:
    """The areas the caller may see; None: every area (an admin, or no caller)."""
    principal = ctx.principal
    if principal is None or principal.role == "admin":
        return None
    scope = principal.scope or ""
    scope_area = scope.removeprefix("area:") if scope.startswith("area:") else None
    return await repository.visible_area_codes(
        ctx.connection, ctx.fund_scope, scope_area, ctx.business_date
    )


async def sees_area(ctx: RequestContext, code: str) -> bool:
    """May the caller see this area? Every route that takes an area answers for one it may
    not see exactly as for an unknown one, so that nothing tells a foreign area exists."""
    visible = await visible_codes(ctx)
    return visible is None or code in visible


async def get_area(
    ctx: RequestContext, code: str, as_of: date | None = None, *, checked: bool = False
) -> AreaRead:
    """An area the caller may see (outside its scope: not found, as if it did not exist)."""
    if not checked and not await sees_area(ctx, code):
        raise NotFound("area", code)
    area = await repository.get_area(ctx.connection, code)
    if area is None:
        raise NotFound("area", code)
    day = as_of or ctx.business_date
    history = [
        AreaParentRead(**dict(r)) for r in await repository.parent_history(ctx.connection, code)
    ]
    parent_code = next(
        (p.parent_code for p in history
         if p.valid_from <= day and (p.valid_to is None or p.valid_to > day)),
        None,
    )
    return AreaRead(
        **dict(area), as_of=day, parent_code=parent_code,
        children=await repository.children_as_of(ctx.connection, code, day), parents=history,
    )


async def list_areas(
    ctx: RequestContext, level: AreaLevel | None, limit: int, cursor: str | None
) -> Page[AreaRead]:
    after = decode_cursor(cursor, text_key)
    rows = await repository.list_areas(
        ctx.connection, level.value if level else None, after[0] if after else None,
        limit + 1, await visible_codes(ctx),
    )
    areas = [await get_area(ctx, r["code"], checked=True) for r in rows]
    return make_page(areas, limit, lambda a: [a.code])
