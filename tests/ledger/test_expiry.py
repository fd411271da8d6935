"""Voiding pending transfers whose timeout has passed, through the engine."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from neobank.ledger.check import check_ledger
from neobank.ledger.domain import AccountFlags, ResultCode, TransferFlags
from neobank.ledger.engine import LedgerEngine
from neobank.ledger.expiry import void_expired_pendings
from tests.ledger.conftest import LIMITED, counters, open_accounts, submit
from tests.ledger.fake import resolve, transfer

PENDING, POST = TransferFlags.PENDING, TransferFlags.POST_PENDING


async def test_expired_pendings_are_voided_once_and_the_others_kept(
    pool: asyncpg.Pool, engine: LedgerEngine, db: asyncpg.Connection
) -> None:
    cash, a, b, shut = await open_accounts(db, 0, LIMITED, LIMITED, LIMITED)
    await submit(engine, *[[transfer(cash, x, 1_000)] for x in (a, shut)])
    expiring = transfer(a, b, 100, flags=PENDING, timeout_s=1)
    later = transfer(a, b, 200, flags=PENDING, timeout_s=3600)
    forever = transfer(a, b, 300, flags=PENDING)
    posted = transfer(a, b, 50, flags=PENDING, timeout_s=1)
    on_closed = transfer(shut, b, 70, flags=PENDING, timeout_s=1)
    chains = [[t] for t in (expiring, later, forever, posted, on_closed)]
    assert [o.code for o in await submit(engine, *chains)] == [ResultCode.OK] * 5
    assert [o.code for o in await submit(engine, [resolve(posted, POST)])] == [ResultCode.OK]
    await db.execute(
        "UPDATE ledger_accounts SET flags = flags | $2 WHERE id = $1",
        shut,
        int(AccountFlags.CLOSED),
    )

    soon = datetime.now(UTC) + timedelta(seconds=5)
    # Two workers at once: each hold is voided once, and each is counted once.
    voided = await asyncio.gather(
        void_expired_pendings(pool, engine, soon), void_expired_pendings(pool, engine, soon)
    )
    assert sorted(voided) in ([0, 2], [1, 1], [2, 0]), voided
    assert await void_expired_pendings(pool, engine, soon) == 0

    assert await counters(db, a) == [50, 1_000, 500, 0]  # 200 + 300 still held
    assert await counters(db, shut) == [0, 1_000, 0, 0]
    voids = await db.fetch(
        "SELECT pending_id, amount, flags FROM transfers WHERE pending_id = ANY($1::uuid[])",
        [expiring.id, on_closed.id],
    )
    assert {(r["pending_id"], r["amount"], r["flags"]) for r in voids} == {
        (expiring.id, 100, int(TransferFlags.VOID_PENDING)),
        (on_closed.id, 70, int(TransferFlags.VOID_PENDING)),
    }
    assert [o.code for o in await submit(engine, [resolve(expiring, POST)])] == [
        ResultCode.PENDING_ALREADY_RESOLVED
    ]
    assert (await check_ledger(db))["balanced"] is True


async def test_nothing_expired_submits_nothing(pool: asyncpg.Pool, engine: LedgerEngine) -> None:
    assert await void_expired_pendings(pool, engine, datetime.now(UTC)) == 0
