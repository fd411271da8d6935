"""A batch that fails with a deadlock, a serialization failure or a unique violation is
committed again (tenacity), up to BATCH_ATTEMPTS_MAX attempts in all; other failures are not
retried. The first attempt runs outside tenacity (see `LedgerEngine._retry`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from neobank.ledger.domain import ResultCode
from neobank.ledger.engine import BATCH_ATTEMPTS_MAX, LedgerEngine
from tests.ledger.conftest import counters, open_accounts, submit
from tests.ledger.fake import transfer


def failing_first(
    engine: LedgerEngine,
    monkeypatch: pytest.MonkeyPatch,
    failures: int,
    error: Callable[[], Exception],
) -> list[int]:
    """Make the engine's first `failures` commit attempts raise `error()`; returns the count
    of attempts, kept up to date."""
    attempts = [0]
    real = engine._commit_best_way

    async def commit(batch: list[Any]) -> Any:
        attempts[0] += 1
        if attempts[0] <= failures:
            raise error()
        return await real(batch)

    monkeypatch.setattr(engine, "_commit_best_way", commit)
    return attempts


@pytest.mark.parametrize(
    "error",
    [
        lambda: asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        lambda: asyncpg.exceptions.SerializationError("could not serialize access"),
    ],
    ids=["deadlock", "serialization"],
)
@pytest.mark.parametrize("failures", [1, BATCH_ATTEMPTS_MAX - 1])
async def test_a_retryable_failure_is_committed_again(
    engine: LedgerEngine,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    failures: int,
    error: Callable[[], Exception],
) -> None:
    cash, target = await open_accounts(db, 0, 0)
    attempts = failing_first(engine, monkeypatch, failures, error)
    outcomes = await submit(engine, [transfer(cash, target, 7)])
    assert [o.code for o in outcomes] == [ResultCode.OK]
    assert attempts[0] == failures + 1
    assert await counters(db, target) == [0, 7, 0, 0]


@pytest.mark.parametrize(
    ("failures", "error", "attempts_made"),
    [
        (
            BATCH_ATTEMPTS_MAX,
            lambda: asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
            BATCH_ATTEMPTS_MAX,
        ),
        (1, lambda: asyncpg.exceptions.CheckViolationError("no"), 1),
    ],
    ids=["retries_run_out", "not_retryable"],
)
async def test_a_failure_not_retried_further_reaches_the_submitter_and_writes_nothing(
    engine: LedgerEngine,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    failures: int,
    error: Callable[[], Exception],
    attempts_made: int,
) -> None:
    cash, target = await open_accounts(db, 0, 0)
    attempts = failing_first(engine, monkeypatch, failures, error)
    with pytest.raises(type(error())):
        await submit(engine, [transfer(cash, target, 7)])
    assert attempts[0] == attempts_made
    assert await counters(db, target) == [0, 0, 0, 0]
