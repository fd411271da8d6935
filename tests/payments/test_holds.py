"""Holds over HTTP: placed, captured (whole or in part), voided, expired; available balance."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.expiry import void_expired_pendings
from tests.conftest import BankDriver
from tests.payments.helpers import (
    KRW,
    account_view,
    count,
    customer_client,
    events,
    history,
    new_id,
)

SETTLEMENT = bank_account_id(AccountCode.SETTLEMENT, KRW)


async def place(
    bank: BankDriver, account_id: object, amount: int, timeout_seconds: int = 600, **extra: Any
) -> httpx.Response:
    body = {"account_id": account_id, "amount": amount, "currency": KRW}
    return await bank.post("/v1/holds", {**body, "timeout_seconds": timeout_seconds, **extra})


async def settlement_debits(db: asyncpg.Connection) -> int:
    return int(
        await db.fetchval("SELECT debits_posted FROM ledger_accounts WHERE id = $1", SETTLEMENT)
    )


async def test_hold_lowers_available_balance_until_voided(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    account = await bank.account(funded=100_000)
    placed = await place(bank, account["id"], 30_000, memo="Coffee shop")
    assert placed.status_code == 201, placed.text
    hold = placed.json()
    assert hold["status"] == "pending"
    assert (hold["amount"], hold["currency"], hold["memo"]) == (30_000, KRW, "Coffee shop")
    created = datetime.fromisoformat(hold["created_at"])
    assert datetime.fromisoformat(hold["expires_at"]) - created == timedelta(seconds=600)
    view = await account_view(bank, account["id"])
    assert (view["balance"], view["available_balance"]) == (100_000, 70_000)

    voided = await bank.post(f"/v1/holds/{hold['id']}/void", None)
    assert voided.status_code == 200, voided.text
    assert voided.json()["status"] == "voided"
    assert voided.json()["captured_amount"] is None
    view = await account_view(bank, account["id"])
    assert (view["balance"], view["available_balance"]) == (100_000, 100_000)
    assert (await bank.client.get(f"/v1/holds/{hold['id']}")).json()["status"] == "voided"
    assert [e["status"] for e in await events(db, "hold.placed")] == ["pending"]
    assert [e["id"] for e in await events(db, "hold.voided")] == [hold["id"]]
    assert (await bank.check())["balanced"] is True


async def test_partial_capture_posts_part_and_releases_the_rest(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    account = await bank.account(funded=100_000)
    hold = (await place(bank, account["id"], 30_000, memo="Taxi")).json()
    captured = await bank.post(f"/v1/holds/{hold['id']}/capture", {"amount": 12_000})
    assert captured.status_code == 200, captured.text
    body = captured.json()
    assert (body["status"], body["captured_amount"]) == ("captured", 12_000)
    view = await account_view(bank, account["id"])
    assert (view["balance"], view["available_balance"]) == (88_000, 88_000)
    assert await settlement_debits(db) == 0  # the settlement account was credited, not debited
    credits = await db.fetchval(
        "SELECT credits_posted FROM ledger_accounts WHERE id = $1", SETTLEMENT
    )
    assert credits == 12_000
    entry = (await history(bank, account["id"]))[0]
    assert (entry["direction"], entry["amount"], entry["kind"]) == ("debit", 12_000, "hold_capture")
    assert entry["memo"] == "Taxi"
    assert entry["transfer_id"] == body["capture_transfer_id"]
    (event,) = await events(db, "hold.captured")
    assert event["captured_amount"] == 12_000
    assert (await bank.check())["balanced"] is True


async def test_capture_without_amount_takes_the_whole_hold(bank: BankDriver) -> None:
    account = await bank.account(funded=50_000)
    hold = (await place(bank, account["id"], 50_000)).json()
    captured = await bank.post(f"/v1/holds/{hold['id']}/capture", None)
    assert captured.status_code == 200, captured.text
    assert captured.json()["captured_amount"] == 50_000
    view = await account_view(bank, account["id"])
    assert (view["balance"], view["available_balance"]) == (0, 0)


async def test_hold_refusals(bank: BankDriver, db: asyncpg.Connection) -> None:
    account = await bank.account(funded=10_000)
    too_much = await place(bank, account["id"], 10_001)
    assert too_much.status_code == 422
    assert too_much.headers["content-type"] == "application/problem+json"
    assert too_much.json()["code"] == "insufficient_funds"
    assert [e["code"] for e in await events(db, "hold.rejected")] == ["insufficient_funds"]
    unknown = await place(bank, new_id(), 1)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "account_not_found")
    other_currency = await bank.post(
        "/v1/holds",
        {"account_id": account["id"], "amount": 1, "currency": "USD", "timeout_seconds": 60},
    )
    assert (other_currency.status_code, other_currency.json()["code"]) == (422, "currency_mismatch")
    for timeout in (0, 2_592_001):
        response = await place(bank, account["id"], 1, timeout_seconds=timeout)
        assert (response.status_code, response.json()["code"]) == (422, "validation_error")
    assert (await place(bank, account["id"], 1, timeout_seconds=2_592_000)).status_code == 201
    assert await count(db, "holds") == 1


async def test_held_money_cannot_be_spent_twice(bank: BankDriver) -> None:
    account = await bank.account(funded=100_000)
    other = await bank.account()
    assert (await place(bank, account["id"], 80_000)).status_code == 201
    refused = await bank.transfer(account["id"], other["id"], 30_000)
    assert (refused.status_code, refused.json()["code"]) == (422, "insufficient_funds")
    second = await place(bank, account["id"], 20_001)
    assert second.json()["code"] == "insufficient_funds"
    assert (await bank.transfer(account["id"], other["id"], 20_000)).status_code == 201


async def test_resolving_twice_and_capture_limits(bank: BankDriver) -> None:
    account = await bank.account(funded=100_000)
    hold = (await place(bank, account["id"], 10_000)).json()
    over = await bank.post(f"/v1/holds/{hold['id']}/capture", {"amount": 10_001})
    assert (over.status_code, over.json()["code"]) == (422, "exceeds_hold_amount")
    zero = await bank.post(f"/v1/holds/{hold['id']}/capture", {"amount": 0})
    assert zero.status_code == 422
    assert (await bank.post(f"/v1/holds/{hold['id']}/capture", {"amount": 10_000})).is_success
    again = await bank.post(f"/v1/holds/{hold['id']}/capture", {"amount": 1})
    assert (again.status_code, again.json()["code"]) == (409, "hold_already_resolved")
    void = await bank.post(f"/v1/holds/{hold['id']}/void", None)
    assert (void.status_code, void.json()["code"]) == (409, "hold_already_resolved")
    missing = await bank.post(f"/v1/holds/{new_id()}/void", None)
    assert (missing.status_code, missing.json()["code"]) == (404, "hold_not_found")
    assert (await bank.client.get(f"/v1/holds/{new_id()}")).status_code == 404
    assert await bank.balance(account["id"]) == 90_000


async def test_expiry_worker_voids_expired_holds(app: Any, bank: BankDriver) -> None:
    account = await bank.account(funded=100_000)
    short = (await place(bank, account["id"], 30_000, timeout_seconds=5)).json()
    long = (await place(bank, account["id"], 20_000, timeout_seconds=3600)).json()
    assert (await account_view(bank, account["id"]))["available_balance"] == 50_000
    services = app.state.services
    later = datetime.now(UTC) + timedelta(seconds=10)
    assert await void_expired_pendings(services.pool, services.engine, later) == 1
    view = await account_view(bank, account["id"])
    assert (view["balance"], view["available_balance"]) == (100_000, 80_000)
    # The expired hold can be neither captured nor voided; the other stays usable.
    assert (await bank.client.get(f"/v1/holds/{short['id']}")).json()["status"] == "expired"
    capture = await bank.post(f"/v1/holds/{short['id']}/capture", None)
    assert (capture.status_code, capture.json()["code"]) == (422, "hold_expired")
    void = await bank.post(f"/v1/holds/{short['id']}/void", None)
    assert (void.status_code, void.json()["code"]) == (422, "hold_expired")
    assert (await bank.client.get(f"/v1/holds/{long['id']}")).json()["status"] == "pending"
    assert await void_expired_pendings(services.pool, services.engine, later) == 0
    assert (await bank.post(f"/v1/holds/{long['id']}/capture", None)).status_code == 200
    assert (await bank.check())["balanced"] is True


async def test_expired_hold_cannot_be_captured_before_the_worker_runs(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    account = await bank.account(funded=1_000)
    hold = (await place(bank, account["id"], 1_000, timeout_seconds=60)).json()
    await db.execute(
        "UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(hold["id"]),
    )
    assert (await bank.client.get(f"/v1/holds/{hold['id']}")).json()["status"] == "expired"
    capture = await bank.post(f"/v1/holds/{hold['id']}/capture", None)
    assert (capture.status_code, capture.json()["code"]) == (422, "hold_expired")


async def test_holds_are_ops_only_and_customers_see_their_own(app: Any, bank: BankDriver) -> None:
    owner = await bank.customer("Kim")
    account = await bank.account(owner["id"], funded=10_000)
    hold = (await place(bank, account["id"], 1_000)).json()
    async with customer_client(app, bank, owner["id"]) as kim:
        assert (await kim.client.get(f"/v1/holds/{hold['id']}")).json()["id"] == hold["id"]
        refused = await place(kim, account["id"], 1_000)
        assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
        capture = await kim.post(f"/v1/holds/{hold['id']}/capture", None)
        assert capture.status_code == 403
    stranger = await bank.customer("Lee")
    async with customer_client(app, bank, stranger["id"]) as lee:
        response = await lee.client.get(f"/v1/holds/{hold['id']}")
        assert (response.status_code, response.json()["code"]) == (404, "hold_not_found")


async def test_hold_requests_are_idempotent(bank: BankDriver, db: asyncpg.Connection) -> None:
    account = await bank.account(funded=10_000)
    body = {"account_id": account["id"], "amount": 4_000, "currency": KRW, "timeout_seconds": 60}
    first = await bank.post("/v1/holds", body, key="hold-1")
    again = await bank.post("/v1/holds", body, key="hold-1")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    hold_id = first.json()["id"]
    capture = await bank.post(f"/v1/holds/{hold_id}/capture", {"amount": 100}, key="cap-1")
    replay = await bank.post(f"/v1/holds/{hold_id}/capture", {"amount": 100}, key="cap-1")
    assert replay.json() == capture.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    mismatch = await bank.post(f"/v1/holds/{hold_id}/capture", {"amount": 200}, key="cap-1")
    assert (mismatch.status_code, mismatch.json()["code"]) == (422, "idempotency_key_mismatch")
    assert await count(db, "holds") == 1
    assert await bank.balance(account["id"]) == 9_900


async def test_openapi_documents_hold_routes_and_codes(bank: BankDriver) -> None:
    schema = (await bank.client.get("/openapi.json")).json()
    capture = schema["paths"]["/v1/holds/{hold_id}/capture"]["post"]
    assert {"200", "404", "409", "422"} <= set(capture["responses"])
    assert "hold_expired" in capture["responses"]["422"]["description"]
    assert "HoldOut" in schema["components"]["schemas"]


async def test_listing_an_accounts_holds(app: Any, bank: BankDriver) -> None:
    owner = await bank.customer("Choi")
    account = await bank.account(owner["id"], funded=100_000)
    placed = [(await place(bank, account["id"], 1_000 * n)).json() for n in (1, 2, 3)]
    assert (await bank.post(f"/v1/holds/{placed[0]['id']}/void", None)).is_success
    first = (
        await bank.client.get("/v1/holds", params={"account_id": account["id"], "limit": 2})
    ).json()
    assert [h["amount"] for h in first["items"]] == [3_000, 2_000]
    rest = await bank.client.get(
        "/v1/holds", params={"account_id": account["id"], "cursor": first["next_cursor"]}
    )
    assert [(h["amount"], h["status"]) for h in rest.json()["items"]] == [(1_000, "voided")]
    assert rest.json()["next_cursor"] is None
    async with customer_client(app, bank, owner["id"]) as choi:
        own = await choi.client.get("/v1/holds", params={"account_id": account["id"]})
        assert len(own.json()["items"]) == 3
    other = await bank.account()
    async with customer_client(app, bank, other["customer_id"]) as stranger:
        hidden = await stranger.client.get("/v1/holds", params={"account_id": account["id"]})
        assert (hidden.status_code, hidden.json()["code"]) == (404, "account_not_found")
    bad = await bank.client.get("/v1/holds", params={"account_id": account["id"], "cursor": "x"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_cursor")


async def test_concurrent_captures_resolve_a_hold_once(bank: BankDriver) -> None:
    account = await bank.account(funded=10_000)
    hold = (await place(bank, account["id"], 10_000)).json()
    responses = await asyncio.gather(
        *(bank.post(f"/v1/holds/{hold['id']}/capture", {"amount": 1_000}) for _ in range(10)),
        *(bank.post(f"/v1/holds/{hold['id']}/void", None) for _ in range(10)),
    )
    assert sum(r.status_code == 200 for r in responses) == 1
    losers = {r.json()["code"] for r in responses if r.status_code != 200}
    assert losers == {"hold_already_resolved"}
    (winner,) = [r.json() for r in responses if r.status_code == 200]
    expected = 9_000 if winner["status"] == "captured" else 10_000
    view = await account_view(bank, account["id"])
    assert (view["balance"], view["available_balance"]) == (expected, expected)
    assert (await bank.check())["balanced"] is True
