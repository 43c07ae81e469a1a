from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from service.context import RequestContext, get_context
from service.errors import DuplicatePhone, InvalidScope, NotFound, UnknownMember, problem_responses
from service.people import service
from service.people.schemas import PersonCreate, PersonRead

router = APIRouter(prefix="/v1/people", tags=["people"])
Context = Annotated[RequestContext, Depends(get_context)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PersonRead,
             responses=problem_responses(InvalidScope, UnknownMember, DuplicatePhone,
                                         (422, "invalid_phone")))
async def create_person(ctx: Context, body: PersonCreate) -> PersonRead:
    """Add a person who holds a role (admin only). Her tokens take her role and scope;
    every write she makes names her (`actor`: `person:<id>`)."""
    return await service.create_person(ctx, body)


@router.get("/{person_id}", response_model=PersonRead, responses=problem_responses(NotFound))
async def get_person(ctx: Context, person_id: uuid.UUID) -> PersonRead:
    """A person in the caller's scope (the people of its clubs, and the caller herself);
    anyone else is not found."""
    return await service.get_person(ctx, person_id)
