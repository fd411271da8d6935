"""Idempotency-Key on POST /v1/customers and /v1/accounts: replay, mismatch, in use."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from tests.api.problems import assert_problem
from tests.conftest import BankDriver
from tests.customers.helpers import bearer, customer_token

CUSTOMER = {"name": "Kang Daniel", "birth_date": "1996-12-10", "phone": "+82 10-7777-8888"}


async def count(db: asyncpg.Connection, table: str) -> int:
    return int(await db.fetchval(f"SELECT count(*) FROM {table}"))


async def test_a_customer_is_created_once(bank: BankDriver, db: asyncpg.Connection) -> None:
    first = await bank.post("/v1/customers", CUSTOMER, key="onboard-1")
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    reordered = dict(reversed(list(CUSTOMER.items())))
    for body in (CUSTOMER, reordered):
        again = await bank.post("/v1/customers", body, key="onboard-1")
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["idempotent-replayed"] == "true"
        assert again.headers["content-type"] == "application/json"
    assert await count(db, "customers") == 1
    assert await count(db, "events") == 1


async def test_a_key_with_another_body_is_refused(bank: BankDriver, db: asyncpg.Connection) -> None:
    assert (await bank.post("/v1/customers", CUSTOMER, key="onboard-2")).status_code == 201
    other = await bank.post("/v1/customers", {**CUSTOMER, "name": "Someone Else"}, key="onboard-2")
    assert_problem(other, 422, "idempotency_key_mismatch")
    elsewhere = await bank.post(
        "/v1/accounts", {"customer_id": str(uuid.uuid4()), "product": "x"}, key="onboard-2"
    )
    assert_problem(elsewhere, 422, "idempotency_key_mismatch")
    assert await count(db, "customers") == 1


async def test_an_account_is_opened_once(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    body = {"customer_id": customer["id"], "product": "demand_deposit"}
    first = await bank.post("/v1/accounts", body, key="open-1")
    second = await bank.post("/v1/accounts", body, key="open-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert await count(db, "accounts") == 1
    assert await count(db, "ledger_accounts WHERE code = 2000") == 1
    events = await db.fetchval("SELECT count(*) FROM events WHERE type = 'account.opened'")
    assert events == 1
    mismatch = await bank.post("/v1/accounts", {**body, "product": "savings"}, key="open-1")
    assert_problem(mismatch, 422, "idempotency_key_mismatch")


async def test_a_refused_request_does_not_use_up_its_key(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    customer = await bank.customer()
    wrong = await bank.post(
        "/v1/accounts", {"customer_id": customer["id"], "product": "savings"}, key="open-2"
    )
    assert_problem(wrong, 422, "product_not_found")
    right = await bank.post(
        "/v1/accounts", {"customer_id": customer["id"], "product": "demand_deposit"}, key="open-2"
    )
    assert right.status_code == 201
    assert await count(db, "accounts") == 1


async def test_keys_belong_to_their_caller(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    token = await customer_token(bank.client, customer["id"])
    body = {"customer_id": customer["id"], "product": "demand_deposit"}
    by_ops = await bank.post("/v1/accounts", body, key="shared")
    by_customer = await bank.post("/v1/accounts", body, key="shared", headers=bearer(token))
    assert by_ops.status_code == by_customer.status_code == 201
    assert by_customer.json()["id"] != by_ops.json()["id"]
    assert "idempotent-replayed" not in by_customer.headers
    assert await count(db, "accounts") == 2


async def test_concurrent_duplicates_create_one_customer(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    headers = {"Idempotency-Key": "race-1"}
    responses = await asyncio.gather(
        *(client.post("/v1/customers", json=CUSTOMER, headers=headers) for _ in range(8))
    )
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, [r.text for r in responses]
    created = [r for r in responses if r.status_code == 201]
    assert len({r.json()["id"] for r in created}) == 1
    for conflict in (r for r in responses if r.status_code == 409):
        assert_problem(conflict, 409, "idempotency_key_in_use")
    assert await count(db, "customers") == 1
