"""Login and logout with a session cookie."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.services import auth
from engine.errors import Unauthenticated
from web.rendering import ContextDep, PageRoute, VerifiedForm, redirect, render
from web.security import clear_session, set_session

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def _local(target: object) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if isinstance(target, str) and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/inbox"


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/inbox") -> HTMLResponse:
    return render(request, "login.html", {"next": _local(next), "username": "", "error": None})


@router.post("/login")
def login(request: Request, context: ContextDep, form: VerifiedForm) -> Response:
    username = str(form.get("username") or "").strip()
    target = _local(form.get("next"))
    try:
        token = auth.issue_token(context, username, str(form.get("password") or ""))
    except Unauthenticated as error:
        values = {"next": target, "username": username, "error": error.detail}
        return render(request, "login.html", values, status_code=401)
    response = redirect(request, target)
    set_session(response, request, token, context.settings.token_minutes)
    return response


@router.post("/logout")
def logout(request: Request, form: VerifiedForm) -> Response:
    response = redirect(request, "/login")
    clear_session(response, request)
    return response
