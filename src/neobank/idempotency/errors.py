"""Idempotency errors (API.md "Conventions")."""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = [
    "IdempotencyError",
    "IdempotencyKeyInUse",
    "IdempotencyKeyMismatch",
    "IdempotencyKeyMissing",
]


class IdempotencyError(NeobankError):
    """Base of the idempotency errors."""


class IdempotencyKeyMissing(IdempotencyError):
    status = 400
    code = "idempotency_key_required"
    title = "An Idempotency-Key header (1-255 printable ASCII characters) is required"


class IdempotencyKeyMismatch(IdempotencyError):
    status = 422
    code = "idempotency_key_mismatch"
    title = "This Idempotency-Key was used with a different request"


class IdempotencyKeyInUse(IdempotencyError):
    status = 409
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is still being processed"
