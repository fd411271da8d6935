"""Periodic maintenance jobs. Each run takes a PostgreSQL advisory lock, so however many
processes run workers, one job runs at a time across all of them."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import structlog

from neobank.customers.auth import purge_challenges
from neobank.idempotency.service import purge_expired
from neobank.ledger.engine import LedgerEngine
from neobank.ledger.expiry import void_expired_pendings

__all__ = ["BackgroundWorkers", "Job"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    lock_key: int
    interval_s: float
    run: Callable[[], Awaitable[int]]


class BackgroundWorkers:
    def __init__(self, pool: asyncpg.Pool, engine: LedgerEngine) -> None:
        self._pool = pool
        self.jobs = [
            Job(
                "void_expired_pendings",
                7_261_200_001,
                1.0,
                lambda: void_expired_pendings(pool, engine, datetime.now(UTC)),
            ),
            Job("purge_idempotency_keys", 7_261_200_002, 3600.0, lambda: purge_expired(pool)),
            Job("purge_auth_challenges", 7_261_200_003, 600.0, lambda: purge_challenges(pool)),
        ]
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(job), name=job.name) for job in self.jobs]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def run_once(self, job: Job) -> int | None:
        """Run the job if no other process is running it; None when it was busy elsewhere."""
        async with self._pool.acquire() as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", job.lock_key):
                return None
            try:
                return await job.run()
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", job.lock_key)

    async def _loop(self, job: Job) -> None:
        while True:
            try:
                done = await self.run_once(job)
                if done:
                    log.info("worker.job_done", job=job.name, items=done)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker.job_failed", job=job.name)
            await asyncio.sleep(job.interval_s)
