"""The batching ledger engine: group commit of many requests in one database transaction.

Requests hand the engine a `Submission` (one or more chains of transfers, an optional
idempotency claim, and how to turn results into an answer). One task per process takes
everything queued (up to `batch_transfers_max`) and applies it in ONE transaction: claim the
idempotency keys, lock the touched accounts in id order, check each chain in arrival order
against balances in memory, insert transfers and journal entries, update each touched account
once, store the answers and events, commit. Then every waiting request gets its own result.

Most batches are forecast (`neobank.ledger.forecast`): they check their chains against the
states the batches before them will leave, write without account locks, and lock their
accounts only to check those states and update them; a batch whose accounts differ rolls
back and runs again locked, as above. A forecast batch of a few transfers is committed in one
statement instead of a transaction (`neobank.ledger.one_statement`): one round trip. Posts and
voids of pending transfers always run locked.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_random

from neobank.db.statement import WriteStatement
from neobank.errors import NeobankError
from neobank.ledger import store
from neobank.ledger.batch_queue import BatchQueue
from neobank.ledger.claims import claim_batch, replay
from neobank.ledger.domain import (
    BatchOutcome,
    TransferSpec,
    apply_batch,
    touched_account_ids,
)
from neobank.ledger.errors import LedgerUnavailable
from neobank.ledger.forecast import (
    Forecast,
    ForecastMissed,
    Turn,
    producers_passed,
)
from neobank.ledger.forecast_check import apply_to_forecast, lock_and_update_as_forecast
from neobank.ledger.one_statement import NotNew, commit_one_statement, fits_one_statement
from neobank.ledger.submission import (
    Answer,
    Rendered,
    RowPart,
    RowWriter,
    Submission,
    render_batch,
)
from neobank.observability import metrics

__all__ = ["Answer", "LedgerEngine", "Rendered", "RowPart", "RowWriter", "Submission"]

log = structlog.get_logger(__name__)

# A batch takes at most this many transfers (one submission larger than this goes alone).
BATCH_TRANSFERS_MAX = 16_384
# Batches one process applies at once, each on its own connection. Three against two, in
# interleaved pairs: big batches 19,656-22,113 transfers/s against 18,018-22,113 (never
# fewer), single transfers at the peak of 64 connections 3,078-3,114/s against
# 2,476-2,730. Four did no better for single transfers (docs/BENCHMARKS.md, eleventh
# session).
BATCHES_IN_FLIGHT_MAX = 3
# A batch starts while another is in flight only if it carries at least this many transfers;
# a smaller one waits for the batch in flight to end, gathering what arrives meanwhile.
# Overlapping pays once there is enough to carry: the next batch is computed while the one
# before is in PostgreSQL. It does not pay for a few transfers, whose commits cost about 1 ms
# of PostgreSQL's CPU and 0.6 ms of this process's whatever they carry: with no bound, at
# 1,081 single transfers/s, overlapping made 40-100% more commits of 1-2 transfers each, and
# the machine spent 15-20% more CPU a transfer (docs/BENCHMARKS.md, ninth session). 32 is
# reached only near the single-transfer peak (~35 a commit): there, 64 connections got
# 2,150-3,148/s against 1,966-2,672/s with 256, seven interleaved pairs, and at 1,500/s
# the two kept the same latency (eleventh session).
OVERLAP_TRANSFERS_MIN = 32
# A forecast batch of at most this many transfers commits in one statement (0: never).
ONE_STATEMENT_TRANSFERS_MAX = store.COPY_TRANSFERS_MIN - 1
# A transaction that deadlocks or collides with another process is retried this many times.
BATCH_ATTEMPTS_MAX = 5


_RETRYABLE = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.UniqueViolationError,
)
_CONNECTION_LOST = (OSError, asyncpg.exceptions.ConnectionDoesNotExistError)


class LedgerEngine:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        batch_transfers_max: int = BATCH_TRANSFERS_MAX,
        batches_in_flight_max: int = BATCHES_IN_FLIGHT_MAX,
        overlap_transfers_min: int = OVERLAP_TRANSFERS_MIN,
        one_statement_transfers_max: int = ONE_STATEMENT_TRANSFERS_MAX,
    ) -> None:
        assert one_statement_transfers_max < store.COPY_TRANSFERS_MIN, "one statement never copies"
        self._pool = pool
        self._one_statement_transfers_max = one_statement_transfers_max
        self._batches = BatchQueue(
            batch_transfers_max=batch_transfers_max, overlap_transfers_min=overlap_transfers_min
        )
        self._task: asyncio.Task[None] | None = None
        # A next batch prepares and waits on its locks while the one before commits (fsync):
        # the database and this process work at the same time.
        self._slots = asyncio.Semaphore(batches_in_flight_max)
        self._in_flight: set[asyncio.Task[None]] = set()
        self._forecast = Forecast()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="ledger-engine")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for task in list(self._in_flight):
            task.cancel()
        for task in list(self._in_flight):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for pending in self._batches.drain():
            if not pending.future.done():
                pending.future.set_exception(LedgerUnavailable("the ledger is shutting down"))

    async def submit(self, submission: Submission) -> Answer:
        if self._task is None or self._task.done():
            raise LedgerUnavailable("the ledger engine is not running")
        try:
            self._batches.put(submission)
        except asyncio.QueueFull:
            metrics.LEDGER_REJECTED.inc()
            raise LedgerUnavailable("the ledger queue is full, retry later") from None
        return await asyncio.shield(submission.future)

    async def _run(self) -> None:
        while True:
            await self._slots.acquire()
            try:
                batch = await self._batches.take(self._in_flight)
            except BaseException:
                self._slots.release()
                raise
            task = asyncio.create_task(self._apply(batch), name="ledger-batch")
            self._in_flight.add(task)
            task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._in_flight.discard(task)
        self._batches.batch_ended()

    async def _apply(self, batch: list[Submission]) -> None:
        try:
            await self._commit_isolating_failures(batch)
        except asyncio.CancelledError:
            # Stopping mid-batch: the transaction rolls back (or, if COMMIT was already
            # sent, may have committed); either way the caller retries with its key.
            _fail(batch, LedgerUnavailable("the ledger stopped during this request"))
            raise
        except Exception as exc:  # a batch's failure must never stop the engine
            log.exception("ledger.batch_failed", submissions=len(batch))
            _fail(batch, exc)
        finally:
            self._slots.release()

    async def _commit_isolating_failures(self, batch: list[Submission]) -> None:
        try:
            await self._commit_with_retries(batch)
        except Exception as exc:
            # Any failure but a lost connection may belong to one submission alone: a row
            # writer's constraint, a render that raised (not only a PostgresError).
            if len(batch) == 1 or isinstance(exc, _CONNECTION_LOST):
                raise
            # One bad submission must not sink its neighbours: commit them one by one.
            log.warning("ledger.batch_split", submissions=len(batch), error=str(exc))
            for sub in batch:
                try:
                    await self._commit_with_retries([sub])
                except Exception as single_exc:
                    log.exception("ledger.submission_failed")
                    sub.future.set_exception(single_exc)

    async def _commit_with_retries(self, batch: list[Submission]) -> None:
        try:
            results = await self._commit_best_way(batch)
        except _RETRYABLE as failure:
            results = await self._retry(batch, failure)
        for sub, result in zip(batch, results, strict=True):
            if sub.future.done():
                continue
            if isinstance(result, NeobankError):
                sub.future.set_exception(result)
            else:
                sub.future.set_result(result)

    async def _retry(
        self, batch: list[Submission], failure: Exception
    ) -> list[Answer | NeobankError]:
        """tenacity's attempts after a first one that failed with `failure` (which counts as
        the first: same attempts and waits as if tenacity had run it). The first attempt runs
        outside tenacity because every `AsyncRetrying` is a nest of reference cycles (~34
        objects) that only the garbage collector frees: one a commit made a 10-13 ms pause
        of the event loop every second at 1,000 transfers/s (measured with gc.callbacks)."""
        failures = [failure]
        results: list[Answer | NeobankError] | None = None
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(_RETRYABLE),
            stop=stop_after_attempt(BATCH_ATTEMPTS_MAX),
            wait=wait_random(0, 0.02),
            reraise=True,
        ):
            with attempt:
                if failures:
                    raise failures.pop()
                results = await self._commit_best_way(batch)
        assert results is not None
        return results

    async def _commit_best_way(self, batch: list[Submission]) -> list[Answer | NeobankError]:
        """In one statement if the batch can be (`neobank.ledger.one_statement`), else
        forecast, else locked; each route falls back to the next when its bet fails."""
        # Posts and voids read their pending transfers under the accounts' locks.
        forecast = (
            not any(t.pending_id for sub in batch for c in sub.chains for t in c)
            and self._forecast.ready()
        )
        try:
            if forecast and fits_one_statement(batch, self._one_statement_transfers_max):
                with contextlib.suppress(NotNew):
                    return await self._commit(batch, _ONE_STATEMENT)
            if forecast:
                return await self._commit(batch, _FORECAST)
        except ForecastMissed:
            pass
        return await self._commit(batch, _LOCKED)

    async def _commit(self, batch: list[Submission], route: str) -> list[Answer | NeobankError]:
        started = time.perf_counter()
        chains = [chain for sub in batch for chain in sub.chains]
        try:
            async with self._pool.acquire() as conn:
                # A batch takes its turn with a connection in hand: none ever waits for a
                # batch before it that is still waiting for a connection.
                turn = self._forecast.turn()
                committed = False
                try:
                    if route == _ONE_STATEMENT:
                        by_sub = await commit_one_statement(
                            conn, self._forecast, batch, chains, turn
                        )
                    else:
                        async with conn.transaction():
                            live = await claim_batch(conn, batch)
                            chains = [chain for sub in live for chain in sub.chains]
                            commit = (
                                self._commit_forecast if route == _FORECAST else self._commit_locked
                            )
                            by_sub = await commit(conn, live, chains, turn)
                            for sub in batch:
                                if id(sub) not in by_sub:
                                    by_sub[id(sub)] = await replay(conn, sub)
                    committed = True
                finally:
                    turn.end(committed=committed)
        except BaseException:
            self._forecast.forget()  # what this batch left to the forecast never came to be
            raise
        metrics.LEDGER_BATCHES.labels(route).inc()
        metrics.LEDGER_COMMIT_SECONDS.observe(time.perf_counter() - started)
        metrics.LEDGER_BATCH_TRANSFERS.observe(len(chains))
        return [by_sub[id(sub)] for sub in batch]

    async def _commit_locked(
        self,
        conn: asyncpg.Connection,
        live: list[Submission],
        chains: list[list[TransferSpec]],
        turn: Turn,
    ) -> dict[int, Answer | NeobankError]:
        """Lock the accounts, read them and the batch's transfers, apply, write."""
        transfer_ids = [t.id for c in chains for t in c]
        accounts = (
            await store.lock_accounts(conn, sorted(touched_account_ids(chains)))
            if transfer_ids
            else {}
        )
        turn.passed("locked")
        # Read the clock once the locks are held, so that expiry and the daily limit are
        # judged at the time the batch really applies, and created_at follows lock order.
        now = datetime.now(UTC)
        pending_ids = [t.pending_id for c in chains for t in c if t.pending_id]
        existing, pendings = (
            await store.load_for_batch(conn, transfer_ids, pending_ids)
            if transfer_ids
            else ({}, {})
        )
        outcome = apply_batch(chains, accounts, pendings, existing, now)
        self._forecast.remember(accounts.values(), turn)
        turn.passed("applied")
        by_sub, writes = await self._write(conn, live, outcome, now, turn, producers=None)
        for writer, rows in writes.items():
            await writer(conn, rows)
        return by_sub

    async def _commit_forecast(
        self,
        conn: asyncpg.Connection,
        live: list[Submission],
        chains: list[list[TransferSpec]],
        turn: Turn,
    ) -> dict[int, Answer | NeobankError]:
        """Apply against the forecast, write without account locks, then lock the accounts
        and update them only if they hold what was forecast (`neobank.ledger.forecast`)."""
        transfer_ids = [t.id for c in chains for t in c]
        existing, _ = await store.load_for_batch(conn, transfer_ids, [])
        applied = await apply_to_forecast(conn, self._forecast, chains, existing, turn)
        producers = applied.producers
        by_sub, writes = await self._write(
            conn, live, applied.outcome, applied.now, turn, producers=producers
        )
        for writer, rows in writes.items():
            await writer(conn, rows)
        if not await producers_passed(producers, "locked"):
            raise self._forecast.miss()
        held = await lock_and_update_as_forecast(conn, applied.expected, applied.accounts)
        turn.passed("locked")
        # The producers held these accounts before this batch could lock them: they have
        # ended by now, or are about to. A producer that did not commit never left these
        # states, even if the counters match (its locked retry commits the same ones later).
        ended = await producers_passed(producers, "ended")
        if not (held and ended and all(p.committed for p in producers)):
            raise self._forecast.miss()
        self._forecast.hit()
        return by_sub

    async def _write(
        self,
        conn: asyncpg.Connection,
        live: list[Submission],
        outcome: BatchOutcome,
        now: datetime,
        turn: Turn,
        *,
        producers: set[Turn] | None,
    ) -> tuple[dict[int, Answer | NeobankError], dict[RowWriter, list[tuple[Any, ...]]]]:
        """Write the batch's transfers, journal, answers and events, and, for a locked batch
        (`producers` None), its accounts' counters: in one statement, one round trip; a big
        batch copies its transfers and journal apart. A forecast batch writes its journal
        only after its producers have written theirs (see `neobank.ledger.forecast`); a big
        one writes everything else first, at the same time as they do."""
        copy = len(outcome.transfers) >= store.COPY_TRANSFERS_MIN
        statement = WriteStatement()
        locked = producers is None
        store.add_ledger_writes(statement, outcome, now, accounts=locked, rows=not copy)
        by_sub, writes = render_batch(statement, live, outcome.items, now)
        if copy:
            await store.copy_transfers(conn, outcome, now)
            await statement.execute(conn)
        if producers and not await producers_passed(producers, "written"):
            raise self._forecast.miss()
        await (store.copy_journal(conn, outcome) if copy else statement.execute(conn))
        turn.passed("written")
        return by_sub, writes


# How a batch is committed (`neobank_ledger_batches_total{route}`).
_ONE_STATEMENT, _FORECAST, _LOCKED = "one_statement", "forecast", "locked"


def _fail(batch: Sequence[Submission], exc: BaseException) -> None:
    for sub in batch:
        if not sub.future.done():
            sub.future.set_exception(exc)
