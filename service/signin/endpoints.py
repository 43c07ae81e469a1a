from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, status

from service.context import RequestContext, get_context
from service.errors import NotFound, problem_responses
from service.signin import service
from service.signin.schemas import SetupCodeCreated

router = APIRouter(prefix="/v1/people", tags=["people"])
Context = Annotated[RequestContext, Depends(get_context)]


@router.post("/{person_id}/setup-code", status_code=status.HTTP_201_CREATED,
             response_model=SetupCodeCreated, responses=problem_responses(NotFound))
async def create_setup_code(ctx: Context, person_id: uuid.UUID) -> SetupCodeCreated:
    """A one-time code (admin only) with which the person sets her PIN for the web pages:
    8 digits, valid for 7 days, shown once (print it and hand it over). A new code
    replaces the previous one and lifts a sign-in lock-out."""
    return await service.create_setup_code(ctx, person_id)
