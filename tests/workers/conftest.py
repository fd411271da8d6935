"""Fixtures for the job queue tests: the test blueprint, resources, and real JobWorkers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from neobank.db.pool import create_pool
from neobank.ledger.engine import LedgerEngine
from neobank.workers.queue import JobResources
from neobank.workers.tasks import load_blueprints
from neobank.workers.worker import JobWorker
from tests.workers import jobs

EVENTUALLY_TIMEOUT_S = 10.0
EVENTUALLY_POLL_S = 0.02

load_blueprints([jobs.PATH])


@pytest.fixture
async def effects(db: asyncpg.Connection) -> asyncpg.Connection:
    """The test database with the job_effects table the test tasks write to."""
    await db.execute(jobs.EFFECTS_TABLE)
    return db


@pytest.fixture
async def resources(database_url: str) -> AsyncIterator[JobResources]:
    pool = await create_pool(database_url, min_size=1, max_size=8)
    engine = LedgerEngine(pool)
    await engine.start()
    yield JobResources(pool=pool, engine=engine, agencies=None, waiting_room=None)  # type: ignore[arg-type]
    await engine.stop()
    await pool.close()


WorkerFactory = Callable[..., Awaitable[JobWorker]]


@pytest.fixture
async def start_worker(database_url: str, resources: JobResources) -> AsyncIterator[WorkerFactory]:
    """Start a JobWorker on the test database; whatever is still running is stopped after."""
    started: list[JobWorker] = []

    async def start(**options: Any) -> JobWorker:
        worker = JobWorker(database_url, resources, **options)
        await worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        await worker.stop()


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout_s: float = EVENTUALLY_TIMEOUT_S
) -> Any:
    """Poll `check` until it returns something truthy; fail after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout_s} s: {check}")
        await asyncio.sleep(EVENTUALLY_POLL_S)


async def keys(db: asyncpg.Connection) -> list[str]:
    return [r["key"] for r in await db.fetch("SELECT key FROM job_effects ORDER BY at")]


async def jobs_table(db: asyncpg.Connection, task_name: str | None = None) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT id, task_name, status::text, attempts, queueing_lock"
        " FROM procrastinate.procrastinate_jobs"
        " WHERE $1::text IS NULL OR task_name = $1 ORDER BY id",
        task_name,
    )
