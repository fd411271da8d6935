"""A batch's idempotency keys: which submissions do work in it, and what the others replay."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from neobank.errors import NeobankError
from neobank.idempotency.service import claim_many, fetch_answer
from neobank.ledger.submission import Answer, Submission

__all__ = ["claim_batch", "replay"]


async def claim_batch(conn: asyncpg.Connection, batch: Sequence[Submission]) -> list[Submission]:
    """Claim the batch's idempotency keys; return the submissions that do work in it.

    A key claimed before (and committed) by another transaction is replayed. Within the batch
    the first submission with a key owns it, and a duplicate replays what that one stores.
    """
    first: dict[tuple[str, str], Submission] = {}
    for sub in batch:
        if sub.claim is not None:
            first.setdefault((sub.claim.scope, sub.claim.key), sub)
    owned = await claim_many(conn, [sub.claim for sub in first.values() if sub.claim])
    return [
        sub
        for sub in batch
        if sub.claim is None
        or (
            (sub.claim.scope, sub.claim.key) in owned
            and first[(sub.claim.scope, sub.claim.key)] is sub
        )
    ]


async def replay(conn: asyncpg.Connection, sub: Submission) -> Answer | NeobankError:
    """The answer stored under a key claimed by another transaction (committed), or by an
    earlier submission of this batch (stored a moment ago in this transaction)."""
    assert sub.claim is not None
    try:
        stored = await fetch_answer(conn, sub.claim)
    except NeobankError as exc:
        return exc
    assert stored is not None, "a key not claimed here must be stored already"
    return Answer(stored, replayed=True)
