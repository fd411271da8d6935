"""A worker process killed (SIGKILL) while its bureau calls are on the wire: no application
is lost, and each one still makes exactly one hard inquiry (one stable key, resent).

The simulators run in a process of their own here, so their counts outlive the worker."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from neobank.agencies.client import build_agency_clients
from neobank.db.pool import create_pool
from neobank.ledger.engine import LedgerEngine
from neobank.workers.maintenance import requeue_stalled_jobs
from neobank.workers.queue import JobResources, build_connector, job_app
from neobank.workers.worker import JobWorker
from tests.conftest import OPS_TOKEN
from tests.lending.conftest import new_applicant, prime, wait_for
from tests.system.conftest import free_port

APPLICATIONS = 10
BUREAU_LATENCY_MS = 600  # long enough to kill the worker with calls in flight
KILL_AFTER_ANSWERS = 2
START_TIMEOUT_S = 30.0
POLL_S = 0.05


async def _until(check: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not {what} after {timeout_s} s"
        await asyncio.sleep(POLL_S)


@pytest.fixture
async def agencies_url(tmp_path: Path) -> AsyncIterator[str]:
    """`neobank agencies serve` in its own process, the bureau slowed down."""
    config = tmp_path / "agencies.json"
    config.write_text(json.dumps({"bureau": {"latency_ms": BUREAU_LATENCY_MS}}))
    port = free_port()
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "neobank.cli.main", "agencies", "serve"),
        *("--port", str(port), "--config", str(config)),
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as sim:

            async def up() -> bool:
                try:
                    return (await sim.get("/_sim/stats")).status_code == 200
                except httpx.TransportError:
                    return False

            await _until(up, START_TIMEOUT_S, "serving")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()


async def _start_worker_process(
    database_url: str, agencies_url: str, data_dir: Path
) -> asyncio.subprocess.Process:
    env = {
        **os.environ,
        "NEOBANK_DATABASE_URL": database_url,
        "NEOBANK_DATA_DIR": str(data_dir),
        "NEOBANK_ADMIN_TOKEN": OPS_TOKEN,
        "NEOBANK_AGENCIES_URL": agencies_url,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "neobank.cli.main", "worker", env=env, start_new_session=True
    )


async def _requeue_the_dead_workers_jobs(database_url: str) -> None:
    """What maintenance.retry_stalled_jobs does every minute, with a short timeout."""
    connector = build_connector(database_url)
    with job_app.replace_connector(connector):
        await connector.open_async()
        try:

            async def requeued() -> bool:
                return bool(await requeue_stalled_jobs(job_app, seconds_since_heartbeat=0.1))

            await _until(requeued, 10.0, "requeued")
        finally:
            await connector.close_async()


async def test_a_killed_worker_loses_no_application_and_repeats_no_inquiry(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    database_url: str,
    agencies_url: str,
    tmp_path: Path,
) -> None:
    applicants = [await new_applicant(client, prime) for _ in range(APPLICATIONS)]
    ids = [(await applicant.submit())["id"] for applicant in applicants]
    process = await _start_worker_process(database_url, agencies_url, tmp_path / "worker")
    try:

        async def answering() -> bool:
            # The first answers are in (and recorded): the others are still on the wire.
            answered = await db.fetchval(
                "SELECT count(*) FROM loan_applications WHERE bureau IS NOT NULL"
            )
            return bool(answered >= KILL_AFTER_ANSWERS)

        await _until(answering, START_TIMEOUT_S, "answered")
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        await process.wait()
    in_flight = await db.fetchval(
        "SELECT count(*) FROM loan_applications WHERE stage = 'bureau' AND bureau IS NULL"
    )
    assert in_flight > 0  # the kill did land mid-flight
    await _requeue_the_dead_workers_jobs(database_url)

    pool = await create_pool(database_url, min_size=1, max_size=8)
    engine = LedgerEngine(pool)
    await engine.start()
    agencies = build_agency_clients(agencies_url)
    worker = JobWorker(database_url, JobResources(pool, engine, agencies))
    try:
        await worker.start()
        decided = [await wait_for(client, the_id) for the_id in ids]
    finally:
        await worker.stop()
        await agencies.aclose()
        await engine.stop()
        await pool.close()
    assert {d["status"] for d in decided} == {"approved"}
    async with httpx.AsyncClient(base_url=agencies_url) as sim:
        bureau = (await sim.get("/_sim/stats")).json()["bureau"]
    assert bureau["distinct_inquiry_keys"] == APPLICATIONS
    per_application = await db.fetch(
        "SELECT aggregate_id, count(*) FILTER (WHERE type = 'loan.bureau_inquired') AS inquired,"
        " count(*) FILTER (WHERE type = 'loan.decided') AS decided FROM events"
        " WHERE aggregate_type = 'loan_application' GROUP BY aggregate_id"
    )
    assert sorted(r["aggregate_id"] for r in per_application) == sorted(ids)
    assert {(r["inquired"], r["decided"]) for r in per_application} == {(1, 1)}
    print(
        f"\nkilled with {in_flight} of {APPLICATIONS} bureau calls in flight; bureau saw"
        f" {bureau['inquiries']} inquiries under {bureau['distinct_inquiry_keys']} keys"
    )
