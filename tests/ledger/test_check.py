"""`check_ledger` finds what the triggers would have refused, once they are bypassed."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from neobank.ledger.check import check_ledger
from neobank.ledger.domain import ResultCode, TransferFlags
from neobank.ledger.engine import LedgerEngine
from tests.ledger.conftest import LIMITED, open_accounts, submit
from tests.ledger.fake import transfer


@pytest.fixture
async def books(engine: LedgerEngine, db: asyncpg.Connection) -> list[uuid.UUID]:
    cash, a, b = await open_accounts(db, 0, LIMITED, LIMITED)
    outcomes = await submit(
        engine,
        [transfer(cash, a, 1_000)],
        [transfer(a, b, 300)],
        [transfer(a, b, 200, flags=TransferFlags.PENDING)],
    )
    assert [o.code for o in outcomes] == [ResultCode.OK] * 3
    report = await check_ledger(db)
    assert report["balanced"] is True and report["mismatches"] == []
    assert report["currencies"]["KRW"]["debits"] == 1_300
    # What only a bug, or an operator with superuser rights, could do: triggers off.
    await db.execute("SET session_replication_role = replica")
    return [cash, a, b]


def problems(report: dict[str, object], account_id: uuid.UUID) -> set[str]:
    return {
        m["counter"]
        for m in report["mismatches"]  # type: ignore[attr-defined]
        if m.get("account_id") == str(account_id)
    }


async def test_a_corrupted_posted_counter_is_reported(
    books: list[uuid.UUID], db: asyncpg.Connection
) -> None:
    _, a, _ = books
    await db.execute(
        "UPDATE ledger_accounts SET credits_posted = credits_posted + 1 WHERE id = $1", a
    )
    report = await check_ledger(db)
    assert report["balanced"] is False
    assert problems(report, a) == {"credits_posted", "balance_after"}
    entry = next(m for m in report["mismatches"] if m.get("counter") == "credits_posted")
    assert (entry["stored"], entry["from_transfers"], entry["from_journal"]) == (
        1_001,
        1_000,
        1_000,
    )
    assert {"currency": "KRW", "problem": "debits differ from credits"} in report["mismatches"]


async def test_a_corrupted_pending_counter_is_reported(
    books: list[uuid.UUID], db: asyncpg.Connection
) -> None:
    _, a, b = books
    await db.execute("UPDATE ledger_accounts SET debits_pending = 0 WHERE id = $1", a)
    report = await check_ledger(db)
    assert problems(report, a) == {"debits_pending"}
    assert problems(report, b) == set()
    assert {
        "currency": "KRW",
        "problem": "pending debits differ from pending credits",
    } in report["mismatches"]


async def test_a_rewritten_journal_is_reported(
    books: list[uuid.UUID], db: asyncpg.Connection
) -> None:
    _, _, b = books
    await db.execute("UPDATE journal_entries SET balance_after = 999 WHERE account_id = $1", b)
    assert problems(await check_ledger(db), b) == {"balance_after"}
    await db.execute("UPDATE journal_entries SET amount = amount + 5 WHERE account_id = $1", b)
    assert problems(await check_ledger(db), b) == {"balance_after", "credits_posted"}


async def test_a_transfer_without_its_counters_is_reported(
    books: list[uuid.UUID], db: asyncpg.Connection
) -> None:
    cash, a, _ = books
    await db.execute(
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, code, "
        "flags, created_at) VALUES ($1, $2, $3, 5, 'KRW', 1, 0, now())",
        uuid.uuid4(),
        cash,
        a,
    )
    report = await check_ledger(db)
    assert problems(report, cash) == {"debits_posted"}
    assert problems(report, a) == {"credits_posted"}
