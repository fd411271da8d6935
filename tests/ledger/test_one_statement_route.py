"""Small forecast batches committed in one statement (`neobank.ledger.one_statement`): what
they write is whole, and whatever their bet gets wrong falls back to a transaction that
writes nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from neobank.db.pool import create_pool
from neobank.events.outbox import EventRow
from neobank.idempotency import Claim, StoredAnswer
from neobank.ledger import store
from neobank.ledger.domain import AccountFlags, ItemOutcome, ResultCode
from neobank.ledger.engine import LedgerEngine, Rendered, Submission
from neobank.ledger.one_statement import fits_one_statement
from tests.ledger.conftest import LIMITED, counters, open_accounts, submission, submit
from tests.ledger.fake import transfer
from tests.ledger.test_engine import assert_books
from tests.ledger.test_forecast import journal_runs_in_order


def forecast_misses() -> float:
    value = REGISTRY.get_sample_value("neobank_ledger_forecast_batches_total", {"result": "miss"})
    return value or 0.0


def batches(route: str) -> float:
    value = REGISTRY.get_sample_value("neobank_ledger_batches_total", {"route": route})
    return value or 0.0


def render_with_event(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
    codes = [o.code.value for o in outcomes]
    event = EventRow("transfer.tested", "transfer", "t", {"codes": codes})
    return Rendered(StoredAnswer(201, {"codes": codes}), [event])


async def stored(db: asyncpg.Connection, key: str) -> Any:
    return await db.fetchrow(
        "SELECT status_code, response FROM idempotency_keys WHERE scope = 'test' AND key = $1",
        key,
    )


def render_nothing(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
    return Rendered(StoredAnswer(200, {}))


async def test_only_few_transfers_with_each_key_once_fit_one_statement() -> None:
    cash, other = uuid.uuid4(), uuid.uuid4()

    def sub(key: str | None, transfers: int = 1) -> Submission:
        claim = Claim("test", key, b"r") if key else None
        chains = [[transfer(cash, other, 1)] for _ in range(transfers)]
        return Submission(chains, render_nothing, claim)

    assert fits_one_statement([sub("a"), sub("b"), sub(None), sub(None)], 255)
    assert not fits_one_statement([sub("a"), sub("a")], 255)  # the second replays the first
    assert not fits_one_statement([sub("a", transfers=256)], 255)
    assert not fits_one_statement([sub("a")], 0)
    assert not fits_one_statement([Submission([], render_nothing)], 255)


async def test_a_payment_commits_its_transfer_answer_and_event_in_one_statement(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, customer = await open_accounts(db, 0, LIMITED)
    one, forecast = batches("one_statement"), batches("forecast")
    claim = Claim("test", "pay-1", b"request")
    answer = await engine.submit(
        Submission([[transfer(cash, customer, 700)]], render_with_event, claim)
    )
    assert answer.replayed is False and answer.answer.body == {"codes": ["ok"]}
    assert (batches("one_statement"), batches("forecast")) == (one + 1, forecast)
    row = await stored(db, "pay-1")
    assert (row["status_code"], row["response"]) == (201, {"codes": ["ok"]})
    assert await db.fetchval("SELECT count(*) FROM events WHERE type = 'transfer.tested'") == 1
    assert await counters(db, customer) == [0, 700, 0, 0]
    await assert_books(db)


async def test_a_key_stored_before_replays_through_a_transaction(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, customer = await open_accounts(db, 0, 0)
    claim = Claim("test", "pay-2", b"request")
    first = await engine.submit(submission([transfer(cash, customer, 100)], claim=claim))
    forecast = batches("forecast")
    # A retry builds a new transfer id: the unique key fails the statement, nothing is written.
    again = await engine.submit(submission([transfer(cash, customer, 100)], claim=claim))
    assert (first.replayed, again.replayed) == (False, True)
    assert again.answer == first.answer
    assert batches("forecast") == forecast + 1
    assert await counters(db, customer) == [0, 100, 0, 0]
    assert await db.fetchval("SELECT count(*) FROM transfers") == 1
    await assert_books(db)


async def test_a_transfer_id_stored_before_is_answered_as_existing(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, customer = await open_accounts(db, 0, 0)
    spec = transfer(cash, customer, 300)
    assert [o.code for o in await submit(engine, [spec])] == [ResultCode.OK]
    assert [o.code for o in await submit(engine, [spec])] == [ResultCode.EXISTS]
    changed = transfer(cash, customer, 301, id=spec.id)
    assert [o.code for o in await submit(engine, [changed])] == [
        ResultCode.EXISTS_WITH_DIFFERENT_FIELDS
    ]
    assert await counters(db, customer) == [0, 300, 0, 0]
    await assert_books(db)


async def test_an_account_changed_behind_the_forecast_leaves_no_trace_of_the_statement(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    """The statement's checked update fails it whole (its key, answer and event with it);
    the batch runs again locked and stores the answer it gets there."""
    cash, customer = await open_accounts(db, 0, LIMITED)
    await submit(engine, [transfer(cash, customer, 500)])
    await store.set_account_flags(db, customer, int(AccountFlags.CLOSED), 0)
    locked = batches("locked")
    claim = Claim("test", "pay-3", b"request")
    answer = await engine.submit(
        Submission([[transfer(customer, cash, 100)]], render_with_event, claim)
    )
    assert answer.answer.body == {"codes": ["account_closed"]}
    assert batches("locked") == locked + 1
    row = await stored(db, "pay-3")
    assert (row["status_code"], row["response"]) == (201, {"codes": ["account_closed"]})
    assert await db.fetchval("SELECT count(*) FROM events WHERE type = 'transfer.tested'") == 1
    assert await counters(db, customer) == [0, 500, 0, 0]
    await assert_books(db)


async def test_a_failing_row_writer_takes_the_statement_down_with_it(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    """Extra row writers run in one transaction with the statement: a writer that fails
    leaves neither the transfer nor the key behind."""
    cash, customer = await open_accounts(db, 0, 0)

    async def failing_writer(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
        await conn.execute("SELECT 1/0")

    def render(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
        return Rendered(StoredAnswer(201, {}), writes=[(failing_writer, ())])

    claim = Claim("test", "pay-4", b"request")
    with pytest.raises(asyncpg.DivisionByZeroError):
        await engine.submit(Submission([[transfer(cash, customer, 100)]], render, claim))
    assert await stored(db, "pay-4") is None
    assert await counters(db, customer) == [0, 0, 0, 0]
    assert await db.fetchval("SELECT count(*) FROM transfers") == 0
    await assert_books(db)


async def test_a_batch_built_on_a_statement_that_failed_does_not_commit_as_forecast(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """The second batch applies to the states the first left before the first's statement
    fails (an account changed behind it): it waits for the first to end and, as that did not
    commit, runs again locked instead of committing on states that never came to be. The
    change behind the forecast holds its row lock until the second batch has applied, so the
    first statement fails only then (without it, the first could fail before the second
    started, and the second would rightly read the accounts afresh)."""
    engine = LedgerEngine(pool, batch_transfers_max=1, overlap_transfers_min=0)
    await engine.start()
    try:
        x, y, z = await open_accounts(db, 0, 0, 0)
        await submit(engine, [transfer(x, y, 1)], [transfer(x, z, 1)])  # the forecast knows them
        misses, locked = forecast_misses(), batches("locked")
        async with db.transaction():
            await store.set_overdraft_limit(db, z, 5)  # behind the forecast, locked till commit
            both = asyncio.gather(
                submit(engine, [transfer(x, z, 30)]), submit(engine, [transfer(x, y, 70)])
            )
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
            async with asyncio.timeout(5):
                while await db.fetchval(waiting) == 0:  # the first statement waits for z
                    await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # the second takes a connection and applies meanwhile
        first, second = await both
        assert [o.code for o in first + second] == [ResultCode.OK, ResultCode.OK]
        assert forecast_misses() == misses + 2
        assert batches("locked") == locked + 2
        assert await counters(db, x) == [102, 0, 0, 0]
        await journal_runs_in_order(db)
        await assert_books(db)
    finally:
        await engine.stop()


async def test_batches_of_any_size_share_one_prepared_statement(database_url: str) -> None:
    """The statement's text depends only on its parts, not on how many accounts it checks:
    each connection prepares it once (a count written into the text made one statement per
    count, each prepared by every connection)."""
    pool = await create_pool(database_url, min_size=1, max_size=1)
    engine = LedgerEngine(pool)
    await engine.start()
    try:
        cash, *customers = await open_accounts(pool, 0, 0, 0, 0)
        one = batches("one_statement")
        for size in (1, 2, 3):  # 2, 3 and 4 accounts
            chains = [[transfer(cash, customer, 5)] for customer in customers[:size]]
            await submit(engine, *chains)
        assert batches("one_statement") == one + 3
        prepared = await pool.fetchval(
            "SELECT count(*) FROM pg_prepared_statements "
            "WHERE statement LIKE 'WITH %ledger_forecast_held%'"
        )
        assert prepared == 1
    finally:
        await engine.stop()
        await pool.close()
