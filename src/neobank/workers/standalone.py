"""`neobank worker`: the background jobs in a process of their own."""

from __future__ import annotations

import asyncio
import signal

from neobank.db.pool import create_pool
from neobank.ledger.engine import LedgerEngine
from neobank.workers.runner import BackgroundWorkers

__all__ = ["run_workers"]


async def run_workers(database_url: str) -> None:
    pool = await create_pool(database_url, max_size=4)
    engine = LedgerEngine(pool)
    await engine.start()
    workers = BackgroundWorkers(pool, engine)
    await workers.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await workers.stop()
        await engine.stop()
        await pool.close()
