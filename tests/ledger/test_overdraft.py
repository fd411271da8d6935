"""Overdraft lines on a real database: the engine lets a limited account go below zero down to
minus its line, the CHECK agrees, and a deposit account shows the line as available money."""

from __future__ import annotations

import asyncpg
import pytest

from neobank.ledger import store
from neobank.ledger.check import check_ledger
from neobank.ledger.domain import AccountFlags, ResultCode, TransferFlags
from neobank.ledger.engine import LedgerEngine
from tests.conftest import BankDriver
from tests.ledger.conftest import LIMITED, counters, open_accounts, submit
from tests.ledger.fake import transfer

LINE_MINOR = 1_000


async def test_engine_spends_down_to_minus_the_line(
    pool: asyncpg.Pool, engine: LedgerEngine
) -> None:
    cash, line = await open_accounts(pool, int(AccountFlags.NONE), LIMITED)
    async with pool.acquire() as conn:
        await store.set_overdraft_limit(conn, line, LINE_MINOR)
    outcomes = await submit(
        engine,
        [transfer(cash, line, 500)],
        [transfer(line, cash, 1_400)],  # 900 below zero: inside the line
        [transfer(line, cash, 101)],  # 1,001 below zero: past it
        [transfer(line, cash, 100, flags=TransferFlags.PENDING)],  # a hold uses the line too
        [transfer(line, cash, 1)],
    )
    assert [o.code for o in outcomes] == [
        ResultCode.OK,
        ResultCode.OK,
        ResultCode.INSUFFICIENT_FUNDS,
        ResultCode.OK,
        ResultCode.INSUFFICIENT_FUNDS,
    ]
    assert await counters(pool, line) == [1_400, 500, 100, 0]
    async with pool.acquire() as conn:
        assert (await check_ledger(conn))["balanced"]


async def test_a_line_cannot_be_cut_below_what_is_used(
    pool: asyncpg.Pool, engine: LedgerEngine
) -> None:
    cash, line = await open_accounts(pool, int(AccountFlags.NONE), LIMITED)
    async with pool.acquire() as conn:
        await store.set_overdraft_limit(conn, line, LINE_MINOR)
    assert (await submit(engine, [transfer(line, cash, 600)]))[0].code is ResultCode.OK
    async with pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError):
            await store.set_overdraft_limit(conn, line, 599)
        with pytest.raises(ValueError):
            await store.set_overdraft_limit(conn, line, -1)
        await store.set_overdraft_limit(conn, line, 600)
    # The engine loads the new limit with the account: nothing more may leave.
    assert (await submit(engine, [transfer(line, cash, 1)]))[0].code is (
        ResultCode.INSUFFICIENT_FUNDS
    )
    assert (await submit(engine, [transfer(cash, line, 600)]))[0].code is ResultCode.OK
    async with pool.acquire() as conn:
        await store.set_overdraft_limit(conn, line, 0)  # repaid: the line closes
        assert (await check_ledger(conn))["balanced"]


async def test_deposit_account_shows_the_line_as_available(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    account = await bank.account(funded=100_000)
    other = await bank.account()
    await store.set_overdraft_limit(db, account["id"], 200_000)  # type: ignore[arg-type]
    view = (await bank.client.get(f"/v1/accounts/{account['id']}")).json()
    assert (view["balance"], view["available_balance"]) == (100_000, 300_000)
    response = await bank.transfer(account["id"], other["id"], 150_000)
    assert response.status_code == 201, response.text
    view = (await bank.client.get(f"/v1/accounts/{account['id']}")).json()
    assert (view["balance"], view["available_balance"]) == (-50_000, 150_000)
    refused = await bank.transfer(account["id"], other["id"], 150_001)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "insufficient_funds"
    assert (await bank.check())["balanced"]


async def test_an_account_with_a_line_cannot_close(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    account = await bank.account()  # balance 0: it could close, were it not for the line
    await store.set_overdraft_limit(db, account["id"], 200_000)  # type: ignore[arg-type]
    refused = await bank.post(f"/v1/accounts/{account['id']}/status", {"status": "closed"})
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "invalid_status_change"
    await store.set_overdraft_limit(db, account["id"], 0)  # type: ignore[arg-type]
    closed = await bank.post(f"/v1/accounts/{account['id']}/status", {"status": "closed"})
    assert closed.status_code == 200, closed.text
