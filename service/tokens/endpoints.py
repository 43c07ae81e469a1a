from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from service.context import RequestContext, get_context
from service.errors import InvalidCursor, LastAdminToken, NotFound, UnknownPerson, problem_responses
from service.pagination import Page, page_params
from service.tokens import service
from service.tokens.schemas import TokenCreate, TokenCreated, TokenRead

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])
Context = Annotated[RequestContext, Depends(get_context)]
PageParams = Annotated[tuple[int, str | None], Depends(page_params)]
TokenId = Annotated[str, Path(pattern=r"^tok_[0-9a-f]{16}$")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated,
             responses=problem_responses(UnknownPerson))
async def create_token(ctx: Context, body: TokenCreate) -> TokenCreated:
    """Issue a bearer token (admin only). The token is in this response and nowhere else."""
    return await service.create_token(ctx, body)


@router.get("", response_model=Page[TokenRead], responses=problem_responses(InvalidCursor))
async def list_tokens(ctx: Context, page: PageParams) -> Page[TokenRead]:
    """Every token, without secrets (admin only)."""
    return await service.list_tokens(ctx, *page)


@router.post("/{token_id}/revocation", response_model=TokenRead,
             responses=problem_responses(NotFound, LastAdminToken))
async def revoke_token(ctx: Context, token_id: TokenId) -> TokenRead:
    """Revoke a token: its next request answers 401. Revoking twice changes nothing.
    The last usable admin token is not revoked (409 `last_admin_token`)."""
    return await service.revoke_token(ctx, token_id)
