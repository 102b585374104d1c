"""Admin: user accounts and departments — list, create, disable and enable, reset a password, change roles."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.problems import status_of
from api.services import departments, users
from api.services.context import Context
from engine.errors import AlreadyExists, InvalidData
from engine.runner import Actor
from web.rendering import ContextDep, PageActor, PageRoute, VerifiedForm, redirect, render

router = APIRouter(prefix="/admin/users", route_class=PageRoute, include_in_schema=False)

ACTION_TITLES = {
    "user_created": "创建账号", "user_disabled": "停用账号", "user_enabled": "启用账号",
    "user_password_reset": "重置密码", "user_roles_changed": "变更角色",
}  # fmt: skip
NOTICES = {
    "created": "账号已创建。请将初始密码告知本人。",
    "roles": "角色已更新，立即生效。",
    "password": "密码已重置，该账号原有的登录已失效。请将新密码告知本人。",
    "disabled": "账号已停用：该账号无法再登录，已登录的会话也已失效。",
    "enabled": "账号已启用，可以重新登录。",
    "department": "部门已创建，现在可以为它创建账号。",
}


@router.get("", response_class=HTMLResponse)
def user_list(
    request: Request, context: ContextDep, actor: PageActor, notice: str = "", department: str = ""
) -> HTMLResponse:
    values = _list_values(context, actor)
    values["notice"], values["entered"] = NOTICES.get(notice), {"organisation": department}
    return render(request, "users.html", values, actor=actor)


@router.post("", response_class=HTMLResponse)
def create_user(request: Request, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    entered = {name: str(form.get(name) or "") for name in ("username", "display_name", "organisation")}
    roles = [str(role) for role in form.getlist("roles")]
    new = users.NewUser(entered["username"], entered["display_name"], entered["organisation"], roles,
                        str(form.get("password") or ""))  # fmt: skip
    try:
        created = users.create_user(context, actor, new)
    except (InvalidData, AlreadyExists) as refused:
        values = _list_values(context, actor)
        values["entered"], values["entered_roles"] = entered, roles  # everything but the password comes back
        values["errors"] = {str(refused.context.get("field") or "form"): refused.detail}
        return render(request, "users.html", values, status_code=status_of(refused), actor=actor)
    return redirect(request, f"/admin/users/{created.username}?notice=created")


@router.post("/departments", response_class=HTMLResponse)
def create_department(request: Request, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    entered = {name: str(form.get(name) or "") for name in ("code", "name", "district")}
    try:
        departments.create_organisation(context, actor, entered["code"], entered["name"], entered["district"])
    except (InvalidData, AlreadyExists) as refused:
        values = _list_values(context, actor)
        values["entered_department"] = entered
        values["department_errors"] = {str(refused.context.get("field") or "form"): refused.detail}
        return render(request, "users.html", values, status_code=status_of(refused), actor=actor)
    return redirect(request, f"/admin/users?notice=department&department={entered['code'].strip()}")


@router.get("/{username}", response_class=HTMLResponse)
def user_page(request: Request, username: str, context: ContextDep, actor: PageActor, notice: str = "") -> Response:
    values = _user_values(context, actor, username)
    values["notice"] = NOTICES.get(notice)
    return render(request, "user.html", values, actor=actor)


@router.post("/{username}/roles", response_class=HTMLResponse)
def change_roles(
    request: Request, username: str, context: ContextDep, actor: PageActor, form: VerifiedForm
) -> Response:
    roles = [str(role) for role in form.getlist("roles")]
    try:
        users.change_roles(context, actor, username, roles)
    except InvalidData as refused:
        return _refused(request, context, actor, username, refused, chosen_roles=roles)
    return redirect(request, f"/admin/users/{username}?notice=roles")


@router.post("/{username}/password", response_class=HTMLResponse)
def reset_password(
    request: Request, username: str, context: ContextDep, actor: PageActor, form: VerifiedForm
) -> Response:
    try:
        users.reset_password(context, actor, username, str(form.get("password") or ""))
    except InvalidData as refused:
        return _refused(request, context, actor, username, refused)
    return redirect(request, f"/admin/users/{username}?notice=password")


@router.post("/{username}/disable", response_class=HTMLResponse)
def disable(request: Request, username: str, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    try:
        users.set_active(context, actor, username, is_active=False)
    except InvalidData as refused:
        return _refused(request, context, actor, username, refused)
    return redirect(request, f"/admin/users/{username}?notice=disabled")


@router.post("/{username}/enable", response_class=HTMLResponse)
def enable(request: Request, username: str, context: ContextDep, actor: PageActor, form: VerifiedForm) -> Response:
    users.set_active(context, actor, username, is_active=True)
    return redirect(request, f"/admin/users/{username}?notice=enabled")


def _list_values(context: Context, actor: Actor) -> dict[str, Any]:
    return {
        "users": users.list_users(context, actor), "organisations": departments.list_organisations(context, actor),
        "districts": departments.list_districts(context, actor), "entered_department": {}, "department_errors": {},
        "roles": users.ASSIGNABLE_ROLES, "entered": {}, "entered_roles": [], "errors": {},
    }  # fmt: skip


def _user_values(context: Context, actor: Actor, username: str) -> dict[str, Any]:
    user = users.get_user(context, actor, username)
    return {
        "user": user, "roles": users.ASSIGNABLE_ROLES, "chosen_roles": user.roles, "errors": {}, "notice": None,
        "events": users.account_events(context, actor, username), "action_titles": ACTION_TITLES,
        "is_self": username == actor.username,
    }  # fmt: skip


def _refused(
    request: Request, context: Context, actor: Actor, username: str, refused: InvalidData, **kept: Any
) -> HTMLResponse:
    """The account page again, the reason beside the form that was refused, what was chosen still chosen."""
    values = {**_user_values(context, actor, username), **kept}
    values["errors"] = {str(refused.context.get("field") or "form"): refused.detail}
    return render(request, "user.html", values, status_code=422, actor=actor)
