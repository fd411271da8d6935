"""The onboarding token: a bearer token for one onboarding's later steps (PyJWT, HS256)."""

from __future__ import annotations

import functools
import time
import uuid
from datetime import datetime

import jwt

from neobank.customers.errors import Unauthorized

__all__ = ["VERIFIED_TOKENS_MAX", "issue_onboarding_token", "onboarding_of_token"]

_AUDIENCE = "neobank:onboarding"
_ALGORITHM = "HS256"
# A person's token comes back with each of their ~8 later requests, and PyJWT prepares the
# HMAC key anew at every check (it first tries to load it as a DER key and as a certificate:
# 2.6% of the API process's samples during a sign-up surge). A token that passed once is
# remembered with what it says; its expiry is still checked at every use.
VERIFIED_TOKENS_MAX = 16_384


def issue_onboarding_token(key: str, onboarding_id: uuid.UUID, expires_at: datetime) -> str:
    claims = {"sub": str(onboarding_id), "aud": _AUDIENCE, "exp": int(expires_at.timestamp())}
    return jwt.encode(claims, key, algorithm=_ALGORITHM)


def onboarding_of_token(key: str, token: str, now: float | None = None) -> uuid.UUID:
    """The onboarding the token was issued for; Unauthorized when it is not a valid one (or
    no longer: expired at ``now``, the current time by default)."""
    try:
        onboarding_id, expires = _verified(key, token)
    except (jwt.PyJWTError, KeyError, ValueError, TypeError):
        raise Unauthorized() from None
    if expires <= (time.time() if now is None else now):  # as PyJWT judges `exp`
        raise Unauthorized()
    return onboarding_id


@functools.lru_cache(maxsize=VERIFIED_TOKENS_MAX)
def _verified(key: str, token: str) -> tuple[uuid.UUID, int]:
    """A token's onboarding and expiry, once its signature and audience check out (a refusal
    raises, and is not remembered)."""
    claims = jwt.decode(
        token,
        key,
        algorithms=[_ALGORITHM],
        audience=_AUDIENCE,
        options={"require": ["exp", "sub"], "verify_exp": False},
    )
    expires = claims["exp"]
    if not isinstance(expires, int) or isinstance(expires, bool):
        raise TypeError("exp is not a number of seconds")
    return uuid.UUID(claims["sub"]), expires
