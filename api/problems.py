"""The only place that maps errors to HTTP status; every error is an RFC 9457 problem detail."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine import errors

log = structlog.get_logger(__name__)

HTTP_STATUS: dict[type[errors.GreenlaneError], int] = {
    errors.SpecInvalid: 422,
    errors.ConditionInvalid: 422,
    errors.InvalidData: 422,
    errors.GuardFailed: 422,
    errors.IdempotencyKeyReused: 422,
    errors.TransitionNotAllowed: 409,
    errors.VersionConflict: 409,
    errors.IdempotencyInProgress: 409,
    errors.AlreadyExists: 409,
    errors.UnknownHookSource: 404,
    errors.NotFound: 404,
    errors.PermissionDenied: 403,
    errors.WebhookSignatureInvalid: 401,
    errors.Unauthenticated: 401,
    errors.PayloadTooLarge: 413,
}

_HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "permission_denied", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type"}  # fmt: skip


def status_of(error: errors.GreenlaneError) -> int:
    return next((status for kind, status in HTTP_STATUS.items() if isinstance(error, kind)), 500)


def problem(request: Request, status: int, code: str, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"{request.base_url}problems/{code}", "title": title, "status": status,
            "code": code, "detail": detail, "instance": request.url.path, **extra}  # fmt: skip
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


async def _greenlane_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.GreenlaneError)
    status = status_of(exc)
    extra: dict[str, Any] = {"context": exc.context} if status < 500 else {}
    if isinstance(exc, errors.SpecInvalid):
        extra["errors"] = [p.as_dict() for p in exc.problems]
    return problem(request, status, exc.code, exc.message_zh, exc.detail, **extra)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": e["msg"]} for e in exc.errors()]
    detail = "；".join(f"{item['field'] or '请求体'}：{item['message']}" for item in items)
    return problem(request, 422, "invalid_request", "请求格式有误。", f"请求格式有误：{detail}", errors=items)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return problem(request, exc.status_code, code, str(exc.detail), str(exc.detail))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request_failed", path=request.url.path)
    error = errors.GreenlaneError()
    return problem(request, 500, error.code, error.message_zh, error.message_zh)


def install(app: FastAPI) -> None:
    app.add_exception_handler(errors.GreenlaneError, _greenlane_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
