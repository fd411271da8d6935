"""Running a non-ledger use case under an idempotency key, in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi.responses import Response

from neobank.api.deps import Services
from neobank.api.responses import answer_response
from neobank.db.statement import WriteStatement
from neobank.errors import NeobankError
from neobank.events import Outbox
from neobank.idempotency import (
    KEYS_PRIMARY_KEY,
    Claim,
    StoredAnswer,
    add_new_claims,
    claim_many,
    fetch_answer,
)
from neobank.idempotency.errors import IdempotencyKeyInUse

__all__ = ["Work", "run_idempotent"]

# The use case: its reads and writes on the connection, its events into the outbox; returns
# the answer's body. (The ops and lending use cases still write their events themselves, in
# the same transaction: correct, one statement more each; they are not on a hot path.)
Work = Callable[[asyncpg.Connection, Outbox], Awaitable[Any]]


async def run_idempotent(
    services: Services, claim: Claim, status_code: int, work: Work
) -> Response:
    """Do the work, then store the key with its answer and the work's events in the
    transaction's last statement: a bet that the key is new, which spares each request the
    round trip of claiming it first (a sign-up makes three such requests).

    When the bet loses, the answer is what claiming first would have given:
    - the key is stored already (or being stored by a transaction still open, which the insert
      waits for): the unique violation rolls the work back and the stored answer is replayed
      (or `idempotency_key_mismatch` if it was another request's);
    - the work refuses (a domain error) and the key turns out to be stored: its answer is
      replayed, not the refusal (a completed onboarding's work, run again, finds it closed).

    A domain error rolls everything back, so the client may retry.
    """
    services.inflight.enter(claim)
    try:
        try:
            async with services.pool.acquire() as conn, conn.transaction():
                outbox = Outbox()
                body = await work(conn, outbox)
                answer = StoredAnswer(status_code, body)
                last = WriteStatement()
                outbox.add_to(last)
                add_new_claims(last, [(claim, answer)])
                await last.execute(conn)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != KEYS_PRIMARY_KEY:
                raise
            stored = await fetch_answer(services.pool, claim)
            if stored is None:  # stored and purged in between: as good as still in use
                raise IdempotencyKeyInUse() from exc
            return answer_response(stored, replayed=True)
        except NeobankError:
            stored = await _stored_answer(services.pool, claim)
            if stored is None:
                raise
            return answer_response(stored, replayed=True)
        return answer_response(answer, replayed=False)
    finally:
        services.inflight.leave(claim)


async def _stored_answer(pool: asyncpg.Pool, claim: Claim) -> StoredAnswer | None:
    """The answer stored under the key, once a transaction storing it now has committed;
    None if the key is unused. (Claims the key, to wait for such a transaction, and rolls
    the claim back.)"""
    async with pool.acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            if await claim_many(conn, [claim]):
                return None
            return await fetch_answer(conn, claim)
        finally:
            await transaction.rollback()
