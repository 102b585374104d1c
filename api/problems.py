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
    if isinstance(exc, errors.SpecInvalid):  # the validator's answer shape (CONTRACT: validate and PUT)
        extra |= {"valid": False, "errors": [p.as_dict() for p in exc.problems]}
    return problem(request, status, exc.code, exc.message_zh, exc.detail, **extra)


# pydantic's error types in the words a clerk reads; an unlisted type keeps pydantic's own text
_PYDANTIC_ZH = {
    "missing": "必填",
    "extra_forbidden": "不允许的字段",
    "string_type": "应为文本",
    "string_too_short": "至少 {min_length} 个字符",
    "string_too_long": "最多 {max_length} 个字符",
    "string_pattern_mismatch": "格式不正确",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "too_short": "至少 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "list_type": "应为列表",
    "dict_type": "应为对象（键值映射）",
    "model_attributes_type": "应为对象（键值映射）",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "date_parsing": "应为日期（如 2026-03-02）",
    "date_from_datetime_parsing": "应为日期（如 2026-03-02）",
    "datetime_parsing": "应为时间（ISO 8601）",
    "json_invalid": "不是有效的 JSON",
    "json_type": "不是有效的 JSON",
    "url_parsing": "应为网址",
}


def _message_zh(error: Any) -> str:
    if error["type"] == "value_error":  # our own validators already speak Chinese
        return str(error["msg"]).removeprefix("Value error, ")
    template = _PYDANTIC_ZH.get(error["type"])
    try:
        return template.format(**error.get("ctx", {})) if template else str(error["msg"])
    except (KeyError, IndexError):
        return str(error["msg"])


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    items = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "message": _message_zh(e)}
             for e in exc.errors()]  # fmt: skip
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
