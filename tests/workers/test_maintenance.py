"""The periodic maintenance, run as procrastinate periodic tasks by a real JobWorker."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from neobank.ledger.domain import ResultCode, TransferFlags
from neobank.workers import maintenance
from neobank.workers.queue import JobResources
from neobank.workers.tasks import load_blueprints
from tests.ledger.conftest import LIMITED, open_accounts, submit
from tests.ledger.fake import transfer
from tests.workers.conftest import WorkerFactory, eventually, jobs_table

# The pending transfer expires after 1 s; the voider runs every second, 0.5 s past the tick.
VOID_LATENCY_MAX_S = 2.5


async def test_the_schedule() -> None:
    app = load_blueprints()
    periodic = app.periodic_registry.periodic_tasks.values()
    # Other domains' periodic jobs (lending's offer expiry, ...) are tested with their domain.
    schedule = {p.task.name: p.cron for p in periodic if p.task.name.startswith("maintenance.")}
    assert schedule == {
        maintenance.VOID: "* * * * * *",
        maintenance.PURGE_KEYS: "0 * * * *",
        maintenance.PURGE_CHALLENGES: "*/10 * * * *",
        maintenance.RETRY_STALLED: "* * * * *",
    }
    for name in schedule:
        task = app.tasks[name]
        # At most one waiting, ahead of other jobs; one at a time across processes, except
        # the sweep that requeues dead workers' jobs: its own dead run must not block it.
        assert task.queueing_lock == name
        assert task.lock == (None if name == maintenance.RETRY_STALLED else name)
        assert task.priority == maintenance.MAINTENANCE_PRIORITY


async def test_an_expired_pending_transfer_is_voided_by_the_worker(
    db: asyncpg.Connection, resources: JobResources, start_worker: WorkerFactory
) -> None:
    cash, a, b = await open_accounts(db, 0, LIMITED, LIMITED)
    await submit(resources.engine, [transfer(cash, a, 1_000)])
    held = transfer(a, b, 100, flags=TransferFlags.PENDING, timeout_s=1)
    assert [o.code for o in await submit(resources.engine, [held])] == [ResultCode.OK]
    await start_worker()
    void = await eventually(
        lambda: db.fetchrow(
            "SELECT v.created_at - p.expires_at AS late, v.flags FROM transfers v"
            " JOIN transfers p ON p.id = v.pending_id WHERE p.id = $1",
            held.id,
        )
    )
    assert void["flags"] == int(TransferFlags.VOID_PENDING)
    assert timedelta(0) <= void["late"] < timedelta(seconds=VOID_LATENCY_MAX_S), void["late"]


async def test_a_starting_worker_runs_the_purges(
    db: asyncpg.Connection, start_worker: WorkerFactory
) -> None:
    await db.execute(
        "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES"
        " ('ops', 'old', '\\x00', now() - interval '49 hours'),"
        " ('ops', 'young', '\\x00', now())"
    )
    await start_worker()  # whatever the hour: the start queues them
    await eventually(lambda: _gone(db, maintenance.PURGE_KEYS, maintenance.PURGE_CHALLENGES))
    assert await db.fetchval("SELECT array_agg(key) FROM idempotency_keys") == ["young"]


async def _gone(db: asyncpg.Connection, *task_names: str) -> bool:
    # Succeeded jobs are deleted; a failed one would stay, "failed".
    for name in task_names:
        if await jobs_table(db, name):
            return False
    return True
