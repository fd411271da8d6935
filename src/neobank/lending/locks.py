"""Per-loan serialisation: servicing steps that read a loan's state and then move money
(repayment, close of business, an overdraft charge) run one at a time per loan, across processes.

The lock is a PostgreSQL session advisory lock held on a connection of its own for the whole
step, because the step's money moves in the ledger engine's transaction, not in the caller's:
a transaction-scoped lock would end before the money moved.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import structlog

__all__ = ["LOAN_LOCK_CLASS", "loan_lock", "loan_lock_key"]

log = structlog.get_logger(__name__)

# The two-int advisory lock space (classid, objid) is apart from the one-bigint space used by
# migrations; this classid marks "a loan" ('LOAN' in ASCII).
LOAN_LOCK_CLASS = 0x4C4F414E


def loan_lock_key(loan_id: uuid.UUID) -> int:
    """The loan's objid: 32 bits of its id (two loans sharing one only wait for each other)."""
    return int.from_bytes(loan_id.bytes[:4], "big", signed=True)


@contextlib.asynccontextmanager
async def loan_lock(pool: asyncpg.Pool, loan_id: uuid.UUID) -> AsyncIterator[None]:
    """Hold the loan's lock for the duration of the block (waits for another holder).

    The connection only holds the lock: do the step's reads and writes on other connections
    (or on the engine). If unlocking fails the connection is closed, which frees the lock.
    """
    key = loan_lock_key(loan_id)
    async with pool.acquire() as conn:
        await conn.execute("SELECT pg_advisory_lock($1::int, $2::int)", LOAN_LOCK_CLASS, key)
        try:
            yield
        finally:
            try:
                await conn.execute(
                    "SELECT pg_advisory_unlock($1::int, $2::int)", LOAN_LOCK_CLASS, key
                )
            except BaseException:
                # A pooled connection must never go back holding a session lock.
                log.warning("lending.loan_unlock_failed", loan_id=str(loan_id))
                conn.terminate()
                raise
