"""Forecast batches: applied against the states the batches before them leave, written
without account locks, committed only if every account held what was forecast."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import asyncpg
import pytest
from prometheus_client import REGISTRY

from neobank.db.pool import create_pool
from neobank.idempotency import StoredAnswer
from neobank.ledger import forecast as forecast_module
from neobank.ledger import store
from neobank.ledger.domain import (
    AccountFlags,
    AccountState,
    ItemOutcome,
    ResultCode,
    TransferFlags,
)
from neobank.ledger.engine import ONE_STATEMENT_TRANSFERS_MAX, LedgerEngine, Rendered, Submission
from neobank.ledger.forecast import REST_BATCHES_MAX, Forecast, producers_passed
from tests.ledger.conftest import LIMITED, counters, open_accounts, submit
from tests.ledger.fake import resolve, transfer
from tests.ledger.test_engine import assert_books


def forecast_batches(result: str) -> float:
    value = REGISTRY.get_sample_value("neobank_ledger_forecast_batches_total", {"result": result})
    return value or 0.0


async def journal_runs_in_order(db: asyncpg.Connection) -> None:
    """Along each account's journal, in sequence order, every entry's balance follows from
    the one before (the check reads the latest balance as the highest sequence number)."""
    rows = await db.fetch(
        "SELECT account_id, side, amount, balance_after FROM journal_entries "
        "ORDER BY account_id, seq"
    )
    balance: dict[uuid.UUID, int] = {}
    for r in rows:
        # balance_after is the account's credits minus debits posted.
        sign = 1 if r["side"] == "C" else -1
        balance[r["account_id"]] = balance.get(r["account_id"], 0) + sign * r["amount"]
        assert r["balance_after"] == balance[r["account_id"]], dict(r)


@pytest.fixture(params=[ONE_STATEMENT_TRANSFERS_MAX, 0], ids=["one_statement", "transaction"])
async def small_batch_engine(
    pool: asyncpg.Pool, request: pytest.FixtureRequest
) -> AsyncIterator[LedgerEngine]:
    """An engine whose small forecast batches commit in one statement, or in a transaction."""
    engine = LedgerEngine(pool, one_statement_transfers_max=request.param, overlap_transfers_min=0)
    await engine.start()
    yield engine
    await engine.stop()


async def test_concurrent_batches_run_as_forecast_and_keep_the_books(
    small_batch_engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    engine = small_batch_engine
    ids = await open_accounts(db, 0, *[LIMITED] * 6)
    cash, customers = ids[0], ids[1:]
    await submit(engine, *[[transfer(cash, c, 10_000)] for c in customers])
    hits = forecast_batches("hit")
    rng = random.Random(3)
    requests = []
    for _ in range(300):
        debit, credit = rng.sample(customers, 2)
        requests.append(submit(engine, [transfer(debit, credit, rng.randint(1, 4_000))]))
    outcomes = [o for out in await asyncio.gather(*requests) for o in out]
    codes = {o.code for o in outcomes}
    assert codes <= {ResultCode.OK, ResultCode.INSUFFICIENT_FUNDS} and ResultCode.OK in codes
    assert forecast_batches("hit") > hits
    await assert_books(db)
    await journal_runs_in_order(db)


async def test_big_forecast_batches_number_their_journal_in_the_order_balances_change(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """Each batch writes its journal while the one after it applies: without waiting for
    the batch before it, the next one's entries would be numbered among its entries."""
    engine = LedgerEngine(pool, batch_transfers_max=2_000)
    await engine.start()
    try:
        ids = await open_accounts(db, 0, *[LIMITED] * 4)
        cash, customers = ids[0], ids[1:]
        await submit(engine, *[[transfer(cash, c, 10**9)] for c in customers])
        rng = random.Random(5)
        batches = [
            [[transfer(*rng.sample(customers, 2), rng.randint(1, 100))] for _ in range(2_000)]
            for _ in range(4)
        ]
        outcomes = await asyncio.gather(*(submit(engine, *chains) for chains in batches))
        assert {o.code for out in outcomes for o in out} == {ResultCode.OK}
        await journal_runs_in_order(db)
        await assert_books(db)
    finally:
        await engine.stop()


