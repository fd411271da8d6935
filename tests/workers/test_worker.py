"""A real JobWorker: retries, graceful stop, requeue on shutdown, and a dead worker's jobs."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import asyncpg

from neobank.workers.maintenance import requeue_stalled_jobs
from neobank.workers.queue import build_connector, defer_in_transaction, job_app
from neobank.workers.worker import JobWorker
from tests.workers.conftest import WorkerFactory, eventually, jobs_table, keys
from tests.workers.jobs import FLAKY_ATTEMPTS_MAX

RETRY_FAST = {"fetch_job_polling_interval": 0.05}


async def _defer(db: asyncpg.Connection, task: str, **args: object) -> int:
    async with db.transaction():
        return await defer_in_transaction(db, task, args)


async def test_a_failing_task_is_retried_by_its_strategy_until_it_succeeds(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    await start_worker(**RETRY_FAST)
    await _defer(effects, "test.flaky", key="flaky", failures=2)
    assert await eventually(lambda: _count(effects, "flaky", 3)) == [0, 1, 2]
    assert await eventually(lambda: _gone(effects, "test.flaky"))  # succeeded: deleted


async def test_a_task_failing_every_attempt_is_left_failed_for_an_engineer(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    await start_worker(**RETRY_FAST)
    job_id = await _defer(effects, "test.flaky", key="hopeless", failures=99)
    attempts = FLAKY_ATTEMPTS_MAX + 1  # the first run and its retries
    assert await eventually(lambda: _count(effects, "hopeless", attempts))
    rows = await eventually(lambda: _status(effects, job_id, "failed"))
    assert rows[0]["attempts"] == attempts
    await asyncio.sleep(0.2)
    assert len(await _attempts(effects, "hopeless")) == attempts  # and no more


async def test_stopping_lets_a_job_in_flight_finish(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    worker = await start_worker()
    await _defer(effects, "test.slow", key="slow", seconds=0.5)
    await eventually(lambda: _has(effects, "slow:started"))
    await worker.stop()
    assert await keys(effects) == ["slow:started", "slow:done"]
    assert await jobs_table(effects, "test.slow") == []
    assert await effects.fetchval("SELECT count(*) FROM procrastinate.procrastinate_workers") == 0


async def test_a_job_still_running_after_the_grace_is_requeued_not_lost(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    worker = await start_worker(stop_grace_s=0.2)
    job_id = await _defer(effects, "test.slow", key="cut", seconds=30)
    await eventually(lambda: _has(effects, "cut:started"))
    await asyncio.wait_for(worker.stop(), timeout=5)
    rows = await _status(effects, job_id, "todo")
    assert rows and rows[0]["attempts"] == 1  # back in the queue, not "aborted"
    # The next worker runs it to the end (the task sleeps on its first attempt only).
    await start_worker()
    await eventually(lambda: _has(effects, "cut:done"))


async def test_the_job_of_a_killed_worker_process_is_requeued_and_runs(
    effects: asyncpg.Connection, database_url: str, start_worker: WorkerFactory
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.workers.run_worker", database_url, start_new_session=True
    )
    try:
        job_id = await _defer(effects, "test.slow", key="orphan", seconds=60)
        await eventually(lambda: _has(effects, "orphan:started"), timeout_s=30)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    assert await _status(effects, job_id, "doing")  # dead, but the job still says "doing"
    connector = build_connector(database_url)
    with job_app.replace_connector(connector):
        await connector.open_async()
        try:
            # What maintenance.retry_stalled_jobs does every minute, with a short timeout
            # (which has to pass since the dead worker's last heartbeat).
            await eventually(lambda: requeue_stalled_jobs(job_app, seconds_since_heartbeat=0.1))
        finally:
            await connector.close_async()
    assert await _status(effects, job_id, "todo")
    assert await effects.fetchval("SELECT count(*) FROM procrastinate.procrastinate_workers") == 0
    await start_worker()
    await eventually(lambda: _has(effects, "orphan:done"))


async def _attempts(db: asyncpg.Connection, key: str) -> list[int]:
    rows = await db.fetch("SELECT attempt FROM job_effects WHERE key = $1 ORDER BY at", key)
    return [r["attempt"] for r in rows]


async def _count(db: asyncpg.Connection, key: str, count: int) -> list[int] | None:
    attempts = await _attempts(db, key)
    return attempts if len(attempts) >= count else None


async def _gone(db: asyncpg.Connection, task_name: str) -> bool:
    return not await jobs_table(db, task_name)


async def _has(db: asyncpg.Connection, key: str) -> bool:
    return key in await keys(db)


async def _status(db: asyncpg.Connection, job_id: int, status: str) -> list[asyncpg.Record]:
    return [r for r in await jobs_table(db) if r["id"] == job_id and r["status"] == status]


async def test_a_worker_that_fails_is_replaced_and_goes_on(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    worker = await start_worker()
    fetch = "procrastinate.procrastinate_fetch_job_v2(character varying[], bigint)"
    await effects.execute(f"ALTER FUNCTION {fetch} RENAME TO fetch_broken")
    try:
        await _defer(effects, "test.record", key="through a failure")  # the fetch fails
        await eventually(lambda: _restarted(worker))
    finally:
        await effects.execute(
            "ALTER FUNCTION procrastinate.fetch_broken(character varying[], bigint)"
            " RENAME TO procrastinate_fetch_job_v2"
        )
    assert await eventually(lambda: keys(effects)) == ["through a failure"]


async def _restarted(worker: JobWorker) -> bool:
    return worker.restarts > 0
