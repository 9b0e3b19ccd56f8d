"""Refuse oversized requests before they are read: a declared or streamed body over the limit."""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException

from audiofetch_app.web.auth import Receive, Scope, Send

MAX_BODY = 64 * 1024  # JSON requests are small
MAX_UPLOAD = 2 * 1024 * 1024  # multipart uploads (a Telegram .session file is well under)


class TooLarge(HTTPException):
    """Raised from `receive`: FastAPI passes HTTPExceptions through its body parsing."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _sentence(limit))


def _sentence(limit: int) -> str:
    return f"The request is too large (the limit is {limit // 1024} KiB)."


class BodyLimit:
    """ASGI middleware: 413 for bodies over the limit (uploads get a larger one)."""

    def __init__(self, app: Any, max_body: int = MAX_BODY, max_upload: int = MAX_UPLOAD) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        limit = self.max_upload if headers.get("content-type", "").startswith(
            "multipart/") else self.max_body
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await _too_large(send, limit)
            return
        seen = 0
        started = False

        async def counted() -> Any:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge(limit)
            return message

        async def tracking_send(message: Any) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracking_send)
        except TooLarge:
            if not started:
                await _too_large(send, limit)


async def _too_large(send: Send, limit: int) -> None:
    body = json.dumps({"detail": _sentence(limit)}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
