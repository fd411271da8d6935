"""The per-loan lock serialises holders of the same loan and lets other loans pass."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from neobank.db.pool import create_pool
from neobank.lending.locks import loan_lock


async def test_loan_lock_serialises_one_loan_not_others(database_url: str) -> None:
    pool: asyncpg.Pool = await create_pool(database_url, min_size=1, max_size=4)
    try:
        loan, other = uuid.uuid4(), uuid.uuid4()
        order: list[str] = []

        async def hold(name: str, loan_id: uuid.UUID, wait_s: float) -> None:
            async with loan_lock(pool, loan_id):
                order.append(f"{name}+")
                await asyncio.sleep(wait_s)
                order.append(f"{name}-")

        first = asyncio.create_task(hold("a", loan, 0.2))
        await asyncio.sleep(0.05)
        await asyncio.gather(hold("b", loan, 0), hold("c", other, 0), first)
        assert order.index("b+") > order.index("a-")
        assert order.index("c+") < order.index("a-")
        locks = await pool.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert locks == 0
    finally:
        await pool.close()
