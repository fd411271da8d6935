"""account.opened and account.status_changed land in the outbox with the change, and only then."""

from __future__ import annotations

import uuid

import asyncpg

from tests.conftest import BankDriver


async def test_account_opened(bank: BankDriver, db: asyncpg.Connection) -> None:
    account = await bank.account()
    [event] = await db.fetch("SELECT * FROM events WHERE type = 'account.opened'")
    assert event["schema_version"] == 1
    assert event["aggregate_type"] == "account"
    assert event["aggregate_id"] == account["id"]
    payload = event["payload"]
    for field in ("id", "number", "customer_id", "product", "currency", "status"):
        assert payload[field] == account[field], field
    assert payload["daily_debit_limit"] == 50_000_000


async def test_status_changed(bank: BankDriver, db: asyncpg.Connection) -> None:
    account = await bank.account()
    path = f"/v1/accounts/{account['id']}/status"
    for status in ("frozen", "active", "closed"):
        assert (await bank.post(path, {"status": status})).status_code == 200
    rows = await db.fetch("SELECT * FROM events WHERE type = 'account.status_changed' ORDER BY id")
    assert [(r["payload"]["from"], r["payload"]["to"]) for r in rows] == [
        ("active", "frozen"),
        ("frozen", "active"),
        ("active", "closed"),
    ]
    assert {r["aggregate_id"] for r in rows} == {account["id"]}
    assert {r["schema_version"] for r in rows} == {1}
    assert all(r["payload"]["account_id"] == account["id"] for r in rows)


async def test_unchanged_status_is_no_event(bank: BankDriver, db: asyncpg.Connection) -> None:
    account = await bank.account()
    response = await bank.post(f"/v1/accounts/{account['id']}/status", {"status": "active"})
    assert response.status_code == 200
    assert response.json()["status"] == "active"
    count = await db.fetchval("SELECT count(*) FROM events WHERE type = 'account.status_changed'")
    assert count == 0


async def test_failed_requests_write_no_events(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    funded = await bank.account(customer["id"], funded=1_000)
    before = await db.fetchval("SELECT count(*) FROM events")
    refused = [
        await bank.post("/v1/accounts", {"customer_id": customer["id"], "product": "gold"}),
        await bank.post(
            "/v1/accounts", {"customer_id": str(uuid.uuid4()), "product": "demand_deposit"}
        ),
        await bank.post(f"/v1/accounts/{funded['id']}/status", {"status": "closed"}),
        await bank.post(f"/v1/accounts/{uuid.uuid4()}/status", {"status": "frozen"}),
        await bank.post(f"/v1/accounts/{funded['id']}/status", {"status": "gone"}),
    ]
    assert [r.status_code for r in refused] == [422, 404, 422, 404, 422]
    assert await db.fetchval("SELECT count(*) FROM events") == before
    assert await db.fetchval("SELECT count(*) FROM accounts") == 1
