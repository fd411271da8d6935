"""JobWorker: procrastinate's worker in the current event loop, for `neobank serve` (in-process)
and `neobank worker`.

- Concurrency: JOB_CONCURRENCY jobs in flight; the jobs are agency calls (I/O bound), so many
  fit in one loop. procrastinate fetches one job per query, serially, so the fetch round trip
  (1.1 ms of database time alone), not this number, bounds jobs/s. Measured on the 2-core
  shared dev machine (python -m tests.workers.bench_jobs --jobs 5000): a trivial task drains
  at ~700-750 jobs/s with 8-128 in flight (300 with 1; 270 with a 1-connection pool), and
  270-600 when the machine is busy; a second worker process adds nothing on 2 cores.
  defer_in_transaction: ~2,700-3,600 jobs/s from 8 connections. One job per sign-up: one
  worker keeps up with ~350 sign-ups/s, seven times the identity agency's 50/s cap.
- Successful jobs are deleted at once (delete_jobs="successful"): the onboarding table is the
  record of what happened, and a launch day's job per sign-up would otherwise pile up in
  procrastinate_jobs and its events table. Failed jobs stay, for an engineer to read and retry.
- New jobs wake the worker by LISTEN/NOTIFY (sent when the deferring transaction commits);
  polling every FETCH_POLLING_INTERVAL_S is only the fallback. A job held back by its `lock`
  or by a retry's delay is fetched at the next wake: any insert's NOTIFY (the voider's, every
  second) or the poll. A NOTIFY that lands during a fetch is kept for one more fetch
  (neobank.workers.wakeup: procrastinate alone drops it).
- Stopping: no new job is fetched; jobs in flight get STOP_GRACE_S to finish, then are
  cancelled and requeued (every task is given a retry on shutdown, below), so none is lost.
- A procrastinate worker that fails (its database went away) is replaced after a pause that
  doubles up to RESTART_BACKOFF_MAX_S, for as long as the JobWorker runs.
- A process that dies mid-job leaves its jobs "doing" under a worker whose heartbeat stops;
  maintenance.retry_stalled_jobs requeues them (STALLED_WORKER_TIMEOUT_S).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any, ClassVar

import procrastinate
import structlog
from procrastinate import exceptions
from procrastinate.jobs import Job
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from procrastinate.worker import Worker

from neobank.workers import maintenance
from neobank.workers.queue import (
    HEARTBEAT_INTERVAL_S,
    PSYCOPG_POOL_MAX,
    RESOURCES_KEY,
    STALLED_WORKER_TIMEOUT_S,
    JobResources,
    build_connector,
)
from neobank.workers.tasks import load_blueprints
from neobank.workers.wakeup import install_wakeup

__all__ = ["JOB_CONCURRENCY", "STOP_GRACE_S", "JobWorker"]

log = structlog.get_logger(__name__)

JOB_CONCURRENCY = 32
STOP_GRACE_S = 20.0
FETCH_POLLING_INTERVAL_S = 5.0
START_TIMEOUT_S = 30.0
RESTART_BACKOFF_MIN_S = 0.5
RESTART_BACKOFF_MAX_S = 30.0
_REGISTERED_POLL_S = 0.01
DELETE_JOBS = "successful"


class JobWorker:
    """One per process (the job app's connector is the process's)."""

    _running: ClassVar[JobWorker | None] = None

    def __init__(
        self,
        database_url: str,
        resources: JobResources,
        *,
        concurrency: int = JOB_CONCURRENCY,
        queues: Iterable[str] | None = None,
        stop_grace_s: float = STOP_GRACE_S,
        pool_max: int = PSYCOPG_POOL_MAX,
        name: str = "neobank",
        **options: Any,
    ) -> None:
        """`options` override what is passed to procrastinate's Worker (tests shorten
        intervals; the benchmark tries other settings)."""
        self.database_url = database_url
        self.resources = resources
        self.concurrency = concurrency
        self.queues = list(queues) if queues is not None else None
        self.stop_grace_s = stop_grace_s
        self.pool_max = pool_max
        self.name = name
        self.options = options
        self.restarts = 0
        self._worker: Worker | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._connected = contextlib.AsyncExitStack()

    @property
    def worker_id(self) -> int | None:
        """The id procrastinate registered this worker under (procrastinate_workers)."""
        return self._worker.worker_id if self._worker else None

    async def start(self) -> None:
        """Connect, register and start fetching; returns once the worker is registered."""
        if JobWorker._running is not None:
            raise RuntimeError("A JobWorker already runs in this process")
        JobWorker._running = self
        try:
            await self._start()
        except BaseException:
            await self._connected.aclose()
            JobWorker._running = None
            raise

    async def _start(self) -> None:
        app = load_blueprints()
        _retry_every_task_on_shutdown(app)
        connector = build_connector(self.database_url, pool_max=self.pool_max)
        self._connected.enter_context(app.replace_connector(connector))
        await connector.open_async()
        self._connected.push_async_callback(connector.close_async)
        self._stopping.clear()
        first = self._new_worker(app)
        self._task = asyncio.create_task(self._supervise(app, first), name="job-worker")
        # procrastinate signals nothing when it has registered: look at its worker id.
        async with asyncio.timeout(START_TIMEOUT_S):
            while first.worker_id is None and self.restarts == 0:  # noqa: ASYNC110
                await asyncio.sleep(_REGISTERED_POLL_S)
        if first.worker_id is None:
            self._stopping.set()
            await self._task
            raise RuntimeError("The job worker failed as it started (see the log)")
        try:
            await maintenance.defer_at_start(app)
        except Exception:  # the cron runs them later anyway
            log.exception("jobs.maintenance_at_start_failed")
        log.info("jobs.worker_started", worker_id=self.worker_id, concurrency=self.concurrency)

    def _new_worker(self, app: procrastinate.App) -> Worker:
        options: dict[str, Any] = {
            "queues": self.queues,
            "name": self.name,
            "concurrency": self.concurrency,
            "listen_notify": True,
            "delete_jobs": DELETE_JOBS,
            "additional_context": {RESOURCES_KEY: self.resources},
            "install_signal_handlers": False,
            "shutdown_graceful_timeout": self.stop_grace_s,
            "fetch_job_polling_interval": FETCH_POLLING_INTERVAL_S,
            "update_heartbeat_interval": HEARTBEAT_INTERVAL_S,
            "stalled_worker_timeout": STALLED_WORKER_TIMEOUT_S,
            **self.options,
        }
        self._worker = Worker(app=app, **options)
        install_wakeup(self._worker)
        return self._worker

    async def _supervise(self, app: procrastinate.App, worker: Worker) -> None:
        """Run procrastinate's worker; if it ends without being asked to (a database error in
        its fetch loop, a failed heartbeat), start a new one after a growing pause. Jobs it
        left "doing" are requeued by the stalled-job sweep."""
        backoff_s = RESTART_BACKOFF_MIN_S
        while True:
            try:
                await worker.run()  # type: ignore[no-untyped-call]
            except Exception:
                log.exception("jobs.worker_failed", restart_in_s=backoff_s)
            if self._stopping.is_set():
                return
            self.restarts += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=backoff_s)
                return
            backoff_s = min(backoff_s * 2, RESTART_BACKOFF_MAX_S)
            worker = self._new_worker(app)

    async def stop(self) -> None:
        """Fetch nothing more; let jobs in flight finish (or requeue them after the grace)."""
        if JobWorker._running is not self:
            return
        try:
            self._stopping.set()
            if self._worker is not None:
                self._worker.stop()  # type: ignore[no-untyped-call]
            if self._task is not None:
                await self._task
        finally:
            await self._connected.aclose()
            JobWorker._running = None
            log.info("jobs.worker_stopped")


class _RetryOnShutdown(BaseRetryStrategy):
    """A job cancelled because its worker is stopping goes back to the queue whatever the
    task's own strategy says (it did not fail); anything else is the task's strategy's call."""

    def __init__(self, inner: BaseRetryStrategy | None) -> None:
        self.inner = inner

    def get_retry_decision(self, *, exception: BaseException, job: Job) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError | exceptions.JobAborted):
            return RetryDecision()
        if self.inner is None:
            return None
        retry = self.inner.get_retry_exception(exception=exception, job=job)
        return retry.retry_decision if retry else None


def _retry_every_task_on_shutdown(app: procrastinate.App) -> None:
    for task in app.tasks.values():
        if not isinstance(task.retry_strategy, _RetryOnShutdown):
            task.retry_strategy = _RetryOnShutdown(task.retry_strategy)
