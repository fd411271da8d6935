"""Idempotency keys: claimed, answered and replayed atomically with the work they guard."""

from neobank.idempotency.service import (
    KEY_RETENTION_HOURS,
    KEYS_PRIMARY_KEY,
    Claim,
    InFlight,
    StoredAnswer,
    add_answers,
    add_new_claims,
    claim_many,
    fetch_answer,
    purge_expired,
    request_hash,
    store_many,
)

__all__ = [
    "KEYS_PRIMARY_KEY",
    "KEY_RETENTION_HOURS",
    "Claim",
    "InFlight",
    "StoredAnswer",
    "add_answers",
    "add_new_claims",
    "claim_many",
    "fetch_answer",
    "purge_expired",
    "request_hash",
    "store_many",
]
