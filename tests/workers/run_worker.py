"""A JobWorker in a process of its own, with the test blueprint, until it is killed."""

from __future__ import annotations

import asyncio
import sys

from neobank.db.pool import create_pool
from neobank.ledger.engine import LedgerEngine
from neobank.workers.queue import JobResources
from neobank.workers.tasks import load_blueprints
from neobank.workers.worker import JobWorker
from tests.workers.jobs import PATH


async def main(database_url: str) -> None:
    load_blueprints([PATH])
    pool = await create_pool(database_url, min_size=1, max_size=4)
    engine = LedgerEngine(pool)
    await engine.start()
    resources = JobResources(pool=pool, engine=engine, agencies=None)  # type: ignore[arg-type]
    await JobWorker(database_url, resources).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
