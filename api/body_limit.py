"""Refuse request bodies over the configured size with a 413 problem, before any handler reads them."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.errors import PayloadTooLarge

# multipart boundaries, part headers and the form's other fields around one uploaded file
UPLOAD_OVERHEAD_BYTES = 65_536


class BodyLimitMiddleware:
    """``max_bytes`` for every body, except a POST to a materials upload path (the API's
    ``/api/v1/applications/{id}/materials`` and the page's ``/applications/{id}/materials``), which may
    carry one file of ``upload_max_bytes`` plus the multipart overhead; the service checks the file's
    exact size against the same setting."""

    def __init__(self, app: ASGIApp, max_bytes: int, upload_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_max_bytes = max(max_bytes, (upload_max_bytes or 0) + UPLOAD_OVERHEAD_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_upload = scope.get("method") == "POST" and str(scope.get("path", "")).endswith("/materials")
        limit = self.upload_max_bytes if is_upload else self.max_bytes
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(scope, send, limit)
            return
        # A chunked body has no Content-Length: read it here, up to the limit, before any handler
        # does (a handler's parser would turn an error raised mid-read into a 400).
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            received += len(message.get("body", b""))
            if received > limit:
                await _refuse(scope, send, limit)
                return
            if message["type"] != "http.request" or not message.get("more_body", False):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


async def _refuse(scope: Scope, send: Send, max_bytes: int) -> None:
    body: dict[str, Any] = {
        "type": "about:blank", "title": PayloadTooLarge.message_zh, "status": 413, "code": PayloadTooLarge.code,
        "detail": f"请求内容超过 {max_bytes} 字节的上限", "instance": scope.get("path", ""),
    }  # fmt: skip
    payload = json.dumps(body, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
