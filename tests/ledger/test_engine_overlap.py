"""A second batch starts while one is in flight only if it carries at least
`overlap_transfers_min` transfers; a smaller one waits for the batch in flight to end and
takes everything that arrived meanwhile (`neobank.ledger.batch_queue`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from neobank.ledger.domain import ResultCode
from neobank.ledger.engine import LedgerEngine
from tests.ledger.conftest import open_accounts, submission
from tests.ledger.fake import transfer

OVERLAP_MIN = 4


class HeldFirstBatch:
    """Holds the engine's first batch until `release` is set; records each batch's
    submissions in the order the batches started."""

    def __init__(self, engine: LedgerEngine, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started: list[int] = []
        self.release = asyncio.Event()
        self.second_started = asyncio.Event()
        real = engine._commit_best_way

        async def commit(batch: list[Any]) -> Any:
            self.started.append(len(batch))
            if len(self.started) == 1:
                await asyncio.wait_for(self.release.wait(), 10)
            else:
                self.second_started.set()
            return await real(batch)

        monkeypatch.setattr(engine, "_commit_best_way", commit)


@pytest.fixture
async def engine(pool: asyncpg.Pool) -> AsyncIterator[LedgerEngine]:
    engine = LedgerEngine(pool, overlap_transfers_min=OVERLAP_MIN)
    await engine.start()
    yield engine
    await engine.stop()


async def _one_held_then(
    engine: LedgerEngine, db: asyncpg.Connection, held: HeldFirstBatch, more: int
) -> list[asyncio.Task[Any]]:
    """Submit one transfer and hold its batch, then `more` transfers of one each; the tasks
    of all of them, the held one first."""
    cash, *customers = await open_accounts(db, 0, *[0] * (1 + more))
    tasks = [asyncio.create_task(engine.submit(submission([transfer(cash, customers[0], 1)])))]
    while not held.started:
        await asyncio.sleep(0.01)
    for customer in customers[1:]:
        tasks.append(asyncio.create_task(engine.submit(submission([transfer(cash, customer, 1)]))))
    return tasks


async def _all_posted(tasks: list[asyncio.Task[Any]]) -> None:
    answers = await asyncio.gather(*tasks)
    assert all(a.outcomes and a.outcomes[0].code is ResultCode.OK for a in answers)


async def test_small_batches_wait_for_the_one_in_flight(
    engine: LedgerEngine, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldFirstBatch(engine, monkeypatch)
    tasks = await _one_held_then(engine, db, held, OVERLAP_MIN - 1)
    await asyncio.sleep(0.3)  # time enough for a second batch to start, were it allowed
    assert held.started == [1]
    held.release.set()
    await _all_posted(tasks)
    assert held.started == [1, OVERLAP_MIN - 1]  # the rest in one batch, after the first


async def test_a_batch_big_enough_starts_while_one_is_in_flight(
    engine: LedgerEngine, db: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldFirstBatch(engine, monkeypatch)
    tasks = await _one_held_then(engine, db, held, OVERLAP_MIN)
    await asyncio.wait_for(held.second_started.wait(), 10)
    assert held.started == [1, OVERLAP_MIN]  # while the first is still held
    held.release.set()
    await _all_posted(tasks)
