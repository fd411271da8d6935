"""When one submission of a batch breaks (its rows, its render), it fails alone and its
neighbours commit; when the engine stops, nobody is left waiting."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import asyncpg
import pytest

from neobank.idempotency import StoredAnswer
from neobank.ledger.check import check_ledger
from neobank.ledger.domain import ItemOutcome
from neobank.ledger.engine import LedgerEngine, Rendered, Submission
from neobank.ledger.errors import LedgerUnavailable
from tests.ledger.conftest import counters, open_accounts, submission
from tests.ledger.fake import transfer


async def divide_by_zero(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    await conn.execute("SELECT 1 / 0")


def render_with(writer: Any) -> Any:
    def render(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
        return Rendered(StoredAnswer(200, {}), writes=[(writer, ())])

    return render


def render_raising(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
    raise ValueError("a bug in one request's rendering")


@pytest.mark.parametrize(
    ("bad_render", "error"),
    [
        (render_with(divide_by_zero), asyncpg.exceptions.DivisionByZeroError),
        (render_raising, ValueError),
    ],
)
async def test_a_failing_submission_fails_alone_and_its_neighbours_commit(
    engine: LedgerEngine, db: asyncpg.Connection, bad_render: Any, error: type[Exception]
) -> None:
    cash, target = await open_accounts(db, 0, 0)
    good = [submission([transfer(cash, target, 1)]) for _ in range(10)]
    bad = Submission([[transfer(cash, target, 1_000)]], bad_render)
    batch = [*good[:5], bad, *good[5:]]
    # All submitted in one tick: the engine takes them as one batch.
    results = await asyncio.gather(*(engine.submit(s) for s in batch), return_exceptions=True)
    assert isinstance(results[5], error), results[5]
    assert all(not isinstance(r, BaseException) for r in results[:5] + results[6:]), results
    assert await counters(db, target) == [0, 10, 0, 0]
    assert (await check_ledger(db))["balanced"] is True


async def test_stopping_mid_batch_answers_every_waiting_request(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    engine = LedgerEngine(pool)
    await engine.start()
    cash, target = await open_accounts(db, 0, 0)
    # Hold the account's lock so the engine's batch is stuck inside its transaction.
    blocker = await pool.acquire()
    tx = blocker.transaction()
    await tx.start()
    await blocker.execute("SELECT 1 FROM ledger_accounts WHERE id = $1 FOR UPDATE", target)
    waiting = [
        asyncio.create_task(engine.submit(submission([transfer(cash, target, 1)])))
        for _ in range(5)
    ]
    await asyncio.sleep(0.2)
    await engine.stop()
    await tx.rollback()
    await pool.release(blocker)
    done, pending = await asyncio.wait(waiting, timeout=5)
    assert not pending, "a request was left waiting for an engine that stopped"
    for task in done:
        assert isinstance(task.exception(), LedgerUnavailable)
    with pytest.raises(LedgerUnavailable):
        await engine.submit(submission([transfer(cash, target, 1)]))
    assert await counters(db, target) == [0, 0, 0, 0]
