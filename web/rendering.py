"""Templates, page dependencies, and the route class that turns errors into pages.

Page handlers stay thin: they parse the form, call one service and render. Login, CSRF and the
mapping of service errors to Chinese pages happen here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Depends, Request, Response
from fastapi import Path as PathParameter
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData

from api.problems import status_of
from api.schemas import MAX_ROW_ID
from api.services.auth import actor_from_token
from api.services.context import Context
from engine.errors import GreenlaneError, Unauthenticated
from engine.runner import Actor
from web.security import CsrfRejected, check_csrf, csrf_token, keep_csrf_seed, session_token

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROLE_TITLES = {"admin": "系统管理员", "applicant": "实施主体"}

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def shanghai_time(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") if moment else ""


templates.env.filters["shanghai"] = shanghai_time


class LoginRequired(Exception):
    """No session, or it expired: the browser goes to the login page and comes back."""


def get_context(request: Request) -> Context:
    context: Context = request.app.state.context
    return context


ContextDep = Annotated[Context, Depends(get_context)]
PageRowId = Annotated[int, PathParameter(ge=1, le=MAX_ROW_ID)]


def page_actor(request: Request, context: ContextDep) -> Actor:
    try:
        return actor_from_token(context, session_token(request))
    except Unauthenticated:
        raise LoginRequired from None


PageActor = Annotated[Actor, Depends(page_actor)]


async def verified_form(request: Request) -> FormData:
    """The posted form, after its CSRF token was checked (raises CsrfRejected)."""
    form = await request.form()
    check_csrf(request, get_context(request), form)
    return form


VerifiedForm = Annotated[FormData, Depends(verified_form)]


def render(
    request: Request, template: str, values: dict[str, Any], status_code: int = 200, actor: Actor | None = None
) -> HTMLResponse:
    context = get_context(request)
    values = {"actor": actor, "csrf_token": csrf_token(request, context), "is_admin": _has(actor, "admin"),
              "is_applicant": _has(actor, "applicant"),
              "is_official": actor is not None and bool(actor.roles - {"applicant"}), **values}  # fmt: skip
    response = templates.TemplateResponse(request, template, values, status_code=status_code)
    keep_csrf_seed(request, response)
    return response


def redirect(request: Request, url: str) -> Response:
    """303 for a plain form post; HX-Redirect for an htmx request (htmx follows it with a full page load)."""
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _has(actor: Actor | None, role: str) -> bool:
    return actor is not None and role in actor.roles


def _error_page(request: Request, title: str, detail: str, status_code: int) -> HTMLResponse:
    return render(request, "error.html", {"title": title, "detail": detail}, status_code=status_code)


class PageRoute(APIRoute):
    """Every page route: a missing session redirects to login, a bad CSRF token or a service error is a page."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                target = request.url.path if request.method == "GET" else "/inbox"
                return redirect(request, f"/login?next={quote(target)}")
            except CsrfRejected:
                detail = "页面的安全校验码无效或已过期（CSRF），本次提交未被处理，数据未作任何更改。请刷新页面后重试。"
                return _error_page(request, "安全校验未通过", detail, 403)
            except GreenlaneError as error:
                return _error_page(request, error.message_zh, error.detail, status_of(error))

        return guarded
