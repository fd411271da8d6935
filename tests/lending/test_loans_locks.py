"""The per-loan lock serialises holders of the same loan, lets other loans pass, and never
takes every pooled connection (holders inside need another one)."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg

from neobank.db.pool import create_pool
from neobank.lending.locks import LOCK_HOLDERS_MAX, loan_lock, lock_holders_max


async def test_loan_lock_serialises_one_loan_not_others(database_url: str) -> None:
    # A pool of 12 admits three holders (see lock_holders_max): a, b waiting for a, and c.
    pool: asyncpg.Pool = await create_pool(database_url, min_size=1, max_size=12)
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


HOLDERS = 24
POOL_SIZE_MAX = 4
DEADLINE_S = 20.0


async def test_more_holders_than_connections_all_finish(database_url: str) -> None:
    """Many more lock holders than the pool has connections, each needing a second connection
    inside the lock (as load_loan and the engine's commit do): none is left waiting forever,
    and no more than the pool's share ever hold a lock at once."""
    pool: asyncpg.Pool = await create_pool(database_url, min_size=1, max_size=POOL_SIZE_MAX)
    try:
        inside = 0
        most = 0

        async def step(loan_id: uuid.UUID) -> int:
            nonlocal inside, most
            async with loan_lock(pool, loan_id):
                inside += 1
                most = max(most, inside)
                await asyncio.sleep(0.01)
                value: int = await pool.fetchval("SELECT 1")
                inside -= 1
                return value

        shared = uuid.uuid4()  # a third of the steps are of one loan (they wait in a slot)
        loans = [shared if n % 3 == 0 else uuid.uuid4() for n in range(HOLDERS)]
        try:
            done = await asyncio.wait_for(asyncio.gather(*map(step, loans)), DEADLINE_S)
        except TimeoutError as exc:
            raise AssertionError("loan lock holders took every pooled connection") from exc
        assert done == [1] * HOLDERS
        assert most == lock_holders_max(pool) == 1
        locks = await pool.fetchval("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert locks == 0
    finally:
        pool.terminate()


async def test_the_pool_share_of_lock_holders() -> None:
    """A quarter of the pool, at least one, at most LOCK_HOLDERS_MAX (4 for the API's 20)."""

    class Sized:
        def __init__(self, size: int) -> None:
            self.size = size

        def get_max_size(self) -> int:
            return self.size

    shares = {n: lock_holders_max(Sized(n)) for n in (2, 4, 8, 16, 20, 100)}  # type: ignore[arg-type]
    assert shares == {2: 1, 4: 1, 8: 2, 16: 4, 20: 4, 100: LOCK_HOLDERS_MAX}
