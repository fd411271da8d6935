"""Micro-benchmark of the ledger engine alone (no HTTP): transfers/s and mean commit time.

Starts an embedded PostgreSQL under a data dir of its own (default /tmp/engine-micro, wiped
first), migrates a fresh database, opens ~1000 ledger accounts (balance-limited, funded from
one unlimited account), starts a `LedgerEngine` and runs two workloads:

- `single`: N single-transfer chains from C concurrent submitters (closed loop), each
  submission with an idempotency claim, a stored answer and one event, like a payment;
- `batch`: a few submissions of 8190 chains each from 4 concurrent submitters.

It prints transfers/s, commits and mean commit time per workload, then checks the ledger
(`neobank.ledger.check.check_ledger` must report it balanced, or the run fails).

`--loop-busy-ms X` adds a task that keeps the event loop busy X ms at a time (as HTTP parsing
does under load), so that every round trip to the database waits a turn of the loop.

    .venv/bin/python bench/engine_micro.py [--single 20000] [--submitters 64]
        [--batches 8] [--loop-busy-ms 0] [--data-dir /tmp/engine-micro]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import shutil
import time
import uuid
from datetime import datetime
from pathlib import Path

from neobank.benchmark.runner import recreate_database
from neobank.db.embedded import start_embedded
from neobank.db.migrate import migrate
from neobank.db.pool import create_pool
from neobank.events.outbox import EventRow
from neobank.idempotency.service import Claim, StoredAnswer
from neobank.ledger import store
from neobank.ledger.check import check_ledger
from neobank.ledger.domain import AccountFlags, ItemOutcome, TransferSpec
from neobank.ledger.engine import LedgerEngine, Rendered, Submission
from neobank.observability import metrics

ACCOUNTS = 1000
FUNDING = 10**12


def _render(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
    codes = [o.code.value for o in outcomes]
    event = EventRow("transfer.completed", "transfer", "x", {"codes": codes[:4]})
    return Rendered(StoredAnswer(201, {"codes": codes[:4], "n": len(codes)}), [event])


def _spec(debit: uuid.UUID, credit: uuid.UUID, amount: int) -> TransferSpec:
    return TransferSpec(uuid.uuid4(), debit, credit, amount, "KRW", 1)


def _commit_stats() -> tuple[float, float]:
    count = total = 0.0
    for family in metrics.LEDGER_COMMIT_SECONDS.collect():
        for sample in family.samples:
            if sample.name.endswith("_count"):
                count = sample.value
            elif sample.name.endswith("_sum"):
                total = sample.value
    return count, total


async def _busy_loop(ms: float) -> None:
    while True:
        end = time.perf_counter() + ms / 1000
        while time.perf_counter() < end:
            pass
        await asyncio.sleep(0)


async def _measure(name: str, transfers: int, work: object) -> None:
    count0, total0 = _commit_stats()
    started = time.perf_counter()
    await work  # type: ignore[misc]
    elapsed = time.perf_counter() - started
    count1, total1 = _commit_stats()
    commits = count1 - count0
    mean_ms = 1000 * (total1 - total0) / commits if commits else 0.0
    print(
        f"{name:7s} {transfers:7d} transfers in {elapsed:6.2f} s: {transfers / elapsed:8.0f}"
        f" transfers/s, {commits:.0f} commits, mean commit {mean_ms:.1f} ms"
    )


async def _run(args: argparse.Namespace, url: str) -> None:
    pool = await create_pool(url, min_size=2, max_size=4)
    limited = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
    bank = uuid.uuid4()
    await store.create_account(pool, bank, "KRW", 1000, 0)
    ids = [uuid.uuid4() for _ in range(ACCOUNTS)]
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO ledger_accounts (id, currency, code, flags) VALUES ($1, 'KRW', 2000, $2)",
            [(i, limited) for i in ids],
        )
    engine = LedgerEngine(pool)
    await engine.start()
    busy = asyncio.create_task(_busy_loop(args.loop_busy_ms)) if args.loop_busy_ms else None
    rng = random.Random(7)
    await engine.submit(Submission([[_spec(bank, i, FUNDING)] for i in ids], _render))

    def chain() -> list[TransferSpec]:
        debit, credit = rng.sample(ids, 2)
        return [_spec(debit, credit, rng.randint(1, 1000))]

    async def single_submitter(count: int) -> None:
        for _ in range(count):
            key = uuid.uuid4().hex
            claim = Claim("bench", key, key.encode())
            await engine.submit(Submission([chain()], _render, claim))

    async def batch_submitter(count: int) -> None:
        for _ in range(count):
            await engine.submit(Submission([chain() for _ in range(8190)], _render))

    per = args.single // args.submitters
    await _measure(
        "single",
        per * args.submitters,
        asyncio.gather(*(single_submitter(per) for _ in range(args.submitters))),
    )
    per_batch = args.batches // 4
    if per_batch:
        submitters = (batch_submitter(per_batch) for _ in range(4))
        await _measure("batch", per_batch * 4 * 8190, asyncio.gather(*submitters))
    if busy is not None:
        busy.cancel()
    await engine.stop()
    async with pool.acquire() as conn:
        report = await check_ledger(conn)
    await pool.close()
    print(f"ledger check: balanced={report['balanced']}")
    if not report["balanced"]:
        raise SystemExit(f"ledger NOT balanced: {report}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--single", type=int, default=20_000)
    parser.add_argument("--submitters", type=int, default=64)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--loop-busy-ms", type=float, default=0.0)
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/engine-micro"))
    args = parser.parse_args()
    shutil.rmtree(args.data_dir / "pg", ignore_errors=True)
    server_url = start_embedded(args.data_dir)
    url = asyncio.run(recreate_database(server_url, "engine_micro"))
    migrate(url)
    asyncio.run(_run(args, url))


if __name__ == "__main__":
    main()
