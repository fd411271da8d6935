"""`neobank worker`: a JobWorker in a process of its own (no API), until SIGINT or SIGTERM."""

from __future__ import annotations

import asyncio
import signal

from neobank.agencies.client import build_agency_clients
from neobank.config import Settings, load_settings
from neobank.customers.auth import load_signing_key
from neobank.db.pool import create_pool
from neobank.ledger.engine import LedgerEngine
from neobank.onboarding.waiting_room import build_waiting_room
from neobank.workers.queue import JobResources
from neobank.workers.worker import JOB_CONCURRENCY, JobWorker

__all__ = ["run_workers"]

# Jobs in flight each hold a connection only around their queries, not their agency calls.
POOL_SIZE_MAX = 16


async def run_workers(database_url: str, settings: Settings | None = None) -> None:
    settings = settings or load_settings()
    pool = await create_pool(database_url, max_size=POOL_SIZE_MAX)
    engine = LedgerEngine(pool)
    await engine.start()
    agencies = build_agency_clients(settings.agencies_url)
    # The room is shared only through Redis; without it, it lives in the API process, which
    # takes this worker's samples and releases from the jobs' notices (onboarding.changes).
    waiting_room = None
    if settings.redis_url:
        waiting_room = build_waiting_room(
            redis_url=settings.redis_url, signing_key=await load_signing_key(pool)
        )
    resources = JobResources(pool, engine, agencies, waiting_room)
    worker = JobWorker(database_url, resources, concurrency=JOB_CONCURRENCY)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await worker.start()
        await stop.wait()
    finally:
        await worker.stop()
        await agencies.aclose()
        if waiting_room is not None:
            await waiting_room.aclose()
        await engine.stop()
        await pool.close()
