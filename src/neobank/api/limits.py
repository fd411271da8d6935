"""Request body size limits, enforced before a byte reaches the JSON parser."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import Query
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neobank.errors import problem_document

__all__ = [
    "BATCH_BODY_BYTES_MAX",
    "BODY_BYTES_MAX",
    "LONG_POLL_MS_MAX",
    "BodySizeLimit",
    "wait_ms_query",
]

BODY_BYTES_MAX = 64 * 1024
# 8190 batch items of ~200 bytes, or ~600 with a 140-character Korean memo (UTF-8).
BATCH_BODY_BYTES_MAX = 8 * 1024 * 1024
_LARGE_BODY_PATHS = ("/v1/transfers/batch",)
# A long poll's (`wait_ms`) longest wait: under common proxies' idle timeouts (30-60 s).
LONG_POLL_MS_MAX = 25_000


def wait_ms_query(description: str) -> Any:
    """A long poll's `wait_ms` query parameter: 0 (answer at once) to `LONG_POLL_MS_MAX`."""
    return Query(ge=0, le=LONG_POLL_MS_MAX, description=description)


class _TooLarge(StarletteHTTPException):
    """An HTTPException, so that FastAPI's body parsing passes it on as a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is too large: at most {limit} bytes")


class BodySizeLimit:
    """Refuses (413 problem+json) a body over the limit, whether Content-Length says so or the
    chunks add up to it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = BATCH_BODY_BYTES_MAX if scope["path"] in _LARGE_BODY_PATHS else BODY_BYTES_MAX
        for name, value in scope.get("headers", []):
            if name == b"content-length" and (not value.isdigit() or int(value) > limit):
                await _refuse(send, limit)
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not response_started:
                await _refuse(send, limit)


async def _refuse(send: Send, limit: int) -> None:
    body = orjson.dumps(
        problem_document(
            413, "request_too_large", "The request body is too large", f"at most {limit} bytes"
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
