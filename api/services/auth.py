"""Passwords (argon2 via pwdlib), expiring signed bearer tokens, and the acting user."""

from __future__ import annotations

from datetime import timedelta

import jwt
from pwdlib import PasswordHash
from sqlmodel import select

from api.db.models import Organisation, User
from api.services.context import Context
from engine.errors import AccountDisabled, PermissionDenied, Unauthenticated
from engine.runner import Actor

_passwords = PasswordHash.recommended()
_ALGORITHM = "HS256"
# Verified when the username is unknown, so a wrong username costs as long as a wrong password.
_DUMMY_HASH = _passwords.hash("greenlane-timing-equaliser")


def require_admin(actor: Actor, doing: str) -> None:
    """Raise PermissionDenied (只有系统管理员可以{doing}) unless ``actor`` is an admin."""
    if "admin" not in actor.roles:
        raise PermissionDenied(f"只有系统管理员可以{doing}")


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def password_matches(password: str, password_hash: str) -> bool:
    return bool(_passwords.verify(password, password_hash))


def issue_token(context: Context, username: str, password: str) -> str:
    """Raises Unauthenticated for an unknown user, a wrong password or a disabled account."""
    with context.db.read() as session:
        user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        _passwords.verify(password, _DUMMY_HASH)
        raise Unauthenticated("用户名或密码错误")
    if not _passwords.verify(password, user.password_hash):
        raise Unauthenticated("用户名或密码错误")
    if not user.is_active:  # said only to whoever knows the password
        raise AccountDisabled("该账号已停用，无法登录。如需恢复，请联系系统管理员。", username=username)
    now = context.clock.now()
    expires = now + timedelta(minutes=context.settings.token_minutes)
    claims = {"sub": user.username, "iat": now, "exp": expires, "gen": user.session_generation}
    return jwt.encode(claims, context.settings.secret_key, algorithm=_ALGORITHM)


def actor_from_token(context: Context, token: str | None) -> Actor:
    """The user a bearer token names; raises Unauthenticated if missing, forged, expired or disabled."""
    if not token:
        raise Unauthenticated("缺少访问令牌（Authorization: Bearer ...）")
    try:
        claims = jwt.decode(
            token,
            context.settings.secret_key,
            algorithms=[_ALGORITHM],
            # expiry is checked below against the service's clock (tests and the demo move it)
            options={"require": ["exp", "sub"], "verify_iat": False, "verify_exp": False},
        )
    except jwt.InvalidTokenError:
        raise Unauthenticated("访问令牌无效") from None
    if claims["exp"] <= context.clock.now().timestamp():
        raise Unauthenticated("访问令牌已过期，请重新登录")
    return actor_by_username(context, str(claims["sub"]), session_generation=int(claims.get("gen", 0)))


def actor_by_username(context: Context, username: str, session_generation: int | None = None) -> Actor:
    """The active user ``username``; with ``session_generation`` (a token's), also refuses a token issued before
    the account's password was reset or the account disabled (re-enabling does not revive old sessions)."""
    with context.db.read() as session:
        row = session.exec(select(User, Organisation).join(Organisation).where(User.username == username)).first()
    if row is None:
        raise Unauthenticated("账号不存在或已停用")
    if not row[0].is_active:  # disabled since the token was issued: every session of it ends now
        raise AccountDisabled("该账号已停用，请联系系统管理员。", username=username)
    user, organisation = row
    if session_generation is not None and session_generation != user.session_generation:
        raise Unauthenticated("密码已重置或账号曾被停用，原登录已失效，请重新登录")
    assert user.id is not None
    return Actor(user.id, user.username, frozenset(user.roles), organisation.code, organisation.district,
                 organisation.name)  # fmt: skip
