"""The durable job queue (procrastinate over psycopg): one App per process, jobs deferred inside
the bank's own asyncpg transactions, and the resources a running job gets.

procrastinate's tables and functions live in the `procrastinate` schema (migration 0004); its
psycopg connections put that schema on their search path, and asyncpg callers name it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg
import orjson
import procrastinate
import psycopg
import psycopg_pool
from procrastinate import JobContext

from neobank.db.urls import asyncpg_url
from neobank.ledger.engine import LedgerEngine
from neobank.workers.errors import JobAlreadyQueued, NotInTransaction, UnknownTask

if TYPE_CHECKING:
    from neobank.agencies.client import AgencyClients
    from neobank.onboarding.waiting_room import WaitingRoom

__all__ = [
    "DEFAULT_QUEUE",
    "HEARTBEAT_INTERVAL_S",
    "JOB_SCHEMA",
    "PSYCOPG_POOL_MAX",
    "RESOURCES_KEY",
    "STALLED_WORKER_TIMEOUT_S",
    "JobResources",
    "build_connector",
    "defer_in_transaction",
    "job_app",
    "psycopg_conninfo",
    "resources_of",
]

JOB_SCHEMA = "procrastinate"
DEFAULT_QUEUE = "default"
RESOURCES_KEY = "resources"
QUEUEING_LOCK_INDEX = "procrastinate_jobs_queueing_lock_idx_v1"
# procrastinate's own connections: the fetch loop is serial (one connection), finishing jobs and
# heartbeats share the other; LISTEN holds one more, outside the pool. 2 drains as fast as 4 or
# 8 (tests/workers/bench_jobs.py; 1 is 2.5 times slower), and `serve --workers 4` next to 20
# asyncpg connections a process must stay under PostgreSQL's 100.
PSYCOPG_POOL_MIN = 1
PSYCOPG_POOL_MAX = 2
# A worker writes a heartbeat this often; one silent for the timeout is taken for dead and its
# jobs are requeued (maintenance.retry_stalled_jobs). Several beats fit in the timeout, so a
# busy event loop is not mistaken for a dead process.
HEARTBEAT_INTERVAL_S = 10.0
STALLED_WORKER_TIMEOUT_S = 60.0

# The one App of the process. Its connector is a placeholder: a JobWorker swaps in a connector
# to its database for as long as it runs (App.replace_connector). Blueprints listed in
# neobank.workers.tasks are registered on it by `load_blueprints()`.
job_app = procrastinate.App(connector=procrastinate.PsycopgConnector())

_DEFER = f"""
SELECT {JOB_SCHEMA}.procrastinate_defer_jobs_v1(ARRAY[ROW(
    $1::varchar, $2::varchar, 0, $3::text, $4::text, $5::text::jsonb, $6::timestamptz
)]::{JOB_SCHEMA}.procrastinate_job_to_defer_v1[])
"""


@dataclass(frozen=True)
class JobResources:
    """What a running job may use; handed to tasks as additional_context["resources"]."""

    pool: asyncpg.Pool
    engine: LedgerEngine
    agencies: AgencyClients | None = None
    waiting_room: WaitingRoom | None = None


def resources_of(context: JobContext) -> JobResources:
    """The JobResources of the worker running this job (tasks with pass_context=True)."""
    resources = context.additional_context.get(RESOURCES_KEY)
    if not isinstance(resources, JobResources):
        raise RuntimeError("This job runs outside a JobWorker: no JobResources in its context")
    return resources


async def defer_in_transaction(
    conn: asyncpg.Connection,
    task_name: str,
    args: dict[str, Any],
    *,
    queueing_lock: str | None = None,
    lock: str | None = None,
    scheduled_at: datetime | None = None,
    queue: str = DEFAULT_QUEUE,
) -> int:
    """Queue a job inside the caller's transaction and return its id: the job exists if and
    only if that transaction commits (and workers are woken by NOTIFY at the commit).

    `queueing_lock`: at most one waiting job per lock; a second raises JobAlreadyQueued and
    leaves the caller's transaction usable (the insert runs under a savepoint). `lock`: jobs
    sharing it run one at a time.
    """
    if not conn.is_in_transaction():
        raise NotInTransaction()
    from neobank.workers.tasks import is_known_task

    if not is_known_task(task_name):
        raise UnknownTask(f"No listed blueprint declares the task {task_name!r}")
    params = (task_name, queue, lock, queueing_lock, orjson.dumps(args).decode(), scheduled_at)
    if queueing_lock is None:
        ids = await conn.fetchval(_DEFER, queue, task_name, *params[2:])
        return int(ids[0])
    try:
        async with conn.transaction():  # a savepoint: a duplicate must not abort the caller
            ids = await conn.fetchval(_DEFER, queue, task_name, *params[2:])
    except asyncpg.UniqueViolationError as exc:
        if exc.constraint_name != QUEUEING_LOCK_INDEX:
            raise
        raise JobAlreadyQueued(
            f"A {task_name} job with the queueing lock {queueing_lock!r} is already waiting",
            queueing_lock=queueing_lock,
        ) from exc
    return int(ids[0])


def psycopg_conninfo(database_url: str) -> str:
    """A libpq URI psycopg accepts, from any form the settings or the embedded server give
    (`postgresql+psycopg://`, `postgres://`, `postgresql://...?host=/unix/socket/dir`)."""
    return asyncpg_url(database_url)


def build_connector(
    database_url: str,
    *,
    pool_min: int = PSYCOPG_POOL_MIN,
    pool_max: int = PSYCOPG_POOL_MAX,
    autocommit: bool = True,
    check_connections: bool = True,
) -> procrastinate.PsycopgConnector:
    """A connector whose connections see procrastinate's schema first.

    Every procrastinate query is one statement (a function call), so `autocommit` spares the
    COMMIT round trip after each. `check_connections` pings a connection each time it leaves
    the pool (procrastinate's default): a round trip more per query, against a stale
    connection after a database restart.
    """

    async def configure(conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.set_autocommit(autocommit)

    def pool(**kwargs: Any) -> psycopg_pool.AsyncConnectionPool:
        if not check_connections:
            kwargs["check"] = None
        return psycopg_pool.AsyncConnectionPool(**kwargs)

    return procrastinate.PsycopgConnector(
        conninfo=psycopg_conninfo(database_url),
        min_size=pool_min,
        max_size=pool_max,
        # Not kwargs={"autocommit": ...}: procrastinate's LISTEN connection adds its own.
        configure=configure,
        pool_factory=pool,
        kwargs={"options": f"-c search_path={JOB_SCHEMA}"},
        json_dumps=lambda value: orjson.dumps(value).decode(),
        json_loads=orjson.loads,
    )
