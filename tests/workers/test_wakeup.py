"""A job whose NOTIFY arrives while the worker fetches is started at once, not at the next poll."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest
from procrastinate.manager import JobManager
from procrastinate.worker import Worker

from neobank.workers.queue import defer_in_transaction
from neobank.workers.wakeup import NewJobWakeup
from tests.workers.conftest import WorkerFactory, eventually, keys

# Long enough that only a wake-up, never the poll, can explain a prompt start.
POLL_NEVER_S = 60.0
NOTIFY_DELIVERED_S = 0.3
SETTLED_S = 1.0


def test_a_wakeup_set_since_the_last_clear_survives_one_clear() -> None:
    wakeup = NewJobWakeup()
    wakeup.set()
    wakeup.clear()  # the fetch that the notification came during
    assert wakeup.is_set()
    wakeup.clear()  # the next fetch: nothing new since
    assert not wakeup.is_set()


def test_a_clear_with_nothing_new_clears() -> None:
    wakeup = NewJobWakeup()
    wakeup.clear()
    assert not wakeup.is_set()


async def test_a_job_notified_during_an_empty_fetch_starts_without_waiting_for_the_poll(
    effects: asyncpg.Connection,
    database_url: str,
    start_worker: WorkerFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race, made certain: once the worker has run a first job, its next fetch finds
    nothing; before that fetch answers, a second job commits and its NOTIFY is handled.
    procrastinate alone clears the wake-up there and sleeps until the poll (a minute here)."""
    fetch_job = JobManager.fetch_job
    armed: list[bool] = []
    raced: list[bool] = []

    async def fetch_missing_a_job(self: JobManager, *args: Any, **kwargs: Any) -> Any:
        job = await fetch_job(self, *args, **kwargs)
        if job is None and armed and not raced:
            raced.append(True)
            await _defer(database_url, "second")
            await asyncio.sleep(NOTIFY_DELIVERED_S)  # the listener handles the NOTIFY
        return job

    monkeypatch.setattr(JobManager, "fetch_job", fetch_missing_a_job)
    # No periodic jobs: the voider's NOTIFY every second would otherwise end the sleep.
    monkeypatch.setattr(Worker, "_periodic_deferrer", _never)
    await start_worker(fetch_job_polling_interval=POLL_NEVER_S)
    await asyncio.sleep(SETTLED_S)  # the start's own jobs (maintenance) are done
    armed.append(True)
    await _defer(database_url, "first")
    # Well within the minute the poll would take.
    assert await eventually(lambda: _both_ran(effects), timeout_s=10.0) == ["first", "second"]
    assert raced == [True]


async def _never(self: Worker) -> None:
    await asyncio.Event().wait()


async def _both_ran(effects: asyncpg.Connection) -> list[str] | None:
    ran = await keys(effects)
    return ran if len(ran) == 2 else None


async def _defer(database_url: str, key: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            await defer_in_transaction(conn, "test.record", {"key": key})
    finally:
        await conn.close()
