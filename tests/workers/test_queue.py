"""Deferring inside the caller's transaction: a job exists iff the transaction commits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from neobank.workers.errors import JobAlreadyQueued, NotInTransaction, UnknownTask
from neobank.workers.queue import defer_in_transaction
from tests.workers.conftest import WorkerFactory, eventually, jobs_table, keys


async def test_a_committed_job_runs_and_its_effect_is_visible(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    await start_worker()
    async with effects.transaction():
        job_id = await defer_in_transaction(effects, "test.record", {"key": "committed"})
        # Not visible outside the transaction until it commits.
    assert isinstance(job_id, int)
    assert await eventually(lambda: keys(effects)) == ["committed"]
    # A job that succeeded is deleted; nothing is left behind.
    assert await eventually(lambda: _no_jobs(effects, "test.record"))


async def _no_jobs(db: asyncpg.Connection, task_name: str) -> bool:
    return not await jobs_table(db, task_name)


async def test_a_rolled_back_transaction_leaves_no_job(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    with pytest.raises(RuntimeError, match="changed my mind"):
        async with effects.transaction():
            await defer_in_transaction(effects, "test.record", {"key": "rolled back"})
            assert len(await jobs_table(effects, "test.record")) == 1  # inside, it exists
            raise RuntimeError("changed my mind")
    assert await jobs_table(effects, "test.record") == []
    # A worker that then runs (and one job committed after) sees only the committed one.
    await start_worker()
    async with effects.transaction():
        await defer_in_transaction(effects, "test.record", {"key": "after"})
    assert await eventually(lambda: keys(effects)) == ["after"]


async def test_the_job_waits_for_the_commit(
    effects: asyncpg.Connection, database_url: str, start_worker: WorkerFactory
) -> None:
    await start_worker()
    transaction = effects.transaction()
    await transaction.start()
    await defer_in_transaction(effects, "test.record", {"key": "slow commit"})
    await effects.execute("SELECT pg_sleep(0.3)")
    assert await keys(effects) == []  # the worker cannot see it yet
    await transaction.commit()
    assert await eventually(lambda: keys(effects)) == ["slow commit"]


async def test_deferring_outside_a_transaction_or_an_unknown_task_is_refused(
    db: asyncpg.Connection,
) -> None:
    with pytest.raises(NotInTransaction):
        await defer_in_transaction(db, "test.record", {"key": "x"})
    async with db.transaction():
        with pytest.raises(UnknownTask):
            await defer_in_transaction(db, "test.no_such_task", {})
    assert await jobs_table(db) == []


async def test_a_queueing_lock_keeps_one_job_waiting_and_the_transaction_usable(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    async with effects.transaction():
        first = await defer_in_transaction(
            effects, "test.record", {"key": "once"}, queueing_lock="lock-1", scheduled_at=later
        )
        with pytest.raises(JobAlreadyQueued):
            await defer_in_transaction(
                effects, "test.record", {"key": "twice"}, queueing_lock="lock-1"
            )
        # The duplicate was rolled back to a savepoint: the transaction goes on.
        other = await defer_in_transaction(
            effects, "test.record", {"key": "other"}, queueing_lock="lock-2"
        )
    rows = await jobs_table(effects, "test.record")
    assert [(r["id"], r["queueing_lock"]) for r in rows] == [(first, "lock-1"), (other, "lock-2")]
    # Once the waiting job has run, the lock is free again.
    await start_worker()
    assert await eventually(lambda: keys(effects)) == ["other"]
    await effects.execute(
        "UPDATE procrastinate.procrastinate_jobs SET scheduled_at = now() WHERE id = $1", first
    )
    assert await eventually(lambda: _has(effects, "once"))
    async with effects.transaction():
        await defer_in_transaction(effects, "test.record", {"key": "again"}, queueing_lock="lock-1")
    assert await eventually(lambda: _has(effects, "again"))


async def _has(db: asyncpg.Connection, key: str) -> bool:
    return key in await keys(db)


async def test_jobs_sharing_a_lock_run_one_at_a_time(
    effects: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    async with effects.transaction():
        for index in range(3):
            await defer_in_transaction(
                effects, "test.slow", {"key": f"s{index}", "seconds": 0.1}, lock="shared"
            )
    await start_worker()
    order = await eventually(lambda: _all_done(effects, 3))
    assert order == [f"s{i}:{step}" for i in range(3) for step in ("started", "done")]


async def _all_done(db: asyncpg.Connection, count: int) -> list[str] | None:
    found = await keys(db)
    return found if sum(k.endswith(":done") for k in found) == count else None
