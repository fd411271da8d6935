"""Jobs/s through JobWorkers for a trivial task: N jobs deferred in one statement, then drained.

    .venv/bin/python -m tests.workers.bench_jobs [--jobs 5000] [--concurrency 1,8,32,128]
        [--pool-max 1,4,8] [--delete successful,never] [--processes 1,2]

Uses NEOBANK_TEST_DATABASE_URL, or an embedded server under /tmp. With --processes N, N-1
more workers run in processes of their own (tests.workers.run_worker, 32 jobs in flight).
Also measures defer_in_transaction (one job per transaction, from several connections, as
onboarding does). Not a test: run it by hand; the figures are in the docstring of
neobank.workers.worker.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import os
import signal
import sys
import time
import uuid
from pathlib import Path

import asyncpg

from neobank.db.migrate import migrate
from neobank.db.pool import create_pool
from neobank.db.urls import asyncpg_url
from neobank.ledger.engine import LedgerEngine
from neobank.workers import worker as worker_module
from neobank.workers.queue import JobResources, build_connector, defer_in_transaction
from neobank.workers.tasks import load_blueprints
from neobank.workers.worker import JobWorker
from tests.conftest import with_database
from tests.workers import jobs

DRAIN_POLL_S = 0.02
AUTOCOMMIT = os.environ.get("BENCH_AUTOCOMMIT", "1") == "1"
CHECK = os.environ.get("BENCH_CHECK", "1") == "1"
DEFER_CONNECTIONS = 8
BULK_DEFER = """
SELECT procrastinate.procrastinate_defer_jobs_v1(array_agg(
    ROW('default', 'test.noop', 0, NULL, NULL, '{}'::jsonb, NULL)
    ::procrastinate.procrastinate_job_to_defer_v1))
FROM generate_series(1, $1)
"""
WORKERS = "SELECT count(*) FROM procrastinate.procrastinate_workers"
LEFT = "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE status IN ('todo', 'doing')"


async def drain(
    url: str, count: int, concurrency: int, pool_max: int, delete: str, processes: int
) -> float:
    """Start the workers (this process's, and `processes - 1` others), then defer `count`
    jobs in one statement and time until none is left."""
    admin = await asyncpg.connect(asyncpg_url(url))
    pool = await create_pool(url, min_size=1, max_size=4)
    engine = LedgerEngine(pool)
    await engine.start()
    resources = JobResources(pool=pool, engine=engine, agencies=None)  # type: ignore[arg-type]
    worker = JobWorker(
        url, resources, concurrency=concurrency, pool_max=pool_max, delete_jobs=delete
    )
    worker_module.build_connector = functools.partial(
        build_connector, autocommit=AUTOCOMMIT, check_connections=CHECK
    )
    await worker.start()
    others = [
        await asyncio.create_subprocess_exec(sys.executable, "-m", "tests.workers.run_worker", url)
        for _ in range(processes - 1)
    ]
    while await admin.fetchval(WORKERS) < processes:
        await asyncio.sleep(DRAIN_POLL_S)
    started = time.perf_counter()
    await admin.execute(BULK_DEFER, count)
    while await admin.fetchval(LEFT):
        await asyncio.sleep(DRAIN_POLL_S)
    elapsed = time.perf_counter() - started
    for other in others:
        other.send_signal(signal.SIGKILL)
        await other.wait()
    await worker.stop()
    await admin.execute("DELETE FROM procrastinate.procrastinate_jobs")
    await admin.execute("DELETE FROM procrastinate.procrastinate_workers")
    await admin.close()
    await engine.stop()
    await pool.close()
    return count / elapsed


async def defer_rate(url: str, count: int) -> float:
    pool = await create_pool(url, min_size=DEFER_CONNECTIONS, max_size=DEFER_CONNECTIONS)
    per_connection = count // DEFER_CONNECTIONS

    async def deferrer() -> None:
        async with pool.acquire() as conn:
            for _ in range(per_connection):
                async with conn.transaction():
                    await defer_in_transaction(conn, "test.noop", {}, queueing_lock=None)

    started = time.perf_counter()
    await asyncio.gather(*(deferrer() for _ in range(DEFER_CONNECTIONS)))
    elapsed = time.perf_counter() - started
    await pool.execute("DELETE FROM procrastinate.procrastinate_jobs")
    await pool.close()
    return per_connection * DEFER_CONNECTIONS / elapsed


async def main(args: argparse.Namespace) -> None:
    server = os.environ.get("NEOBANK_TEST_DATABASE_URL")
    if not server:
        from neobank.db.embedded import start_embedded

        server = start_embedded(Path("/tmp/neobank-bench-jobs"))
    name = f"neobank_bench_jobs_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(asyncpg_url(server))
    await admin.execute(f"CREATE DATABASE {name}")
    url = with_database(server, name)
    try:
        await asyncio.to_thread(migrate, url)
        load_blueprints([jobs.PATH])
        print(
            f"defer_in_transaction: {await defer_rate(url, args.jobs):,.0f} jobs/s "
            f"({DEFER_CONNECTIONS} connections, one job per transaction)"
        )
        for processes, concurrency, pool_max, delete in itertools.product(
            args.processes, args.concurrency, args.pool_max, args.delete
        ):
            rate = await drain(url, args.jobs, concurrency, pool_max, delete, processes)
            print(
                f"drain: processes={processes} concurrency={concurrency:<4} "
                f"pool_max={pool_max:<2} delete_jobs={delete:<10} {rate:,.0f} jobs/s"
            )
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",")]


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--concurrency", type=_ints, default=[1, 8, 32, 128])
    parser.add_argument("--pool-max", type=_ints, default=[4])
    parser.add_argument("--processes", type=_ints, default=[1])
    parser.add_argument("--delete", type=lambda t: t.split(","), default=["successful"])
    asyncio.run(main(parser.parse_args()))
