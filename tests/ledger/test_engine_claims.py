"""Idempotency claims through the engine: a key does its work once, whoever asks again (in the
same batch, later, or through another process) gets the stored answer."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from neobank.db.pool import create_pool
from neobank.idempotency import Claim
from neobank.idempotency.errors import IdempotencyKeyMismatch
from neobank.ledger.engine import Answer, LedgerEngine
from tests.ledger.conftest import counters, open_accounts, submission
from tests.ledger.fake import transfer


def claim(key: str, body: bytes = b"same request") -> Claim:
    return Claim("test", key, body)


async def pay(engine: LedgerEngine, cash: object, target: object, c: Claim) -> Answer:
    # Each request builds a fresh transfer id (as payments does): only the key ties retries.
    return await engine.submit(submission([transfer(cash, target, 100)], claim=c))  # type: ignore[arg-type]


async def test_the_same_key_twice_in_one_batch_applies_once(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, target = await open_accounts(db, 0, 0)
    first, second = await asyncio.gather(
        pay(engine, cash, target, claim("k1")), pay(engine, cash, target, claim("k1"))
    )
    assert (first.replayed, second.replayed) == (False, True)
    assert second.answer == first.answer
    assert await counters(db, target) == [0, 100, 0, 0]


async def test_a_retried_key_replays_the_stored_answer(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, target = await open_accounts(db, 0, 0)
    first = await pay(engine, cash, target, claim("k2"))
    again = await pay(engine, cash, target, claim("k2"))
    assert (first.replayed, again.replayed) == (False, True)
    assert again.answer == first.answer and first.answer.body == {"codes": ["ok"]}
    assert await counters(db, target) == [0, 100, 0, 0]
    stored = await db.fetchrow(
        "SELECT status_code, response FROM idempotency_keys WHERE scope = 'test' AND key = 'k2'"
    )
    assert stored is not None and (stored["status_code"], stored["response"]) == (
        200,
        {"codes": ["ok"]},
    )


async def test_a_key_reused_for_another_request_is_refused(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, target = await open_accounts(db, 0, 0)
    await pay(engine, cash, target, claim("k3"))
    with pytest.raises(IdempotencyKeyMismatch):
        await pay(engine, cash, target, claim("k3", b"another request"))
    # And within one batch: the first owns the key, the second is refused.
    results = await asyncio.gather(
        pay(engine, cash, target, claim("k4")),
        pay(engine, cash, target, claim("k4", b"another request")),
        return_exceptions=True,
    )
    assert isinstance(results[0], Answer) and results[0].replayed is False
    assert isinstance(results[1], IdempotencyKeyMismatch)
    assert await counters(db, target) == [0, 200, 0, 0]


async def test_the_same_key_through_two_engines_applies_once(
    database_url: str, db: asyncpg.Connection
) -> None:
    pools = [await create_pool(database_url, min_size=1, max_size=2) for _ in range(2)]
    engines = [LedgerEngine(p) for p in pools]
    try:
        for engine in engines:
            await engine.start()
        cash, target = await open_accounts(db, 0, 0)
        keys = [f"shared-{n}" for n in range(20)]
        answers = await asyncio.gather(
            *(pay(e, cash, target, claim(k)) for k in keys for e in engines)
        )
        for k in range(len(keys)):
            pair = answers[2 * k : 2 * k + 2]
            assert sorted(a.replayed for a in pair) == [False, True]
            assert pair[0].answer == pair[1].answer
        assert await counters(db, target) == [0, 100 * len(keys), 0, 0]
    finally:
        for engine in engines:
            await engine.stop()
        for p in pools:
            await p.close()
