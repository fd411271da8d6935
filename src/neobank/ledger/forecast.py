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

Batches take turns in the order they start. A forecast batch reads the forecast only once
the batch before it has left its states there; writes its journal only once that batch has
written its own (journal entries are numbered as they are written, and each account's
entries must follow the order in which its balance changed: the ledger check reads the
latest balance as the entry with the highest number); and locks its accounts only once that
batch holds its locks (else it could find the accounts without that batch's changes).

After a miss the forecast rests for a growing number of batches (several processes sharing
hot accounts would miss again and again) and is tried again after that.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from datetime import date
from uuid import UUID

from neobank.ledger.values import AccountState

__all__ = ["AccountFields", "Forecast", "Turn", "expected_fields"]

# Accounts remembered at most; past it the forecast starts again from the database.
ACCOUNTS_MAX = 100_000
# Batches run pessimistically after a miss: 1, 2, 4, ... up to this many.
REST_BATCHES_MAX = 64

# What the check under the locks compares: every field `apply_batch` reads or writes that
# anything else may change.
AccountFields = tuple[int, int | None, int, int, int, int, int, int, date | None]


def expected_fields(state: AccountState) -> AccountFields:
    return (state.flags, state.daily_debit_limit, state.overdraft_limit, *state.counters())


class Turn:
    """One batch's place in line. Three steps happen in the order of the turns: leaving states
    to the forecast (`applied`), writing the journal (`written`) and locking the accounts
    (`locked`). A forecast batch waits for the batch before it to pass each step before it
    takes that step; a locked batch never waits (its locks order it)."""

    STEPS = ("applied", "written", "locked")

    def __init__(self, before: Turn | None) -> None:
        loop = asyncio.get_running_loop()
        # Only the futures of the turn before are kept: turns never form a chain in memory.
        self._before = before._passed if before else {}
        self._passed: dict[str, asyncio.Future[None]] = {
            step: loop.create_future() for step in self.STEPS
        }

    async def wait_before(self, step: str) -> None:
        """Until the batch before this one has passed `step` (or ended)."""
        before = self._before.get(step)
        if before is not None:
            await asyncio.shield(before)

    def passed(self, step: str) -> None:
        future = self._passed[step]
        if not future.done():
            future.set_result(None)

    def end(self) -> None:
        """Whatever happened to the batch, the batches after it need not wait for it now."""
        for step in self.STEPS:
            self.passed(step)


class Forecast:
    def __init__(self, accounts_max: int = ACCOUNTS_MAX) -> None:
        self._accounts_max = accounts_max
        self._states: dict[UUID, AccountState] = {}
        self._rest_batches = 0
        self._rest_after_miss = 1
        self._last_turn: Turn | None = None

    def turn(self) -> Turn:
        """A place in line for a batch about to start (taken before its first await)."""
        self._last_turn = Turn(self._last_turn)
        return self._last_turn

    def ready(self) -> bool:
        """Whether the next batch is forecast (False while resting after a miss)."""
        if self._rest_batches > 0:
            self._rest_batches -= 1
            return False
        return True

    def states(self, ids: Iterable[UUID]) -> tuple[dict[UUID, AccountState], list[UUID]]:
        """Copies of the forecast states of `ids` (the batch mutates them), and the ids this
        process knows nothing about (to be read from the database)."""
        known: dict[UUID, AccountState] = {}
        unknown: list[UUID] = []
        for account_id in ids:
            state = self._states.get(account_id)
            if state is None:
                unknown.append(account_id)
            else:
                known[account_id] = replace(state)
        return known, unknown

    def remember(self, states: Iterable[AccountState]) -> None:
        """States a batch leaves (forecast or read under its locks): the next batch's start."""
        if len(self._states) >= self._accounts_max:
            self._states.clear()
        for state in states:
            self._states[state.id] = replace(state)

    def hit(self) -> None:
        self._rest_after_miss = 1

    def miss(self) -> None:
        """A forecast was wrong: forget everything and rest before forecasting again."""
        self._states.clear()
        self._rest_batches = self._rest_after_miss
        self._rest_after_miss = min(2 * self._rest_after_miss, REST_BATCHES_MAX)

    def forget(self) -> None:
        """A batch failed after it was remembered: its states may never come to be."""
        self._states.clear()