async def test_big_batches_copy_their_rows_on_both_paths(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    """Holds are forecast; their posts read the holds under the locks: both copy their
    transfers and journal once a batch is big enough."""
    cash, customer = await open_accounts(db, 0, LIMITED)
    count = store.COPY_TRANSFERS_MIN + 10
    held = [transfer(cash, customer, 7, flags=TransferFlags.PENDING) for _ in range(count)]
    assert {o.code for o in await submit(engine, *[[h] for h in held])} == {ResultCode.OK}
    posts = [[resolve(h, TransferFlags.POST_PENDING)] for h in held]
    assert {o.code for o in await submit(engine, *posts)} == {ResultCode.OK}
    assert await counters(db, customer) == [0, 7 * count, 0, 0]
    assert await db.fetchval("SELECT count(*) FROM journal_entries") == 2 * count
    await assert_books(db)
    await journal_runs_in_order(db)


async def test_a_batch_built_on_an_attempt_that_missed_does_not_commit_as_forecast(
    pool: asyncpg.Pool, db: asyncpg.Connection
) -> None:
    """The first batch's forecast attempt misses (an account of its changed behind it) and
    runs again locked, committing the same counters later. The second batch started from the
    first attempt's states: its counters check would pass, but its journal came first."""
    engine = LedgerEngine(
        pool, batch_transfers_max=1, one_statement_transfers_max=0, overlap_transfers_min=0
    )
    await engine.start()
    x, y, z = await open_accounts(db, 0, 0, 0)
    second_wrote, first_retry_wrote = asyncio.Event(), asyncio.Event()
    attempts = {"first": 0, "second": 0}

    async def first_writer(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
        attempts["first"] += 1
        if attempts["first"] == 1:  # the forecast attempt: change z behind it
            await store.set_overdraft_limit(db, z, 5)
            await asyncio.wait_for(second_wrote.wait(), 5)
        else:  # the locked retry, holding x and z
            first_retry_wrote.set()

    async def second_writer(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
        attempts["second"] += 1
        if attempts["second"] == 1:  # journal written; lock x only after the retry holds it
            second_wrote.set()
            await asyncio.wait_for(first_retry_wrote.wait(), 5)

    def rendering(writer: Any) -> Any:
        def render(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
            return Rendered(StoredAnswer(200, {}), writes=[(writer, ())])

        return render

    try:
        first = Submission([[transfer(x, z, 30)]], rendering(first_writer))
        second = Submission([[transfer(x, y, 70)]], rendering(second_writer))
        answers = await asyncio.gather(engine.submit(first), engine.submit(second))
        assert [a.outcomes[0].code for a in answers if a.outcomes] == [ResultCode.OK] * 2
        await journal_runs_in_order(db)
        await assert_books(db)
        assert attempts == {"first": 2, "second": 2}  # the second ran again, locked
    finally:
        await engine.stop()


async def test_an_account_changed_behind_the_forecast_is_caught_under_the_lock(
    small_batch_engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    engine = small_batch_engine
    cash, customer = await open_accounts(db, 0, LIMITED)
    assert [o.code for o in await submit(engine, [transfer(cash, customer, 500)])] == [
        ResultCode.OK
    ]
    # The engine's forecast now holds the customer's account as open; close it behind it.
    await store.set_account_flags(db, customer, int(AccountFlags.CLOSED), 0)
    misses = forecast_batches("miss")
    outcomes = await submit(engine, [transfer(customer, cash, 100)])
    assert [o.code for o in outcomes] == [ResultCode.ACCOUNT_CLOSED]
    assert forecast_batches("miss") == misses + 1
    assert await counters(db, customer) == [0, 500, 0, 0]
    await assert_books(db)


@pytest.mark.parametrize("one_statement_max", [ONE_STATEMENT_TRANSFERS_MAX, 0])
async def test_two_engines_moving_the_same_accounts_never_commit_a_stale_forecast(
    database_url: str, db: asyncpg.Connection, one_statement_max: int
) -> None:
    """Two "processes": each one's forecast goes stale whenever the other moves money. Their
    small batches run in one statement, or (0) in a transaction."""
    pools = [await create_pool(database_url, min_size=1, max_size=4) for _ in range(2)]
    engines = [
        LedgerEngine(
            p,
            batch_transfers_max=4,
            one_statement_transfers_max=one_statement_max,
            overlap_transfers_min=0,
        )
        for p in pools
    ]
    try:
        for engine in engines:
            await engine.start()
        ids = await open_accounts(db, 0, *[LIMITED] * 8)
        cash, customers = ids[0], ids[1:]
        await submit(engines[0], *[[transfer(cash, c, 1_000)] for c in customers])
        rng = random.Random(11)
        # Misses make locked retries and rests, which run between forecast batches.
        for _ in range(4):
            requests = []
            for n in range(300):
                debit, credit = rng.sample(customers, 2)
                amount = rng.randint(1, 600)
                requests.append(submit(engines[n % 2], [transfer(debit, credit, amount)]))
            outcomes = [o for out in await asyncio.gather(*requests) for o in out]
            assert {o.code for o in outcomes} <= {ResultCode.OK, ResultCode.INSUFFICIENT_FUNDS}
            await journal_runs_in_order(db)
        # Money is conserved and no limited account went below zero, whichever path ran.
        balances = [(await counters(db, c))[1] - (await counters(db, c))[0] for c in customers]
        assert sum(balances) == 8_000 and min(balances) >= 0
        await assert_books(db)
        await journal_runs_in_order(db)
    finally:
        for engine in engines:
            await engine.stop()
        for p in pools:
            await p.close()


def _state(credits: int) -> AccountState:
    return AccountState(uuid.uuid4(), "KRW", 2000, 0, credits_posted=credits)


def _copy_of(state: AccountState, **changes: int) -> AccountState:
    return dataclasses.replace(state, **changes)


async def test_the_forecast_hands_out_copies_and_names_what_it_does_not_know() -> None:
    forecast = Forecast()
    known = _state(100)
    forecast.remember([known], forecast.turn())
    stranger = uuid.uuid4()
    states, unknown, _ = forecast.states([known.id, stranger])
    assert unknown == [stranger]
    assert states[known.id] == known and states[known.id] is not known
    states[known.id].credits_posted += 50
    known.debits_posted += 7  # what it remembered is a copy as well
    assert forecast.states([known.id])[0][known.id] == _copy_of(known, debits_posted=0)


async def test_after_a_miss_the_forecast_forgets_and_rests_longer_each_time() -> None:
    forecast = Forecast()
    account = _state(100)
    rests = []
    for _ in range(9):
        forecast.remember([account], forecast.turn())
        forecast.miss()
        assert forecast.states([account.id])[1] == [account.id]
        rest = 0
        while not forecast.ready():
            rest += 1
        rests.append(rest)
    assert rests == [1, 2, 4, 8, 16, 32, 64, REST_BATCHES_MAX, REST_BATCHES_MAX]
    forecast.hit()
    forecast.miss()
    assert not forecast.ready() and forecast.ready()


async def test_a_turn_waits_for_the_turn_before_it_to_apply() -> None:
    forecast = Forecast()
    first, second = forecast.turn(), forecast.turn()
    waiting = asyncio.create_task(second.wait_before_applied())
    first.passed("written")
    await asyncio.sleep(0)
    assert not waiting.done()
    first.passed("applied")
    await asyncio.wait_for(waiting, 1)


async def test_a_batch_depends_on_the_attempts_that_left_its_states() -> None:
    forecast = Forecast()
    producer, other = forecast.turn(), forecast.turn()
    mine, theirs = _state(100), _state(5)
    forecast.remember([mine], producer)
    forecast.remember([theirs], other)
    other.end(committed=True)
    _, _, producers = forecast.states([mine.id, theirs.id])
    assert producers == {producer}  # an attempt that committed is nothing to wait for
    waiting = asyncio.create_task(producers_passed(producers, "written"))
    await asyncio.sleep(0)
    assert not waiting.done()
    producer.end(committed=False)
    assert await asyncio.wait_for(waiting, 1) is True
    assert not producer.committed


async def test_waiting_for_a_producer_gives_up_after_a_while(monkeypatch: Any) -> None:
    monkeypatch.setattr(forecast_module, "PRODUCER_WAIT_S", 0.01)
    stuck = Forecast().turn()
    assert await producers_passed({stuck}, "written") is False
