"""The engine writes a batch's transfers, journal and counters in ONE statement (data-modifying
CTEs): the statement triggers and the foreign keys must see all of its rows, and still refuse
what they refuse when the writes come one statement at a time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg
import pytest

from neobank.db.statement import WriteStatement
from neobank.ledger import store
from neobank.ledger.check import check_ledger
from neobank.ledger.domain import AccountState, TransferSpec, apply_batch
from tests.db.test_triggers import Refused, open_account


async def _load(db: asyncpg.Connection, *ids: uuid.UUID) -> dict[uuid.UUID, AccountState]:
    return await store.lock_accounts(db, sorted(ids))


@pytest.fixture
async def pair(db: asyncpg.Connection) -> AsyncIterator[tuple[uuid.UUID, uuid.UUID]]:
    cash, customer = await open_account(db), await open_account(db, flags=1)
    yield cash, customer
    report = await check_ledger(db)
    assert report["balanced"] is True, report


async def _write(db: asyncpg.Connection, specs: list[TransferSpec], tamper: int = 0) -> None:
    """Apply one chain per spec and write the batch in one statement; `tamper` adds that much
    to the first journal entry's amount."""
    now = datetime.now(UTC)
    async with db.transaction():
        ids = {s.debit_account_id for s in specs} | {s.credit_account_id for s in specs}
        accounts = await _load(db, *ids)
        outcome = apply_batch([[s] for s in specs], accounts, {}, {}, now)
        assert all(item.ok for item in outcome.items)
        if tamper:
            first = outcome.journal[0]
            outcome.journal[0] = first._replace(amount=first.amount + tamper)
        statement = WriteStatement()
        store.add_ledger_writes(statement, outcome, now)
        await statement.execute(db)


def _spec(debit: uuid.UUID, credit: uuid.UUID, amount: int) -> TransferSpec:
    return TransferSpec(uuid.uuid4(), debit, credit, amount, "KRW", 1)


async def test_transfers_journal_and_counters_commit_in_one_statement(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    await _write(db, [_spec(cash, customer, 1_000), _spec(customer, cash, 300)])
    row = await db.fetchrow("SELECT * FROM ledger_accounts WHERE id = $1", customer)
    assert (row["debits_posted"], row["credits_posted"]) == (300, 1_000)
    assert await db.fetchval("SELECT count(*) FROM journal_entries") == 4


async def test_an_unbalanced_journal_in_one_statement_is_refused(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    with pytest.raises(Refused, match="do not balance"):
        await _write(db, [_spec(cash, customer, 1_000)], tamper=1)
    assert await db.fetchval("SELECT count(*) FROM transfers") == 0


async def test_empty_statement_sends_nothing(db: asyncpg.Connection) -> None:
    statement = WriteStatement()
    assert not statement
    await statement.execute(db)
