"""Refuse request bodies over the configured size with a 413 problem, before any handler reads them."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.errors import PayloadTooLarge


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _refuse(scope, send, self.max_bytes)
            return
        # A chunked body has no Content-Length: read it here, up to the limit, before any handler
        # does (a handler's parser would turn an error raised mid-read into a 400).
        messages: list[Message] = []
        received = 0
        while True:
            message = await receive()
            messages.append(message)
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                await _refuse(scope, send, self.max_bytes)
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
