"""Refusing JSON bodies whose strings PostgreSQL cannot store.

A NUL character (`\\u0000`) and a lone UTF-16 surrogate (`\\ud800`) are valid JSON, so they
pass every schema, and then PostgreSQL refuses the NUL (in text and in jsonb) and the
surrogate cannot even be encoded as UTF-8: a 500, or a whole ledger batch failed, from any
string field of any domain. One check here covers every route: the raw body is scanned for
those escapes (fast, no parsing), and only a body that has one is parsed and walked.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neobank.errors import problem_document

__all__ = ["StorableText"]

_METHODS_WITH_BODIES = frozenset({"POST", "PUT", "PATCH"})
# The escapes that may decode to something unstorable; raw bytes cannot (raw control
# characters are invalid JSON, raw surrogates are invalid UTF-8: the parser refuses both).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class StorableText:
    """Answers 422 problem+json to a JSON body with a NUL or a lone surrogate in a string.

    It reads the body before the route does (the route would read it whole anyway); place it
    inside the body size limit, which bounds what it may read.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _METHODS_WITH_BODIES:
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away before sending its body
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if _SUSPECT_ESCAPE.search(body):
            location = _unstorable_location(body)
            if location is not None:
                await _refuse(send, location)
                return
        await self.app(scope, _replay(body, receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # after the body: disconnects and the like
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _unstorable_location(body: bytes) -> list[str] | None:
    """Where the first unstorable string is, or None. A body that is not JSON is left to the
    route, which answers it as such."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    stack: list[tuple[Any, list[str]]] = [(document, ["body"])]
    while stack:  # iterative: the nesting depth is the client's choice
        value, path = stack.pop()
        if isinstance(value, str):
            if _UNSTORABLE.search(value):
                return path
        elif isinstance(value, dict):
            for name, item in value.items():
                if _UNSTORABLE.search(name):
                    return path
                stack.append((item, [*path, name]))
        elif isinstance(value, list):
            stack.extend((item, [*path, str(index)]) for index, item in enumerate(value))
    return None


async def _refuse(send: Send, location: list[str]) -> None:
    message = "text must not contain NUL characters or unpaired surrogates"
    body = orjson.dumps(
        problem_document(
            422,
            "validation_error",
            "The request is not valid",
            f"{'.'.join(location)}: {message}",
            errors=[{"location": location, "message": message, "type": "string_unstorable"}],
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 422,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
