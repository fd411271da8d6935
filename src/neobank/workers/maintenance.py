"""Periodic maintenance as procrastinate periodic tasks: purge idempotency keys hourly, purge
auth challenges every 10 min, requeue the jobs of dead workers every minute, and void expired
pending transfers every second.

Every JobWorker's periodic deferrer offers each tick; the database takes one job per tick
(procrastinate_periodic_defers is unique on the timestamp), the queueing lock keeps at most one
waiting, and a lock runs each one at a time across processes (what the advisory locks of the
old loops did; not the stalled-job sweep, see there). Maintenance outranks other jobs
(priority): behind a queue full of agency jobs it waits only for the first free job slot.

The 1-second voider stays a periodic task, measured: procrastinate's cron has 1 s resolution
(a 6th field) and its deferrer wakes 0.5 s past each tick, so a pending transfer is voided
0-1 s after it expires, like the old loop (0.04-0.56 s in tests/workers/test_maintenance.py).
Its churn, one idle JobWorker over 30 s: 4.2 inserted, 3.2 updated, 4.2 deleted rows and 11
commits a second in the procrastinate tables, 0.8% of a core — a constant, whatever the
number of processes (each adds one deferral attempt a second), where the old loop cost three
statements a second per process. Negligible next to one sign-up, so one mechanism (durable,
visible in procrastinate_jobs, requeued if a process dies) beats two.
"""

from __future__ import annotations

import contextlib
import time
from datetime import UTC, datetime

import procrastinate
import structlog
from procrastinate import JobContext, exceptions

from neobank.customers.auth import purge_challenges
from neobank.idempotency.service import purge_expired
from neobank.ledger.expiry import void_expired_pendings
from neobank.workers.queue import STALLED_WORKER_TIMEOUT_S, resources_of

__all__ = [
    "MAINTENANCE_PRIORITY",
    "MAINTENANCE_QUEUE",
    "blueprint",
    "defer_at_start",
    "requeue_stalled_jobs",
]

log = structlog.get_logger(__name__)

MAINTENANCE_QUEUE = "maintenance"
MAINTENANCE_PRIORITY = 100  # jobs with a higher priority are fetched first
EVERY_SECOND = "* * * * * *"
EVERY_MINUTE = "* * * * *"
EVERY_10_MINUTES = "*/10 * * * *"
HOURLY = "0 * * * *"

blueprint = procrastinate.Blueprint()


VOID = "maintenance.void_expired_pendings"
PURGE_KEYS = "maintenance.purge_idempotency_keys"
PURGE_CHALLENGES = "maintenance.purge_auth_challenges"
RETRY_STALLED = "maintenance.retry_stalled_jobs"
Q, P = MAINTENANCE_QUEUE, MAINTENANCE_PRIORITY
RUN_AT_START = (PURGE_KEYS, PURGE_CHALLENGES)


@blueprint.periodic(cron=EVERY_SECOND)
@blueprint.task(name=VOID, queue=Q, priority=P, lock=VOID, queueing_lock=VOID, pass_context=True)
async def void_expired(context: JobContext, timestamp: int) -> int:
    resources = resources_of(context)
    voided = await void_expired_pendings(resources.pool, resources.engine, datetime.now(UTC))
    if voided:
        log.info("maintenance.voided_expired_pendings", items=voided)
    return voided


@blueprint.periodic(cron=HOURLY)
@blueprint.task(
    name=PURGE_KEYS,
    queue=Q,
    priority=P,
    lock=PURGE_KEYS,
    queueing_lock=PURGE_KEYS,
    pass_context=True,
)
async def purge_idempotency_keys(context: JobContext, timestamp: int) -> int:
    purged = await purge_expired(resources_of(context).pool)
    log.info("maintenance.purged_idempotency_keys", items=purged)
    return purged


@blueprint.periodic(cron=EVERY_10_MINUTES)
@blueprint.task(
    name=PURGE_CHALLENGES,
    queue=Q,
    priority=P,
    lock=PURGE_CHALLENGES,
    queueing_lock=PURGE_CHALLENGES,
    pass_context=True,
)
async def purge_auth_challenges(context: JobContext, timestamp: int) -> int:
    purged = await purge_challenges(resources_of(context).pool)
    log.info("maintenance.purged_auth_challenges", items=purged)
    return purged


# No lock here: a lock held by a run that died with its worker would keep every later run
# from starting, and nothing else would requeue it. Two runs at once are harmless.
@blueprint.periodic(cron=EVERY_MINUTE)
@blueprint.task(
    name=RETRY_STALLED, queue=Q, priority=P, queueing_lock=RETRY_STALLED, pass_context=True
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
    return await requeue_stalled_jobs(context.app, seconds_since_heartbeat=STALLED_WORKER_TIMEOUT_S)


async def defer_at_start(app: procrastinate.App) -> None:
    """Queue the purges once when a worker starts, as the old loops did: the cron alone
    would first run them at the next hour (10 min), whatever was left before."""
    for name in RUN_AT_START:
        with contextlib.suppress(exceptions.AlreadyEnqueued):  # one is already waiting
            await app.configure_task(name).defer_async(timestamp=int(time.time()))


async def requeue_stalled_jobs(app: procrastinate.App, *, seconds_since_heartbeat: float) -> int:
    """Put back in the queue the jobs whose worker stopped sending heartbeats (its process
    died mid-job), then forget those workers. Returns how many jobs were requeued.

    A job runs at least once, not exactly once: a worker whose event loop stalled longer than
    the timeout may still finish a job that was requeued, so tasks must be idempotent.
    """
    requeued = 0
    for job in await app.job_manager.get_stalled_jobs(
        seconds_since_heartbeat=seconds_since_heartbeat
    ):
        try:
            await app.job_manager.retry_job(job)
        except exceptions.ConnectorException:
            # It finished (or was requeued by another process) since it was listed.
            log.info("maintenance.stalled_job_moved_on", job_id=job.id, task=job.task_name)
            continue
        requeued += 1
        log.warning("maintenance.requeued_stalled_job", job_id=job.id, task=job.task_name)
    await app.job_manager.prune_stalled_workers(seconds_since_heartbeat)
    return requeued
