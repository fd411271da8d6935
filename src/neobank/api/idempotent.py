"""Running a non-ledger use case under an idempotency key, in one transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from fastapi.responses import Response

from neobank.api.deps import Services
from neobank.api.responses import answer_response
from neobank.db.statement import WriteStatement
from neobank.events import Outbox
from neobank.idempotency import Claim, StoredAnswer, add_answers, claim_many, fetch_answer

__all__ = ["Work", "run_idempotent"]

# The use case: its reads and writes on the connection, its events into the outbox; returns
# the answer's body. (The ops and lending use cases still write their events themselves, in
# the same transaction: correct, one statement more each; they are not on a hot path.)
Work = Callable[[asyncpg.Connection, Outbox], Awaitable[Any]]


async def run_idempotent(
    services: Services, claim: Claim, status_code: int, work: Work
) -> Response:
    """Claim the key, do the work, store the answer and commit, all in one transaction; the
    work's events go out in one statement with the answer.

    A domain error rolls everything back, the key included, so the client may retry.
    """
    services.inflight.enter(claim)
    try:
        async with services.pool.acquire() as conn, conn.transaction():
            if not await claim_many(conn, [claim]):
                stored = await fetch_answer(conn, claim)
                assert stored is not None
                return answer_response(stored, replayed=True)
            outbox = Outbox()
            body = await work(conn, outbox)
            answer = StoredAnswer(status_code, body)
            last = WriteStatement()
            outbox.add_to(last)
            add_answers(last, [(claim, answer)])
            await last.execute(conn)
        return answer_response(answer, replayed=False)
    finally:
        services.inflight.leave(claim)
