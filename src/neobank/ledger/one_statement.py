"""A forecast batch of a few transfers, committed in one statement: one round trip.

The forecast route (`neobank.ledger.forecast`) takes six round trips in a transaction: BEGIN,
claim the keys, look up the transfer ids, write, lock and update the accounts, COMMIT. A batch
of a few transfers whose keys appear once (`fits_one_statement`) instead bets that its keys
and transfer ids are new, applies its chains to the forecast states, and sends everything in
one statement outside a transaction block (`neobank.db.statement`): the claims with their
answers, transfers, journal, events and parts, and the checked update of its accounts, whose
final select fails the statement unless every account held what was forecast (migration
0010). The statement commits or fails as a whole:

- a key or transfer id stored before fails it with a unique violation (`NotNew`): the
  engine runs the batch again in a transaction, which replays stored answers and answers an
  existing transfer as such;
- an account not as forecast fails it (`ForecastMissed`): the batch runs again locked.

It writes its journal and locks its accounts at the same moment, so it sends its statement
only once the batches that left its states (its producers) have committed. A batch with
extra row writers (`Rendered.writes`) runs its statement and writers in a transaction of
their own.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import asyncpg

from neobank.db.statement import WriteStatement
from neobank.errors import NeobankError
from neobank.ledger import store
from neobank.ledger.domain import TransferSpec
from neobank.ledger.forecast import Forecast, Turn, producers_passed
from neobank.ledger.forecast_check import (
    FORECAST_NOT_HELD,
    add_update_as_forecast,
    apply_to_forecast,
)
from neobank.ledger.submission import Answer, Submission, render_batch

__all__ = ["NotNew", "commit_one_statement", "fits_one_statement"]


class NotNew(Exception):
    """A one-statement batch found a key or transfer id stored before: it wrote nothing."""


def fits_one_statement(batch: Sequence[Submission], transfers_max: int) -> bool:
    """A few transfers, each key once: a duplicate in the batch replays the first one's
    answer, which only the transaction route reads back."""
    keys = [(sub.claim.scope, sub.claim.key) for sub in batch if sub.claim is not None]
    transfers = sum(sub.transfer_count for sub in batch)
    return 0 < transfers <= transfers_max and len(set(keys)) == len(keys)


async def commit_one_statement(
    conn: asyncpg.Connection,
    forecast: Forecast,
    batch: list[Submission],
    chains: list[list[TransferSpec]],
    turn: Turn,
) -> dict[int, Answer | NeobankError]:
    """Apply `batch` to the forecast and commit it in one statement; each submission's
    answer by `id()`. Raises `NotNew` or `ForecastMissed` (see the module) having written
    nothing."""
    applied = await apply_to_forecast(conn, forecast, chains, {}, turn)
    producers = applied.producers
    ended = await producers_passed(producers, "ended")
    if not (ended and all(p.committed for p in producers)):
        raise forecast.miss()
    statement = WriteStatement()
    store.add_ledger_writes(statement, applied.outcome, applied.now, accounts=False)
    by_sub, writes = render_batch(
        statement, batch, applied.outcome.items, applied.now, new_claims=True
    )
    held = add_update_as_forecast(statement, applied.expected, applied.accounts)
    # The count is a parameter, not a literal: the statement's text then depends only on
    # which parts it has, and each connection prepares it once, not once per count.
    expected = statement.param(len(applied.expected))
    select = f"SELECT ledger_forecast_held((SELECT n FROM {held}), {expected}::bigint)"
    try:
        async with conn.transaction() if writes else contextlib.nullcontext():
            await statement.fetchval(conn, select)
            for writer, rows in writes.items():
                await writer(conn, rows)
    except asyncpg.exceptions.UniqueViolationError as exc:
        raise NotNew() from exc
    except asyncpg.PostgresError as exc:
        if exc.sqlstate == FORECAST_NOT_HELD:
            raise forecast.miss() from exc
        raise
    forecast.hit()
    return by_sub
