"""The engine on a real database: random concurrent submissions keep the books, many requests
share one transaction, and two engines (two processes) on the same accounts never deadlock."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prometheus_client import REGISTRY

from neobank.db.pool import create_pool
from neobank.ledger.check import check_ledger
from neobank.ledger.domain import ItemOutcome, ResultCode, TransferFlags, TransferSpec
from neobank.ledger.engine import LedgerEngine
from tests.ledger.conftest import LIMITED, counters, open_accounts, submission, submit
from tests.ledger.fake import resolve, transfer

Chain = list[TransferSpec]

# (kind, debit, credit, amount, wave, with a linked fee to the bank)
OPS = st.lists(
    st.tuples(
        st.sampled_from(["plain", "plain", "pending", "post", "void"]),
        st.integers(0, 3),
        st.integers(0, 3),
        st.integers(1, 700),
        st.integers(0, 2),
        st.booleans(),
    ),
    min_size=1,
    max_size=30,
)


def build_chains(
    ops: list[tuple[str, int, int, int, int, bool]], ids: list[uuid.UUID]
) -> list[tuple[int, Chain]]:
    chains: list[tuple[int, Chain]] = []
    pendings: list[TransferSpec] = []
    for kind, debit, credit, amount, wave, fee in ops:
        if kind in ("post", "void") and pendings:
            held = pendings[(debit * 4 + credit) % len(pendings)]
            flag = TransferFlags.POST_PENDING if kind == "post" else TransferFlags.VOID_PENDING
            chains.append((wave, [resolve(held, flag, min(amount, held.amount))]))
            continue
        flags = TransferFlags.PENDING if kind == "pending" else TransferFlags.NONE
        spec = transfer(ids[debit], ids[(debit + 1 + credit % 3) % 4], amount, flags=flags)
        if kind == "pending":
            pendings.append(spec)
        chain = [spec]
        if fee and kind != "pending":
            chain = [
                transfer(spec.debit_account_id, spec.credit_account_id, amount, flags=1),
                transfer(spec.debit_account_id, ids[0], 10),
            ]
        chains.append((wave, chain))
    return chains


def expected_counters(
    results: Sequence[tuple[Chain, ItemOutcome]], held: dict[uuid.UUID, TransferSpec]
) -> dict[uuid.UUID, list[int]]:
    """The counters that the accepted chains, and only they, add up to."""
    expected: dict[uuid.UUID, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for chain, outcome in results:
        if outcome.code is not ResultCode.OK:
            continue
        for spec in chain:
            debit, credit = expected[spec.debit_account_id], expected[spec.credit_account_id]
            if spec.pending_id is not None:
                debit[2] -= held[spec.pending_id].amount
                credit[3] -= held[spec.pending_id].amount
            if spec.flags & TransferFlags.PENDING:
                debit[2] += spec.amount
                credit[3] += spec.amount
            elif not spec.flags & TransferFlags.VOID_PENDING:
                debit[0] += spec.amount
                credit[1] += spec.amount
    return expected


async def assert_books(conn: asyncpg.Connection) -> None:
    report = await check_ledger(conn)
    assert report["mismatches"] == [] and report["balanced"] is True, report
    negative = await conn.fetchval(
        "SELECT count(*) FROM ledger_accounts WHERE flags & 1 <> 0 "
        "AND credits_posted - debits_posted - debits_pending < 0"
    )
    assert negative == 0


async def submit_in_waves(
    engines: Sequence[LedgerEngine], waves: list[list[Chain]]
) -> list[tuple[Chain, ItemOutcome]]:
    """Each chain is its own request; a wave arrives while the one before is still queued."""
    tasks: list[tuple[Chain, asyncio.Task[list[ItemOutcome]]]] = []
    for wave in waves:
        for n, chain in enumerate(wave):
            engine = engines[n % len(engines)]
            tasks.append((chain, asyncio.create_task(submit(engine, chain))))
        await asyncio.sleep(0.001)
    outcomes = await asyncio.gather(*(task for _, task in tasks))
    return [(chain, out[0]) for (chain, _), out in zip(tasks, outcomes, strict=True)]


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=OPS)
async def test_random_concurrent_submissions_keep_the_books(
    engine: LedgerEngine, db: asyncpg.Connection, ops: list[tuple[str, int, int, int, int, bool]]
) -> None:
    ids = await open_accounts(db, 0, LIMITED, LIMITED, LIMITED)
    funding = [[transfer(ids[0], i, 1_000)] for i in ids[1:]]
    assert [o.code for o in await submit(engine, *funding)] == [ResultCode.OK] * 3
    chains = build_chains(ops, ids)
    results = await submit_in_waves([engine], [[c for w, c in chains if w == n] for n in range(3)])
    held = {s.id: s for _, c in chains for s in c if s.flags & TransferFlags.PENDING}
    expected = expected_counters([(c, ItemOutcome(ResultCode.OK)) for c in funding] + results, held)
    for account_id in ids:
        assert await counters(db, account_id) == expected[account_id]
    stored = await db.fetch(
        "SELECT id FROM transfers WHERE debit_account_id = ANY($1::uuid[])", ids
    )
    accepted = [s.id for c, o in results if o.code is ResultCode.OK for s in c]
    assert {r["id"] for r in stored} == {s[0].id for s in funding} | set(accepted)
    await assert_books(db)


async def deadlocks_seen(db: asyncpg.Connection) -> int:
    """Deadlocks PostgreSQL detected in this database, once the other backends have exited
    (a backend flushes its statistics when it ends)."""
    for _ in range(100):
        others = await db.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        if others == 0:
            break
        await asyncio.sleep(0.02)
    await db.execute("SELECT pg_stat_clear_snapshot()")
    count: int = await db.fetchval(
        "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
    )
    return count


def _commits() -> float:
    return REGISTRY.get_sample_value("neobank_ledger_commit_seconds_count") or 0.0


async def test_many_concurrent_requests_share_a_few_transactions(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, target = await open_accounts(db, 0, 0)
    before = _commits()
    requests = 300
    outcomes = await asyncio.gather(
        *(submit(engine, [transfer(cash, target, 1)]) for _ in range(requests))
    )
    batches = _commits() - before
    assert all(o[0].code is ResultCode.OK for o in outcomes)
    assert 1 <= batches <= requests / 10, batches
    # Each batch stamps its transfers with one time: the database saw as few transactions.
    stamps = await db.fetchval(
        "SELECT count(DISTINCT created_at) FROM transfers WHERE credit_account_id = $1", target
    )
    assert stamps <= batches
    assert await counters(db, target) == [0, requests, 0, 0]


async def test_engines_on_separate_pools_share_hot_accounts_without_deadlock(
    database_url: str, db: asyncpg.Connection
) -> None:
    # Three "processes": a wrong lock order needs two transactions queued behind a third.
    pools = [await create_pool(database_url, min_size=1, max_size=2) for _ in range(3)]
    # Small batches: many interleaved transactions from both "processes".
    engines = [LedgerEngine(p, batch_transfers_max=8, overlap_transfers_min=0) for p in pools]
    try:
        for engine in engines:
            await engine.start()
        ids = await open_accounts(db, 0, *[LIMITED] * 5)
        cash, customers = ids[0], ids[1:]
        await submit(engines[0], *[[transfer(cash, c, 5_000)] for c in customers])
        rng = random.Random(7)
        waves: list[list[Chain]] = []
        for _ in range(6):
            wave = []
            for _ in range(60):
                debit, credit = rng.sample(customers, 2)
                amount = rng.randint(1, 900)
                # Every chain also hits the hot bank account, in either direction.
                wave.append(
                    [
                        transfer(debit, credit, amount, flags=1),
                        rng.choice([transfer(debit, cash, 7), transfer(cash, credit, 3)]),
                    ]
                )
            waves.append(wave)
        results = await submit_in_waves(engines, waves)
        codes = {o.code for _, o in results}
        assert codes <= {ResultCode.OK, ResultCode.INSUFFICIENT_FUNDS}, codes
        assert ResultCode.OK in codes
        expected = expected_counters(results, {})
        for c in customers:
            posted = await counters(db, c)
            assert posted[0] == expected[c][0]
            assert posted[1] == expected[c][1] + 5_000
        await assert_books(db)
    finally:
        for engine in engines:
            await engine.stop()
        for p in pools:
            await p.close()
    # Retries would hide a deadlock from the outcomes: ask PostgreSQL whether it broke one.
    assert await deadlocks_seen(db) == 0


async def test_a_submission_of_many_chains_gets_one_outcome_per_chain(
    engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, a, b = await open_accounts(db, 0, LIMITED, LIMITED)
    answer = await engine.submit(
        submission(
            [transfer(cash, a, 100)],
            [transfer(a, b, 150)],
            [transfer(a, b, 60, flags=1), transfer(a, cash, 40)],
            [transfer(a, b, 1)],
        )
    )
    assert answer.answer.body == {"codes": ["ok", "insufficient_funds", "ok", "insufficient_funds"]}
    assert answer.replayed is False
    assert await counters(db, a) == [100, 100, 0, 0]
    await assert_books(db)
