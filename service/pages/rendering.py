"""What every page shares: the templates, rendering in the reader's language, the page
route that answers in HTML whatever happens, and the checks of who is signed in and
whether her form carries its token. Each group of pages is a router of its own that
builds on these."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape

from service.auth.rules import RECORD
from service.clubs.service import get_club
from service.context import RequestContext, get_context
from service.errors import ClubfundError, FormTokenMissing, NotFound
from service.language import Language
from service.pages import service
from service.pages.service import word
from service.people.repository import get_person
from service.signin import service as signin

FOLDER = Path(__file__).resolve().parent
LANGUAGE_COOKIE = "lang"
FORM_COOKIE = "clubfund_form"  # the sign-in forms' token, before there is a session
FORM_FIELDS_MAX = 30
# Pages load nothing from another host, run no script, post only to themselves, and are
# never framed by another site.
PAGE_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
               " frame-ancestors 'none'; base-uri 'none'")
templates = Environment(loader=FileSystemLoader(FOLDER / "templates"),
                        autoescape=select_autoescape(["html"]), trim_blocks=True,
                        lstrip_blocks=True)
templates.globals.update(money=service.money, day=service.day_text)
STYLE = (FOLDER / "static" / "pages.css").read_bytes()


class SignInNeeded(Exception):
    """The page needs a signed-in person: she is sent to the sign-in page."""


def page_language(request: Request) -> Language:
    chosen = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return "en" if chosen == "en" else "vi"


def render(request: Request, name: str, status_code: int = 200, **values: Any) -> HTMLResponse:
    language = page_language(request)
    principal = getattr(request.state, "principal", None)
    html = templates.get_template(name).render(
        language=language, t=lambda key, **v: word(language, key, **v),
        principal=principal, person_name=getattr(request.state, "person_name", None),
        csrf_token=getattr(request.state, "csrf_token", None), path=request.url.path,
        **values,
    )
    response = HTMLResponse(html, status_code=status_code,
                            headers={"Content-Security-Policy": PAGE_POLICY})
    if request.query_params.get("lang") in ("vi", "en"):
        response.set_cookie(LANGUAGE_COOKIE, language, max_age=365 * 86400, httponly=True,
                            samesite="strict", secure=request.url.scheme == "https")
    return response


class PageRoute(APIRoute):
    """A page answers in HTML whatever happens: a visitor who is not signed in goes to
    the sign-in page, a refusal is a page in the reader's language."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInNeeded:
                return RedirectResponse("/sign-in", status_code=303)
            except FormTokenMissing:
                return render(request, "message.html", 403, message_key="csrf")
            except ClubfundError as error:
                if error.status == 404:
                    return render(request, "message.html", 404, message_key="not_found")
                if error.status == 403:
                    return render(request, "message.html", 403, message_key="forbidden")
                raise

        return page_handler


Lang = Annotated[str | None, Query(alias="lang", max_length=2)]


async def page_context(request: Request, lang: Lang = None) -> RequestContext:
    """The request's context; `?lang=vi|en` switches the language (kept in a cookie)."""
    return await get_context(request)


Context = Annotated[RequestContext, Depends(page_context)]


async def signed_in(request: Request, ctx: RequestContext) -> None:
    """Refuse (to the sign-in page) a visitor without an open web session; keep the
    person's name and the form token for the page."""
    csrf_token = await signin.csrf_token_of(ctx)
    if ctx.principal is None or csrf_token is None:
        raise SignInNeeded
    request.state.csrf_token = csrf_token
    person = await get_person(ctx.connection, ctx.principal.person_id)
    request.state.person_name = person["name"] if person else ""


async def officer(request: Request, ctx: RequestContext, club_id: uuid.UUID) -> None:
    """A club's officer: the role may record (as its tokens may) and the club is in
    scope (another club is not found, as in the API)."""
    await signed_in(request, ctx)
    assert ctx.principal is not None
    if not RECORD.allows(ctx.principal.access):
        raise NotFound("club", club_id)
    await get_club(ctx, club_id)


async def read_form(request: Request) -> dict[str, str]:
    form = await request.form(max_files=0, max_fields=FORM_FIELDS_MAX)
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def checked_form(request: Request, ctx: RequestContext) -> dict[str, str]:
    """The posted form of a signed-in person, only with her session's form token."""
    await signed_in(request, ctx)
    form = await read_form(request)
    await signin.check_form_token(ctx, form.get("csrf_token"))
    return form


def redirect(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)
