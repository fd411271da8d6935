"""What this process expects its accounts to hold once its batches in flight commit.

A batch applied pessimistically locks its accounts first, so it cannot even start on them
until the batch before it commits: the process computes, then PostgreSQL writes, then the
process computes again, never both at once. A forecast batch instead applies its chains to
the states the batches before it will leave (kept here as they apply), writes its transfers,
journal, answers and events without holding an account lock, and only then locks its
accounts in id order and updates them, in one statement that first checks each account
still holds what was forecast (counters, flags, limits). If any differs (a batch before it
failed, or another process changed the account), that statement changes nothing, the
transaction rolls back and the batch runs again pessimistically. The forecast only ever
decides what is attempted: what commits was checked under the locks.

Each state kept here names the batch attempt that left it (its `Turn`). A forecast batch
that starts from such states depends on those attempts, its producers, whatever their place
in line. It writes its journal only once they have written theirs (journal entries are
numbered as they are written, and each account's entries must follow the order in which its
balance changed: the ledger check reads the latest balance as the entry with the highest
number); it locks its accounts only once they hold theirs; and it commits only if they
committed. That last rule is not covered by the check under the locks: a producer that
missed and ran again locked commits the same counters a moment later, under journal
numbers after this batch's (found by `neobank bench` with two API processes: the ledger check
reported an account's latest journal balance off by one transfer). A wait that lasts longer
than `PRODUCER_WAIT_S` counts as a miss (a batch that copied a transfer id another batch in
flight also writes would otherwise wait for it forever). Batches also take turns in the
order they start, and a forecast batch reads the forecast only once the batch before it has
left its states there: that is what makes the forecast worth having, not what makes it safe.

After a miss the forecast rests for a growing number of batches (several processes sharing
hot accounts would miss again and again) and is tried again after that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import date
from uuid import UUID

from neobank.ledger.values import AccountState
from neobank.observability import metrics

__all__ = [
    "AccountFields",
    "Forecast",
    "ForecastMissed",
    "Turn",
    "expected_fields",
    "producers_passed",
]

# Accounts remembered at most; past it the forecast starts again from the database.
ACCOUNTS_MAX = 100_000
# Batches run pessimistically after a miss: 1, 2, 4, ... up to this many.
REST_BATCHES_MAX = 64
# How long a forecast batch waits for a producer's step before it gives up (a miss).
PRODUCER_WAIT_S = 5.0

# What the check under the locks compares: every field `apply_batch` reads or writes that
# anything else may change.
AccountFields = tuple[int, int | None, int, int, int, int, int, int, date | None]


def expected_fields(state: AccountState) -> AccountFields:
    return (state.flags, state.daily_debit_limit, state.overdraft_limit, *state.counters())


class Turn:
    """One batch attempt: when it has left its states to the forecast (`applied`), written its
    journal (`written`), locked its accounts (`locked`) and ended (`ended`, with `committed`
    telling how), and when the attempt before it in line left its states."""

    STEPS = ("applied", "written", "locked", "ended")

    def __init__(self, before: Turn | None) -> None:
        loop = asyncio.get_running_loop()
        # Only a future of the turn before is kept: turns never form a chain in memory.
        self._before_applied = before.steps["applied"] if before else None
        self.steps: dict[str, asyncio.Future[None]] = {s: loop.create_future() for s in self.STEPS}
        self.committed = False

    async def wait_before_applied(self) -> None:
        if self._before_applied is not None:
            await asyncio.shield(self._before_applied)

    def passed(self, step: str) -> None:
        future = self.steps[step]
        if not future.done():
            future.set_result(None)

    def end(self, *, committed: bool) -> None:
        """Whatever happened to the attempt, nobody need wait for it any more."""
        self.committed = committed
        for step in self.STEPS:
            self.passed(step)


async def producers_passed(producers: Iterable[Turn], step: str) -> bool:
    """Wait until every producer has passed `step`; False if that took too long."""
    pending = [p.steps[step] for p in producers if not p.steps[step].done()]
    if not pending:
        return True
    try:
        await asyncio.wait_for(asyncio.shield(asyncio.gather(*pending)), PRODUCER_WAIT_S)
    except TimeoutError:
        return False
    return True


class ForecastMissed(Exception):
    """A forecast batch found an account not as forecast: it rolled back, to run locked."""


class Forecast:
    def __init__(self, accounts_max: int = ACCOUNTS_MAX) -> None:
        self._accounts_max = accounts_max
        self._states: dict[UUID, tuple[AccountState, Turn]] = {}
        self._rest_batches = 0
        self._rest_after_miss = 1
        self._last_turn: Turn | None = None

    def turn(self) -> Turn:
        """A place in line for a batch attempt that holds its connection."""
        self._last_turn = Turn(self._last_turn)
        return self._last_turn

    def ready(self) -> bool:
        """Whether the next batch is forecast (False while resting after a miss)."""
        if self._rest_batches > 0:
            self._rest_batches -= 1
            return False
        return True

    def states(self, ids: Iterable[UUID]) -> tuple[dict[UUID, AccountState], list[UUID], set[Turn]]:
        """Copies of the forecast states of `ids` (the batch mutates them), the ids this
        process knows nothing about (to be read from the database), and the attempts that
        left the states (the batch depends on them, unless they committed already)."""
        known: dict[UUID, AccountState] = {}
        unknown: list[UUID] = []
        producers: set[Turn] = set()
        for account_id in ids:
            kept = self._states.get(account_id)
            if kept is None:
                unknown.append(account_id)
                continue
            state, producer = kept
            known[account_id] = state.copy()
            if not (producer.steps["ended"].done() and producer.committed):
                producers.add(producer)
        return known, unknown, producers

    def remember(self, states: Iterable[AccountState], turn: Turn) -> None:
        """States a batch attempt leaves (forecast or read under its locks): the next
        batch's start."""
        if len(self._states) >= self._accounts_max:
            self._states.clear()
        for state in states:
            self._states[state.id] = (state.copy(), turn)

    def hit(self) -> None:
        self._rest_after_miss = 1
        metrics.LEDGER_FORECAST_BATCHES.labels("hit").inc()

    def miss(self) -> ForecastMissed:
        """A forecast was wrong: forget everything and rest before forecasting again.
        Returns the exception that rolls the batch back."""
        self._states.clear()
        self._rest_batches = self._rest_after_miss
        self._rest_after_miss = min(2 * self._rest_after_miss, REST_BATCHES_MAX)
        metrics.LEDGER_FORECAST_BATCHES.labels("miss").inc()
        return ForecastMissed()

    def forget(self) -> None:
        """A batch failed after it was remembered: its states may never come to be."""
        self._states.clear()
