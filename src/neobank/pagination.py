"""Opaque list cursors (API.md "Lists") and page size limits."""

from __future__ import annotations

import re

from neobank.b64 import b64url_decode, b64url_encode
from neobank.errors import NeobankError

__all__ = [
    "PAGE_LIMIT_DEFAULT",
    "PAGE_LIMIT_MAX",
    "InvalidCursor",
    "decode_cursor",
    "encode_cursor",
]

PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 200
_PREFIX = "c1:"
_POSITION = re.compile(re.escape(_PREFIX.encode()) + rb"([0-9]{1,19})")


class InvalidCursor(NeobankError):
    status = 422
    code = "invalid_cursor"
    title = "The cursor is not one this API handed out"


def encode_cursor(position: int) -> str:
    return b64url_encode(f"{_PREFIX}{position}".encode())


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    raw = b64url_decode(cursor)
    # ASCII digits only: str.isdigit() also accepts '²' (which int() refuses: a 500) and
    # other scripts' digits (which int() reads: a cursor this API never handed out).
    match = _POSITION.fullmatch(raw) if raw is not None else None
    if match is None:
        raise InvalidCursor()
    position = int(match[1])
    if position >= 2**63:
        raise InvalidCursor()
    return position
