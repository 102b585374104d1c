"""User accounts (admin): create, disable and enable, reset a password, change roles.

Every change is an event in the audit trail (the global hash chain, with no application) and a log
line; neither ever holds a password or its hash. A disabled account cannot log in, and its tokens
and page sessions stop working at their next request (auth.actor_by_username checks each time);
disabling and resetting the password raise ``session_generation``, so those tokens stay dead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlmodel import Session, col, select

from api.db.models import AuditEvent, Organisation, User
from api.services.audit_trail import append_event
from api.services.auth import hash_password, require_admin
from api.services.context import Context
from engine.errors import AlreadyExists, InvalidData, NotFound
from engine.roles import ROLE_TITLES
from engine.runner import Actor

log = structlog.get_logger(__name__)

# every role a workflow may name, except the scheduler's own
ASSIGNABLE_ROLES: dict[str, str] = {role: title for role, title in ROLE_TITLES.items() if role != "system"}
ACCOUNT_ACTIONS = ("user_created", "user_disabled", "user_enabled", "user_password_reset", "user_roles_changed")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128


@dataclass(frozen=True)
class NewUser:
    username: str
    display_name: str
    organisation: str  # the organisation's code
    roles: list[str]
    password: str


@dataclass(frozen=True)
class UserView:
    username: str
    display_name: str
    organisation: str
    organisation_name: str
    district: str | None
    roles: list[str]
    is_active: bool
    created_at: datetime


def list_users(context: Context, actor: Actor) -> list[UserView]:
    """Every account, by username; raises PermissionDenied for non-admins."""
    require_admin(actor, "管理用户和部门")
    with context.db.read() as session:
        query = select(User, Organisation).join(Organisation).order_by(col(User.username))
        return [_view(user, organisation) for user, organisation in session.exec(query).all()]


def get_user(context: Context, actor: Actor, username: str) -> UserView:
    require_admin(actor, "管理用户和部门")
    with context.db.read() as session:
        return _view(*_user_row(session, username))


def account_events(context: Context, actor: Actor, username: str) -> list[AuditEvent]:
    """The audit events of changes to one account, newest first."""
    require_admin(actor, "管理用户和部门")
    with context.db.read() as session:
        query = select(AuditEvent).where(
            col(AuditEvent.application_id).is_(None), col(AuditEvent.action).in_(ACCOUNT_ACTIONS)
        )
        events = session.exec(query.order_by(col(AuditEvent.seq).desc())).all()
    # filtered here: JSON lookups differ between SQLite and PostgreSQL, and account changes are few
    return [event for event in events if event.data.get("username") == username]


def create_user(context: Context, actor: Actor, new: NewUser) -> UserView:
    """Raises InvalidData naming the field (username, display_name, organisation, roles, password), AlreadyExists."""
    require_admin(actor, "管理用户和部门")
    username, display_name = new.username.strip(), new.display_name.strip()
    if not USERNAME.match(username):
        raise InvalidData("用户名须为 2–64 位小写字母、数字、点、下划线或连字符，并以字母或数字开头", field="username")
    if not display_name or len(display_name) > 128:
        raise InvalidData("请填写姓名或单位显示名（不超过 128 字）", field="display_name")
    roles = _checked_roles(new.roles)
    _check_password(new.password, username)
    with context.db.write() as session:
        if session.exec(select(User.id).where(User.username == username)).first() is not None:
            raise AlreadyExists(f"用户名 '{username}' 已被使用，请换一个", field="username", username=username)
        organisation = _organisation(session, new.organisation)
        assert organisation.id is not None
        user = User(
            username=username, display_name=display_name, password_hash=hash_password(new.password),
            organisation_id=organisation.id, roles=roles, created_at=context.clock.now(),
        )  # fmt: skip
        session.add(user)
        session.flush()
        _record(session, context, actor, "user_created", user, organisation=organisation.code, roles=roles)
        return _view(user, organisation)


def set_active(context: Context, actor: Actor, username: str, is_active: bool) -> UserView:
    """Disable or enable an account; an admin cannot disable their own. Raises NotFound, InvalidData."""
    require_admin(actor, "管理用户和部门")
    if username == actor.username and not is_active:
        raise InvalidData("不能停用自己正在使用的账号", field="username")
    with context.db.write() as session:
        user, organisation = _user_row(session, username)
        if user.is_active != is_active:
            user.is_active = is_active
            user.session_generation += 0 if is_active else 1  # its sessions stay ended when enabled again
            session.add(user)
            _record(session, context, actor, "user_enabled" if is_active else "user_disabled", user)
        return _view(user, organisation)


def reset_password(context: Context, actor: Actor, username: str, password: str) -> UserView:
    """Set a new password (the admin hands it over); raises NotFound, InvalidData for a weak one."""
    require_admin(actor, "管理用户和部门")
    _check_password(password, username)
    with context.db.write() as session:
        user, organisation = _user_row(session, username)
        user.password_hash = hash_password(password)
        user.session_generation += 1  # whoever logged in with the old password is logged out
        session.add(user)
        _record(session, context, actor, "user_password_reset", user)
        return _view(user, organisation)


def change_roles(context: Context, actor: Actor, username: str, roles: list[str]) -> UserView:
    """Replace an account's roles; an admin cannot take the admin role from themselves."""
    require_admin(actor, "管理用户和部门")
    checked = _checked_roles(roles)
    if username == actor.username and "admin" not in checked:
        raise InvalidData("不能取消自己的系统管理员角色", field="roles")
    with context.db.write() as session:
        user, organisation = _user_row(session, username)
        before = list(user.roles)
        if before != checked:
            user.roles = checked
            session.add(user)
            _record(session, context, actor, "user_roles_changed", user, roles_before=before, roles=checked)
        return _view(user, organisation)


