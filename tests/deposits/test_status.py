"""POST /v1/accounts/{id}/status: freeze (nothing leaves), reactivate, close (zero only)."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
from fastapi import FastAPI

from neobank.idempotency import StoredAnswer
from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.domain import TransferFlags, TransferSpec
from neobank.ledger.engine import Rendered, Submission
from tests.conftest import BankDriver
from tests.customers.helpers import bearer, customer_token


async def set_status(
    bank: BankDriver, account_id: object, status: object, **kw: object
) -> httpx.Response:
    return await bank.post(f"/v1/accounts/{account_id}/status", {"status": status}, **kw)  # type: ignore[arg-type]


def code(response: httpx.Response) -> str:
    return str(response.json().get("code"))


async def test_a_frozen_account_receives_but_does_not_send(bank: BankDriver) -> None:
    frozen = await bank.account(funded=10_000)
    other = await bank.account(funded=10_000)
    response = await set_status(bank, frozen["id"], "frozen")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "frozen"
    assert response.json()["balance"] == 10_000
    assert (await bank.client.get(f"/v1/accounts/{frozen['id']}")).json()["status"] == "frozen"

    out = await bank.transfer(frozen["id"], other["id"], 1_000)
    assert out.status_code == 422
    assert code(out) == "account_frozen"
    await bank.deposit(frozen["id"], 500)
    assert (await bank.transfer(other["id"], frozen["id"], 1_000)).status_code == 201
    assert await bank.balance(frozen["id"]) == 11_500

    assert (await set_status(bank, frozen["id"], "active")).json()["status"] == "active"
    assert (await bank.transfer(frozen["id"], other["id"], 1_000)).status_code == 201
    assert await bank.balance(frozen["id"]) == 10_500
    assert (await bank.check())["balanced"] is True


async def test_close_only_at_zero(bank: BankDriver, db: asyncpg.Connection) -> None:
    account = await bank.account(funded=3_000)
    other = await bank.account()
    refused = await set_status(bank, account["id"], "closed")
    assert refused.status_code == 422
    assert code(refused) == "invalid_status_change"
    assert (await bank.client.get(f"/v1/accounts/{account['id']}")).json()["status"] == "active"
    assert (await bank.transfer(account["id"], other["id"], 3_000)).status_code == 201
    closed = await set_status(bank, account["id"], "closed")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["balance"] == 0
    events = await db.fetch(
        "SELECT payload FROM events WHERE type = 'account.status_changed' AND aggregate_id = $1",
        account["id"],
    )
    assert [e["payload"]["to"] for e in events] == ["closed"]


async def test_a_closed_account_stays_closed_and_moves_nothing(bank: BankDriver) -> None:
    closed = await bank.account()
    other = await bank.account(funded=5_000)
    assert (await set_status(bank, closed["id"], "closed")).status_code == 200
    for status in ("active", "frozen", "closed"):
        response = await set_status(bank, closed["id"], status)
        assert response.status_code == 422, status
        assert code(response) == "invalid_status_change"
    transfer_in = await bank.transfer(other["id"], closed["id"], 1_000)
    assert transfer_in.status_code == 422
    assert code(transfer_in) == "account_closed"
    transfer_out = await bank.transfer(closed["id"], other["id"], 1)
    assert transfer_out.status_code == 422
    assert code(transfer_out) == "account_closed"
    deposit = await bank.post(
        "/v1/deposits", {"account_id": closed["id"], "amount": 1_000, "currency": "KRW"}
    )
    assert deposit.status_code == 422
    assert code(deposit) == "account_closed"
    assert await bank.balance(closed["id"]) == 0
    assert await bank.balance(other["id"]) == 5_000
    assert (await bank.check())["balanced"] is True


async def test_a_frozen_account_can_close_at_zero(bank: BankDriver) -> None:
    account = await bank.account()
    assert (await set_status(bank, account["id"], "frozen")).status_code == 200
    assert (await set_status(bank, account["id"], "closed")).json()["status"] == "closed"


async def test_holds_keep_an_account_open(bank: BankDriver, app: FastAPI) -> None:
    account = await bank.account()
    # A pending credit (money on its way in) straight through the ledger engine.
    cash = bank_account_id(AccountCode.CASH, "KRW")
    incoming = TransferSpec(
        id=uuid.uuid4(),
        debit_account_id=cash,
        credit_account_id=uuid.UUID(str(account["id"])),
        amount=700,
        currency="KRW",
        code=2,
        flags=int(TransferFlags.PENDING),
        timeout_s=3600,
    )
    answer = await app.state.services.engine.submit(
        Submission([[incoming]], lambda outcomes, at: Rendered(StoredAnswer(200, {})))
    )
    assert answer.outcomes is not None and answer.outcomes[0].ok
    response = await set_status(bank, account["id"], "closed")
    assert response.status_code == 422
    assert code(response) == "invalid_status_change"


async def test_status_changes_are_for_ops(bank: BankDriver) -> None:
    customer = await bank.customer()
    account = await bank.account(customer["id"])
    token = await customer_token(bank.client, customer["id"])
    response = await set_status(bank, account["id"], "frozen", headers=bearer(token))
    assert response.status_code == 403
    assert code(response) == "forbidden"
    assert (await bank.client.get(f"/v1/accounts/{account['id']}")).json()["status"] == "active"


async def test_bad_status_requests(bank: BankDriver) -> None:
    account = await bank.account()
    unknown = await set_status(bank, uuid.uuid4(), "frozen")
    assert unknown.status_code == 404
    assert code(unknown) == "account_not_found"
    for status in ("deleted", "FROZEN", "", None, 1):
        response = await set_status(bank, account["id"], status)
        assert response.status_code == 422, status
        assert code(response) == "validation_error"
    missing_key = await bank.client.post(
        f"/v1/accounts/{account['id']}/status", json={"status": "frozen"}
    )
    assert missing_key.status_code == 400
    assert code(missing_key) == "idempotency_key_required"


async def test_status_changes_are_idempotent(bank: BankDriver, db: asyncpg.Connection) -> None:
    account = await bank.account()
    first = await set_status(bank, account["id"], "frozen", key="freeze-1")
    again = await set_status(bank, account["id"], "frozen", key="freeze-1")
    assert again.status_code == first.status_code == 200
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    mismatch = await set_status(bank, account["id"], "active", key="freeze-1")
    assert mismatch.status_code == 422
    assert code(mismatch) == "idempotency_key_mismatch"
    count = await db.fetchval(
        "SELECT count(*) FROM events WHERE type = 'account.status_changed' AND aggregate_id = $1",
        account["id"],
    )
    assert count == 1
