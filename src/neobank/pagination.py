"""Opaque list cursors (API.md "Lists") and page size limits."""

from __future__ import annotations

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
    try:
        text = raw.decode() if raw is not None else ""
    except UnicodeDecodeError:
        text = ""
    if not text.startswith(_PREFIX) or not text[len(_PREFIX) :].isdigit():
        raise InvalidCursor()
    position = int(text[len(_PREFIX) :])
    if position >= 2**63:
        raise InvalidCursor()
    return position
