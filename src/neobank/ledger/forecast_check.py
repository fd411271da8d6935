"""A forecast batch around the database: applied to the states it expects its accounts to
hold, then checked under the locks.

A forecast batch (`neobank.ledger.forecast`) applies its chains to the states the batches
before it leave (`apply_to_forecast`), writes, and only then locks the accounts, in one
statement part that compares each with what was expected and updates them only if every one
matches (`add_update_as_forecast`). Both routes that forecast (in a transaction, and in one
statement: `neobank.ledger.one_statement`) go through both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from uuid import UUID

import asyncpg

from neobank.db.sql import in_ids
from neobank.db.statement import WriteStatement
from neobank.ledger import store
from neobank.ledger.domain import apply_batch, touched_account_ids
from neobank.ledger.forecast import AccountFields, Forecast, Turn, expected_fields
from neobank.ledger.values import AccountState, BatchOutcome, TransferSpec

__all__ = [
    "FORECAST_NOT_HELD",
    "ForecastApplied",
    "add_update_as_forecast",
    "apply_to_forecast",
    "lock_and_update_as_forecast",
]

# What `ledger_forecast_held` raises (migration 0010) when an account is not as forecast.
FORECAST_NOT_HELD = "NB001"


@dataclass
class ForecastApplied:
    outcome: BatchOutcome
    # The accounts' states after the batch, and what the check expects them to hold before.
    accounts: dict[UUID, AccountState]
    expected: dict[UUID, AccountFields]
    # The attempts that left the states the batch started from (`Forecast.states`).
    producers: set[Turn]
    now: datetime


async def apply_to_forecast(
    conn: asyncpg.Connection,
    forecast: Forecast,
    chains: list[list[TransferSpec]],
    existing: dict[UUID, TransferSpec],
    turn: Turn,
) -> ForecastApplied:
    """Once the attempt before `turn` has applied, apply `chains` to the forecast states of
    their accounts (those the forecast does not know read as last committed, without a
    lock), leave the new states to the next batch, and pass `applied`. `existing`: the
    transfers already stored with the chains' ids."""
    await turn.wait_before_applied()
    accounts, unknown, producers = forecast.states(sorted(touched_account_ids(chains)))
    if unknown:
        accounts.update(await store.read_accounts(conn, unknown))
    expected = {account_id: expected_fields(s) for account_id, s in accounts.items()}
    now = datetime.now(UTC)
    outcome = apply_batch(chains, accounts, {}, existing, now)
    forecast.remember(accounts.values(), turn)
    turn.passed("applied")
    return ForecastApplied(outcome, accounts, expected, producers, now)


# An account's row in the check: its id, whether the batch changes it, the fields expected
# (`AccountFields`) and the counters to write.
_EXPECTED_COLUMNS = (
    ("id", "uuid"),
    ("changed", "boolean"),
    *((name, "int" if name == "f" else "bigint") for name in ("f", "dl", "ol")),
    *((name, "bigint") for name in ("dp0", "cp0", "dpe0", "cpe0", "dt0")),
    ("dtd0", "date"),
    *((name, "bigint") for name in ("dp", "cp", "dpe", "cpe", "dt")),
    ("dtd", "date"),
)


def add_update_as_forecast(
    statement: WriteStatement,
    expected: dict[UUID, AccountFields],
    after: dict[UUID, AccountState],
) -> str:
    """Add to a statement: lock the accounts a forecast batch read (`expected`: their fields
    as forecast, see `neobank.ledger.forecast`) in id order, and write `after`'s counters if
    every account still holds what was expected. Returns the name of the part whose one row,
    `n`, counts the accounts that did (all of them, or nothing was written). The lock reads
    each row's latest committed version (READ COMMITTED), which the update then changes."""
    ids = sorted(expected)
    rows = []
    for account_id in ids:
        new = after[account_id].counters()
        before = expected[account_id]
        rows.append((account_id, new != before[3:], *before, *new))
    u = statement.add(f"SELECT * FROM {statement.rows(_EXPECTED_COLUMNS, rows)}", materialized=True)
    locked = statement.add(
        f"SELECT * FROM ledger_accounts WHERE id {in_ids(statement.param(ids))} "
        "ORDER BY id FOR UPDATE",
        materialized=True,
    )
    checked = statement.add(
        f"""
        SELECT count(*) AS n FROM {locked} l JOIN {u} u ON u.id = l.id
        WHERE l.flags = u.f AND l.daily_debit_limit IS NOT DISTINCT FROM u.dl
          AND l.overdraft_limit = u.ol
          AND l.debits_posted = u.dp0 AND l.credits_posted = u.cp0
          AND l.debits_pending = u.dpe0 AND l.credits_pending = u.cpe0
          AND l.debits_today = u.dt0 AND l.debits_today_date IS NOT DISTINCT FROM u.dtd0
        """
    )
    statement.add(  # runs whether or not it is read, like every data-modifying part
        f"""
        UPDATE ledger_accounts a SET
            debits_posted = u.dp, credits_posted = u.cp,
            debits_pending = u.dpe, credits_pending = u.cpe,
            debits_today = u.dt, debits_today_date = u.dtd
        FROM {u} u WHERE a.id = u.id AND u.changed
            AND (SELECT n FROM {checked}) = {statement.param(len(ids))}
        RETURNING 1
        """
    )
    return checked


async def lock_and_update_as_forecast(
    conn: asyncpg.Connection,
    expected: dict[UUID, AccountFields],
    after: dict[UUID, AccountState],
) -> bool:
    """`add_update_as_forecast` in a statement of its own: False (and nothing written) if
    an account does not hold what was expected."""
    if not expected:
        return True
    statement = WriteStatement()
    checked = add_update_as_forecast(statement, expected, after)
    return bool(await statement.fetchval(conn, f"SELECT n FROM {checked}") == len(expected))
