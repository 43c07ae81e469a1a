"""Editing a member from her passbook: the same update the API makes (PATCH on the
member), the form kept with a message next to the field when something is wrong."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.clubs.schemas import MemberUpdate
from service.clubs.service import get_club, member_of_club, update_member
from service.pages import service
from service.pages.endpoints import member_page
from service.pages.rendering import (
    Context,
    PageRoute,
    checked_form,
    officer,
    page_language,
    redirect,
)
from service.pages.service import attempt, problems_of, typed

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/clubs/{club_id}/members/{member_id}/edit")
async def edit_member_form(request: Request, ctx: Context, club_id: uuid.UUID,
                           member_id: uuid.UUID) -> Response:
    await officer(request, ctx, club_id)
    member = await member_of_club(ctx, club_id, member_id)
    form = {"name": member.name, "gender": member.gender.value,
            "birth_year": str(member.birth_year), "status": member.status.value,
            "joined_on": service.day_text(member.joined_on)}
    return member_page(request, await get_club(ctx, club_id), form, member=member)


@router.post("/clubs/{club_id}/members/{member_id}/edit")
async def edit_member(request: Request, ctx: Context, club_id: uuid.UUID,
                      member_id: uuid.UUID) -> Response:
    form = await checked_form(request, ctx)
    await officer(request, ctx, club_id)
    member = await member_of_club(ctx, club_id, member_id)

    async def write() -> Any:
        if not typed(form, "name"):
            raise service.FieldError("name", "required")
        body = MemberUpdate.model_validate({
            "name": typed(form, "name"), "gender": typed(form, "gender") or None,
            "birth_year": service.whole_number_of(form, "birth_year"),
            "status": typed(form, "status") or None,
            "joined_on": service.date_of(form, "joined_on"),
        })
        return await update_member(ctx, club_id, member_id, body)

    outcome = await attempt(ctx, write)
    if isinstance(outcome, Exception):
        return member_page(request, await get_club(ctx, club_id), form,
                           problems_of(outcome, page_language(request)), member=member)
    return redirect(f"/clubs/{club_id}/members/{member_id}?saved=1")
