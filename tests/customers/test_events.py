"""customer.created and device.registered land in the outbox with the change, and only then."""

from __future__ import annotations

import uuid

import asyncpg

from tests.conftest import BankDriver
from tests.customers.helpers import b64url, raw_public_key, register_device


async def events(db: asyncpg.Connection, kind: str | None = None) -> list[asyncpg.Record]:
    return list(
        await db.fetch("SELECT * FROM events WHERE $1::text IS NULL OR type = $1 ORDER BY id", kind)
    )


async def test_customer_created(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer("Park Jisoo")
    [event] = await events(db, "customer.created")
    assert event["schema_version"] == 1
    assert event["aggregate_type"] == "customer"
    assert event["aggregate_id"] == customer["id"]
    assert event["payload"]["id"] == customer["id"]
    assert event["payload"]["name"] == "Park Jisoo"
    assert event["payload"]["status"] == "active"
    assert event["occurred_at"].isoformat() == customer["created_at"]


async def test_device_registered(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    device = await register_device(bank.client, customer["id"])
    [event] = await events(db, "device.registered")
    assert event["schema_version"] == 1
    assert event["aggregate_type"] == "customer"
    assert event["aggregate_id"] == customer["id"]
    assert event["payload"] == {"device_id": device.id, "customer_id": customer["id"]}


async def test_failed_requests_write_no_events(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    device = await register_device(bank.client, customer["id"])
    before = len(await events(db))
    refused = [
        await bank.post("/v1/customers", {"name": "", "birth_date": "1990-01-01", "phone": "x"}),
        await bank.post(
            "/v1/customers",
            {"name": "A", "birth_date": "1990-01-01", "phone": "+82 10-0000-0000"},
            headers={"Authorization": "Bearer nope"},
        ),
        await bank.post(f"/v1/customers/{customer['id']}/devices", {"public_key": "short"}),
        await bank.post(
            f"/v1/customers/{uuid.uuid4()}/devices",
            {"public_key": b64url(raw_public_key(device.key))},
        ),
        await bank.post(
            f"/v1/customers/{customer['id']}/devices",
            {"public_key": b64url(raw_public_key(device.key))},
        ),
    ]
    assert [r.status_code for r in refused] == [422, 401, 422, 404, 409]
    assert len(await events(db)) == before
