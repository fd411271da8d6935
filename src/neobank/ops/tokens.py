"""Ops users' bearer tokens: 32 random bytes shown once, kept only as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["TOKEN_BYTES", "new_token", "token_digest"]

TOKEN_BYTES = 32


def token_digest(token: str) -> bytes:
    # A plain (unsalted) hash is enough: the token is 256 random bits, not a password, so
    # there is nothing to guess from the digest; and it lets a request find its user by index.
    return hashlib.sha256(token.encode()).digest()


def new_token() -> tuple[str, bytes]:
    """A new token (base64url, to show once) and the digest to store."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, token_digest(token)
