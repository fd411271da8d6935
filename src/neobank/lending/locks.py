"""Per-loan serialisation: servicing steps that read a loan's state and then move money
(repayment, close of business, an overdraft charge) run one at a time per loan, across processes.

The lock is a PostgreSQL session advisory lock held on a connection of its own for the whole
step, because the step's money moves in the ledger engine's transaction, not in the caller's:
a transaction-scoped lock would end before the money moved.

That connection comes from the shared pool, and the step inside needs another one (to read
the loan, for the engine's commit): if every pooled connection held a lock, every holder would
wait forever for a second one and the whole process would hang. So each pool admits at most
`lock_holders_max(pool)` holders at a time; the others wait on a semaphore, holding nothing.
A slot is taken before the lock is waited for: steps queued behind one busy loan can delay
other loans' steps in this process (until that loan's steps are done), but never block them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import structlog

__all__ = ["LOAN_LOCK_CLASS", "LOCK_HOLDERS_MAX", "loan_lock", "loan_lock_key", "lock_holders_max"]

log = structlog.get_logger(__name__)

# The two-int advisory lock space (classid, objid) is apart from the one-bigint space used by
# migrations; this classid marks "a loan" ('LOAN' in ASCII).
LOAN_LOCK_CLASS = 0x4C4F414E

# Lock holders per pool at once: a quarter of the pool, at most 4 (the API's pool of 20 and
# the workers' 16 both give 4). Each holder takes two connections (the lock's and its step's),
# so holders use at most half the pool and the rest stays free for requests, the engine's
# commits and the onboarding change feed (which keeps one). Four is enough: a step is a few
# milliseconds of SQL around one engine commit, and the engine batches concurrent commits.
LOCK_HOLDERS_MAX = 4
_POOL_SHARE_DIVISOR = 4

# One semaphore per pool (asyncpg pools cannot be weakly referenced: keyed by id, kept with
# the pool so the id cannot be reused while the entry lives, dropped once the pool closes).
_holders: dict[int, tuple[asyncpg.Pool, asyncio.Semaphore]] = {}


def lock_holders_max(pool: asyncpg.Pool) -> int:
    """How many loan locks `pool` may hold at once (at least 1: a pool needs 2 connections)."""
    return max(1, min(LOCK_HOLDERS_MAX, int(pool.get_max_size()) // _POOL_SHARE_DIVISOR))


def _semaphore(pool: asyncpg.Pool) -> asyncio.Semaphore:
    entry = _holders.get(id(pool))
    if entry is None:
        for key in [k for k, (p, _) in _holders.items() if p.is_closing()]:
            del _holders[key]
        entry = (pool, asyncio.Semaphore(lock_holders_max(pool)))
        _holders[id(pool)] = entry
    return entry[1]


def loan_lock_key(loan_id: uuid.UUID) -> int:
    """The loan's objid: 32 bits of its id (two loans sharing one only wait for each other)."""
    return int.from_bytes(loan_id.bytes[:4], "big", signed=True)


@contextlib.asynccontextmanager
async def loan_lock(pool: asyncpg.Pool, loan_id: uuid.UUID) -> AsyncIterator[None]:
    """Hold the loan's lock for the duration of the block (waits for another holder).

    The connection only holds the lock: do the step's reads and writes on other connections
    (or on the engine), one at a time, and never enter this holding a connection (nor nest
    it): either could take the pool's last connections. If unlocking fails the connection is
    closed, which frees the lock.
    """
    key = loan_lock_key(loan_id)
    async with _semaphore(pool), pool.acquire() as conn:
        try:
            await conn.execute("SELECT pg_advisory_lock($1::int, $2::int)", LOAN_LOCK_CLASS, key)
        except BaseException:
            # Cancelled (or timed out) while waiting: the lock may have been granted anyway.
            conn.terminate()
            raise
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
