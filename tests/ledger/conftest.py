"""Fixtures for driving the ledger engine directly on a real database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import pytest

from neobank.db.pool import create_pool
from neobank.idempotency import Claim, StoredAnswer
from neobank.ledger import store
from neobank.ledger.domain import AccountFlags, ItemOutcome, TransferSpec
from neobank.ledger.engine import Answer, LedgerEngine, Rendered, Submission

LIMITED = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
async def engine(pool: asyncpg.Pool) -> AsyncIterator[LedgerEngine]:
    engine = LedgerEngine(pool)
    await engine.start()
    yield engine
    await engine.stop()


def render_codes(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
    return Rendered(StoredAnswer(200, {"codes": [o.code.value for o in outcomes]}))


def submission(*chains: list[TransferSpec], claim: Claim | None = None) -> Submission:
    return Submission(list(chains), render_codes, claim)


async def submit(engine: LedgerEngine, *chains: list[TransferSpec]) -> list[ItemOutcome]:
    answer: Answer = await engine.submit(submission(*chains))
    assert answer.outcomes is not None
    return answer.outcomes


async def open_accounts(
    conn: asyncpg.Connection | asyncpg.Pool, *flags: int, currency: str = "KRW"
) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in flags]
    for account_id, account_flags in zip(ids, flags, strict=True):
        await store.create_account(conn, account_id, currency, 2000, account_flags)
    return ids


async def counters(conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID) -> list[int]:
    row = await conn.fetchrow(
        "SELECT debits_posted, credits_posted, debits_pending, credits_pending "
        "FROM ledger_accounts WHERE id = $1",
        account_id,
    )
    assert row is not None
    return list(row)