def _checked_roles(roles: list[str]) -> list[str]:
    chosen = list(dict.fromkeys(role.strip() for role in roles if role.strip()))
    if not chosen:
        raise InvalidData("请至少选择一个角色", field="roles")
    unknown = [role for role in chosen if role not in ASSIGNABLE_ROLES]
    if unknown:
        raise InvalidData(f"未知角色 '{unknown[0]}'", field="roles", roles=unknown)
    return chosen


def _check_password(password: str, username: str) -> None:
    weak = (
        len(password) < MIN_PASSWORD_LENGTH
        or not re.search(r"[A-Za-z]", password)
        or not re.search(r"[0-9]", password)
        or (bool(username) and username.lower() in password.lower())
    )
    if weak:
        raise InvalidData(
            f"密码至少 {MIN_PASSWORD_LENGTH} 位，须同时包含字母和数字，且不能包含用户名", field="password"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidData(f"密码不能超过 {MAX_PASSWORD_LENGTH} 位", field="password")


def _organisation(session: Session, code: str) -> Organisation:
    organisation = session.exec(select(Organisation).where(Organisation.code == code.strip())).first()
    if organisation is None:
        raise InvalidData(f"未知单位 '{code}'", field="organisation", organisation=code)
    return organisation


def _user_row(session: Session, username: str) -> tuple[User, Organisation]:
    row = session.exec(select(User, Organisation).join(Organisation).where(User.username == username)).first()
    if row is None:
        raise NotFound(f"未找到用户 '{username}'", username=username)
    return row[0], row[1]


def _record(session: Session, context: Context, actor: Actor, action: str, user: User, **facts: Any) -> None:
    """The admin's change in the audit trail and the log: who changed which account, never a password."""
    data = {"username": user.username, **facts}
    append_event(
        session, at=context.clock.now(), actor=actor, application_id=None, action=action,
        from_state=None, to_state=None, data=data,
    )  # fmt: skip
    log.info(action, admin=actor.username, **data)


def _view(user: User, organisation: Organisation) -> UserView:
    return UserView(
        user.username, user.display_name, organisation.code, organisation.name, organisation.district,
        list(user.roles), user.is_active, user.created_at,
    )  # fmt: skip
