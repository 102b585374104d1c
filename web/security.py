"""Browser security: the session cookie, CSRF tokens, and the headers every page carries.

The session cookie holds the same signed, expiring token the API issues (api.services.auth), so a
page and an API call agree on who is logged in and when that ends. CSRF uses a signed double-submit
cookie (OWASP): a random seed in an HttpOnly cookie, and in each form an HMAC of that seed bound to
the session, which another site can neither read nor compute.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response
from starlette.datastructures import FormData
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.services.context import Context

SESSION_COOKIE = "greenlane_session"
CSRF_COOKIE = "greenlane_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

# Only our own assets. Styles allow 'unsafe-inline' because Mermaid writes a <style> into each SVG it draws;
# scripts do not: every script is a file under /static.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
# Swagger UI (/docs, /redoc) loads its own scripts; it gets the other headers but not our CSP.
_WITHOUT_CSP = ("/docs", "/redoc")


class CsrfRejected(Exception):
    """The form's CSRF token is missing or does not match this browser's cookie."""


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        headers = list(_HEADERS)
        if not path.startswith(_WITHOUT_CSP):
            headers.append((b"content-security-policy", CONTENT_SECURITY_POLICY.encode()))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def set_session(response: Response, request: Request, token: str, minutes: int) -> None:
    _set_cookie(response, request, SESSION_COOKIE, token, max_age=minutes * 60)
    _set_cookie(response, request, CSRF_COOKIE, secrets.token_urlsafe(32))  # a new seed per login


def clear_session(response: Response, request: Request) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def csrf_token(request: Request, context: Context) -> str:
    """This browser's token for forms on the page being rendered (creates the seed on first visit)."""
    seed = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf_seed", None)
    if not seed:
        seed = secrets.token_urlsafe(32)
        request.state.new_csrf_seed = seed
    return _sign(context, seed, session_token(request))


def keep_csrf_seed(request: Request, response: Response) -> None:
    """Send the seed a page's token was computed from, if this request created it."""
    seed = getattr(request.state, "new_csrf_seed", None)
    if seed:
        _set_cookie(response, request, CSRF_COOKIE, seed)


def check_csrf(request: Request, context: Context, form: FormData) -> None:
    """Raise CsrfRejected unless the form (or the X-CSRF-Token header) carries this browser's token."""
    seed = request.cookies.get(CSRF_COOKIE)
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not seed or not isinstance(sent, str):
        raise CsrfRejected
    if not hmac.compare_digest(sent, _sign(context, seed, session_token(request))):
        raise CsrfRejected


def _sign(context: Context, seed: str, session: str | None) -> str:
    message = f"csrf|{seed}|{session or ''}".encode()
    return hmac.new(context.settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None = None) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax", secure=secure)
