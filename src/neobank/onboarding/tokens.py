"""The onboarding token: a bearer token for one onboarding's later steps (PyJWT, HS256)."""

from __future__ import annotations

import uuid
from datetime import datetime

import jwt

from neobank.customers.errors import Unauthorized

__all__ = ["issue_onboarding_token", "onboarding_of_token"]

_AUDIENCE = "neobank:onboarding"
_ALGORITHM = "HS256"


def issue_onboarding_token(key: str, onboarding_id: uuid.UUID, expires_at: datetime) -> str:
    claims = {"sub": str(onboarding_id), "aud": _AUDIENCE, "exp": int(expires_at.timestamp())}
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


def onboarding_of_token(key: str, token: str) -> uuid.UUID:
    """The onboarding the token was issued for; Unauthorized when it is not a valid one."""
    try:
        claims = jwt.decode(token, key, algorithms=[_ALGORITHM], audience=_AUDIENCE)
        return uuid.UUID(claims["sub"])
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise Unauthorized() from None
