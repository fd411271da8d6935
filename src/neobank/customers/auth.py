"""Device-bound customer authentication: single-use challenges signed with Ed25519 keys,
answered with short-lived JWTs (PyJWT, HS256, key kept in the database for every process)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import jwt
from cryptography.exceptions import InvalidSignature as CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from neobank.b64 import b64url_decode, b64url_encode
from neobank.customers.errors import (
    DeviceLocked,
    DeviceNotFound,
    InvalidChallenge,
    InvalidSignature,
    Unauthorized,
)
from neobank.events import EventRow, write_events

__all__ = [
    "ACCESS_TOKEN_TTL_S",
    "CHALLENGE_TTL_S",
    "TokenIssuer",
    "issue_challenge",
    "load_signing_key",
    "redeem_challenge",
]

CHALLENGE_TTL_S = 120
CHALLENGE_BYTES = 32
ACCESS_TOKEN_TTL_S = 900
FAILED_SIGNATURES_MAX = 5
LOCKOUT_S = 30 * 60
_JWT_ALGORITHM = "HS256"
_ISSUER = "neobank"


@dataclass(frozen=True)
class TokenClaims:
    customer_id: uuid.UUID
    device_id: uuid.UUID


class TokenIssuer:
    def __init__(self, signing_key: str) -> None:
        self._key = signing_key

    @property
    def signing_key(self) -> str:
        """For other tokens the bank signs (admission, onboarding), each with its audience."""
        return self._key

    def issue(self, customer_id: uuid.UUID, device_id: uuid.UUID, now: datetime) -> str:
        payload = {
            "iss": _ISSUER,
            "sub": str(customer_id),
            "did": str(device_id),
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=ACCESS_TOKEN_TTL_S)).timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=_JWT_ALGORITHM)

    def verify(self, token: str) -> TokenClaims:
        try:
            payload = jwt.decode(
                token,
                self._key,
                algorithms=[_JWT_ALGORITHM],
                issuer=_ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"]},
            )
            return TokenClaims(uuid.UUID(payload["sub"]), uuid.UUID(payload["did"]))
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            raise Unauthorized() from None


async def load_signing_key(conn: asyncpg.Connection | asyncpg.Pool) -> str:
    """The JWT key, created once and shared by every process through the database."""
    await conn.execute(
        "INSERT INTO bank_secrets (name, value) VALUES ('jwt_signing_key', $1) "
        "ON CONFLICT (name) DO NOTHING",
        secrets.token_urlsafe(48),
    )
    value = await conn.fetchval("SELECT value FROM bank_secrets WHERE name = 'jwt_signing_key'")
    assert isinstance(value, str)
    return value


def _check_not_locked(device: asyncpg.Record, now: datetime) -> None:
    if device["locked_until"] is not None and device["locked_until"] > now:
        raise DeviceLocked()


async def issue_challenge(conn: asyncpg.Connection, device_id: uuid.UUID) -> dict[str, Any]:
    now = datetime.now(UTC)
    device = await conn.fetchrow("SELECT locked_until FROM devices WHERE id = $1", device_id)
    if device is None:
        raise DeviceNotFound()
    _check_not_locked(device, now)
    challenge = b64url_encode(secrets.token_bytes(CHALLENGE_BYTES))
    await conn.execute(
        "INSERT INTO auth_challenges (challenge, device_id, expires_at) VALUES ($1, $2, $3)",
        challenge,
        device_id,
        now + timedelta(seconds=CHALLENGE_TTL_S),
    )
    return {"challenge": challenge, "expires_in": CHALLENGE_TTL_S}


async def redeem_challenge(
    conn: asyncpg.Connection,
    issuer: TokenIssuer,
    device_id: uuid.UUID,
    challenge: str,
    signature: str,
) -> dict[str, Any] | DeviceLocked | InvalidSignature:
    """Check a signed challenge. Returns the token, or the error to answer AFTER commit (a
    failed attempt must be counted even though the request fails)."""
    now = datetime.now(UTC)
    device = await conn.fetchrow(
        "SELECT id, customer_id, public_key, failed_attempts, locked_until FROM devices "
        "WHERE id = $1 FOR UPDATE",
        device_id,
    )
    if device is None:
        raise DeviceNotFound()
    _check_not_locked(device, now)
    used = await conn.fetchval(
        "UPDATE auth_challenges SET used_at = $3 WHERE challenge = $1 AND device_id = $2 "
        "AND used_at IS NULL AND expires_at > $3 RETURNING 1",
        challenge,
        device_id,
        now,
    )
    if used is None:
        raise InvalidChallenge()
    if not _verifies(bytes(device["public_key"]), challenge, signature):
        failures = device["failed_attempts"] + 1
        locked_until = (
            now + timedelta(seconds=LOCKOUT_S) if failures >= FAILED_SIGNATURES_MAX else None
        )
        await conn.execute(
            "UPDATE devices SET failed_attempts = $2, locked_until = $3 WHERE id = $1",
            device_id,
            0 if locked_until else failures,
            locked_until,
        )
        if locked_until:
            await write_events(
                conn,
                [
                    EventRow(
                        "device.locked",
                        "customer",
                        str(device["customer_id"]),
                        {"device_id": str(device_id), "locked_until": locked_until.isoformat()},
                    )
                ],
                now,
            )
            return DeviceLocked()
        return InvalidSignature()
    if device["failed_attempts"]:
        await conn.execute("UPDATE devices SET failed_attempts = 0 WHERE id = $1", device_id)
    token = issuer.issue(device["customer_id"], device_id, now)
    return {"access_token": token, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_TTL_S}


def _verifies(public_key: bytes, challenge: str, signature: str) -> bool:
    message = b64url_decode(challenge)
    raw_signature = b64url_decode(signature)
    if message is None or raw_signature is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(raw_signature, message)
    except (CryptoInvalidSignature, ValueError):
        return False
    return True


# Expired challenges are kept this long (for investigating a device's lockout), then purged.
CHALLENGE_RETENTION_HOURS = 24


async def purge_challenges(conn: asyncpg.Connection | asyncpg.Pool) -> int:
    result = await conn.execute(
        "DELETE FROM auth_challenges WHERE expires_at < now() - make_interval(hours => $1)",
        CHALLENGE_RETENTION_HOURS,
    )
    return int(result.split()[-1])
