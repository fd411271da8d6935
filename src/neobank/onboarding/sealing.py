"""Resident ids at rest: sealed with AES-256-GCM, found again by a keyed HMAC digest.

The two keys live in ``bank_secrets`` (created once, shared by every process through the
database), like the JWT key. A bank in production would keep them in a KMS or an HSM and
hand the process only a data key; the interface here stays the same.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets

import asyncpg
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from neobank.b64 import b64url_decode, b64url_encode

__all__ = ["Sealer", "load_sealer", "sealer_for"]

AES_KEY_BYTES = 32
GCM_NONCE_BYTES = 12
_SEAL_KEY_NAME = "resident_id_seal_key"
_DIGEST_KEY_NAME = "resident_id_digest_key"
# Bound to the purpose, so a sealed value cannot be replayed into another column.
_ASSOCIATED_DATA = b"neobank:onboarding:resident_id:v1"


class Sealer:
    def __init__(self, seal_key: bytes, digest_key: bytes) -> None:
        self._aead = AESGCM(seal_key)
        self._digest_key = digest_key

    def seal(self, plaintext: str) -> bytes:
        nonce = os.urandom(GCM_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext.encode(), _ASSOCIATED_DATA)

    def open(self, sealed: bytes) -> str:
        nonce, ciphertext = sealed[:GCM_NONCE_BYTES], sealed[GCM_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, _ASSOCIATED_DATA).decode()

    def digest(self, value: str, *, context: str = "resident_id") -> bytes:
        """A keyed digest: equal values give equal digests; nobody without the key can test
        a guess (a 4-digit code or a resident id has too few possibilities for a plain hash)."""
        return hmac.new(self._digest_key, f"{context}|{value}".encode(), hashlib.sha256).digest()


async def _secret(conn: asyncpg.Connection | asyncpg.Pool, name: str) -> bytes:
    await conn.execute(
        "INSERT INTO bank_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name,
        b64url_encode(secrets.token_bytes(AES_KEY_BYTES)),
    )
    value = await conn.fetchval("SELECT value FROM bank_secrets WHERE name = $1", name)
    raw = b64url_decode(value) if isinstance(value, str) else None
    assert raw is not None and len(raw) == AES_KEY_BYTES, f"bank secret {name} is malformed"
    return raw


async def load_sealer(conn: asyncpg.Connection | asyncpg.Pool) -> Sealer:
    return Sealer(await _secret(conn, _SEAL_KEY_NAME), await _secret(conn, _DIGEST_KEY_NAME))


# Per pool (asyncpg pools cannot be weakly referenced): a process has one pool, tests a few.
_sealers: dict[int, tuple[asyncpg.Pool, Sealer]] = {}
SEALERS_KEPT_MAX = 8


async def sealer_for(pool: asyncpg.Pool) -> Sealer:
    """The process's sealer for this database, loaded once."""
    known = _sealers.get(id(pool))
    if known is not None and known[0] is pool:
        return known[1]
    sealer = await load_sealer(pool)
    if len(_sealers) >= SEALERS_KEPT_MAX:
        _sealers.pop(next(iter(_sealers)))
    _sealers[id(pool)] = (pool, sealer)
    return sealer
