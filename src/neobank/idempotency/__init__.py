"""Idempotency keys: claimed, answered and replayed atomically with the work they guard."""

from neobank.idempotency.service import (
    Claim,
    InFlight,
    StoredAnswer,
    claim_many,
    fetch_answer,
    request_hash,
    store_many,
)

__all__ = [
    "Claim",
    "InFlight",
    "StoredAnswer",
    "claim_many",
    "fetch_answer",
    "request_hash",
    "store_many",
]
