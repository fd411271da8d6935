"""Running a non-ledger use case under an idempotency key, in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi.responses import Response

from neobank.api.deps import Services
from neobank.api.responses import answer_response
from neobank.idempotency import Claim, StoredAnswer, claim_many, fetch_answer, store_many

__all__ = ["run_idempotent"]

Work = Callable[[asyncpg.Connection], Awaitable[Any]]


async def run_idempotent(
    services: Services, claim: Claim, status_code: int, work: Work
) -> Response:
    """Claim the key, do the work, store the answer and commit, all in one transaction.

    A domain error rolls everything back, the key included, so the client may retry.
    """
    services.inflight.enter(claim)
    try:
        async with services.pool.acquire() as conn, conn.transaction():
            if not await claim_many(conn, [claim]):
                stored = await fetch_answer(conn, claim)
                assert stored is not None
                return answer_response(stored, replayed=True)
            body = await work(conn)
            answer = StoredAnswer(status_code, body)
            await store_many(conn, [(claim, answer)])
        return answer_response(answer, replayed=False)
    finally:
        services.inflight.leave(claim)
