"""Admission tokens: proof that the waiting room let a ticket in (PyJWT, HS256, the bank's key).

The token is rebuilt from what the store keeps about the ticket (its jti and admission time), so
every poll of an admitted ticket returns the same token. Single use is the onboarding's job
(its unique ticket column); the waiting room only signs and verifies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jwt

from neobank.onboarding.waiting_room.errors import AdmissionTokenExpired, AdmissionTokenInvalid
from neobank.onboarding.waiting_room.schemas import Admission

__all__ = ["ADMISSION_AUDIENCE", "ADMISSION_TOKEN_TTL_S", "AdmissionSigner"]

ADMISSION_AUDIENCE = "neobank:admission"
ADMISSION_TOKEN_TTL_S = 15 * 60
_ISSUER = "neobank"
_ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["aud", "exp", "iat", "iss", "jti", "sub"]


class AdmissionSigner:
    def __init__(self, signing_key: str) -> None:
        if not signing_key:
            raise ValueError("the admission signing key must not be empty")
        self._key = signing_key

    def sign(self, *, ticket_id: str, jti: str, flow: str, admitted_at: float) -> str:
        issued = int(admitted_at)
        payload = {
            "iss": _ISSUER,
            "aud": ADMISSION_AUDIENCE,
            "sub": ticket_id,
            "jti": jti,
            "flow": flow,
            "iat": issued,
            "exp": issued + ADMISSION_TOKEN_TTL_S,
        }
        return jwt.encode(payload, self._key, algorithm=_ALGORITHM)

    def verify(self, token: str, now: float) -> Admission:
        """Raises AdmissionTokenInvalid (bad signature, audience, shape) or
        AdmissionTokenExpired (a genuine token past its 15 minutes)."""
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                audience=ADMISSION_AUDIENCE,
                issuer=_ISSUER,
                # Expiry is checked below against the room's clock (the one that admitted).
                options={"require": _REQUIRED_CLAIMS, "verify_exp": False, "verify_iat": False},
            )
            ticket_id, flow, expires = payload["sub"], payload.get("flow"), payload["exp"]
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise AdmissionTokenInvalid() from None
        if not isinstance(ticket_id, str) or not isinstance(flow, str):
            raise AdmissionTokenInvalid()
        if not isinstance(expires, int) or isinstance(expires, bool):
            raise AdmissionTokenInvalid()
        if expires <= now:
            raise AdmissionTokenExpired()
        return Admission(ticket_id, flow, datetime.fromtimestamp(expires, UTC))
