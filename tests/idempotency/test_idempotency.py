"""Idempotency keys over HTTP: replays, mismatches, concurrent duplicates, scopes, the purge."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import asyncpg

from neobank.idempotency.service import KEY_RETENTION_HOURS, purge_expired
from tests.conftest import BankDriver
from tests.payments.helpers import KRW, count, customer_client, new_id, set_fee


def transfer_body(source: dict[str, Any], target: dict[str, Any], amount: int) -> dict[str, Any]:
    return {
        "from_account_id": source["id"],
        "to_account_id": target["id"],
        "amount": amount,
        "currency": KRW,
    }


async def test_same_key_same_body_replays_and_applies_once(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    a = await bank.account(funded=10_000)
    b = await bank.account()
    body = transfer_body(a, b, 1_000)
    first = await bank.post("/v1/transfers", body, key="pay-1")
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    payments, transfers = await count(db, "payments"), await count(db, "transfers")
    for _ in range(3):
        again = await bank.post("/v1/transfers", body, key="pay-1")
        assert again.status_code == 201
        assert again.headers["Idempotent-Replayed"] == "true"
        assert again.json() == first.json()
    assert (await count(db, "payments"), await count(db, "transfers")) == (payments, transfers)
    assert await bank.balance(a["id"]) == 9_000


async def test_a_failed_transfer_is_replayed_not_retried(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    a = await bank.account(funded=1_000)
    b = await bank.account()
    body = transfer_body(a, b, 5_000)
    first = await bank.post("/v1/transfers", body, key="too-much")
    assert (first.status_code, first.json()["code"]) == (422, "insufficient_funds")
    await bank.deposit(a["id"], 10_000)  # now it would succeed, but the key has its answer
    transfers = await count(db, "transfers")
    again = await bank.post("/v1/transfers", body, key="too-much")
    assert again.status_code == 422
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json() == first.json()
    assert await count(db, "transfers") == transfers
    assert await bank.balance(b["id"]) == 0


async def test_same_key_different_body_is_a_mismatch(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    a = await bank.account(funded=10_000)
    b = await bank.account()
    assert (await bank.post("/v1/transfers", transfer_body(a, b, 1_000), key="k")).is_success
    changes: list[dict[str, Any]] = [
        transfer_body(a, b, 2_000),
        transfer_body(b, a, 1_000),
        transfer_body(a, a, 1_000),  # refused before the ledger: still the key's mismatch
        {**transfer_body(a, b, 1_000), "memo": "changed"},
    ]
    for body in changes:
        response = await bank.post("/v1/transfers", body, key="k")
        assert (response.status_code, response.json()["code"]) == (422, "idempotency_key_mismatch")
    # The same key on another route is another request, hence a mismatch too.
    deposit = {"account_id": a["id"], "amount": 1_000, "currency": KRW}
    assert (await bank.post("/v1/deposits", deposit, key="k")).json()["code"] == (
        "idempotency_key_mismatch"
    )
    assert await count(db, "payments") == 2
    assert await bank.balance(a["id"]) == 9_000


async def test_concurrent_duplicates_apply_once(bank: BankDriver, db: asyncpg.Connection) -> None:
    await set_fee(bank, 100)
    a = await bank.account(funded=100_000)
    b = await bank.account()
    body = transfer_body(a, b, 1_000)
    payments, transfers = await count(db, "payments"), await count(db, "transfers")
    responses = await asyncio.gather(
        *(bank.post("/v1/transfers", body, key="burst") for _ in range(20))
    )
    statuses = Counter(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    assert statuses[201] >= 1
    originals = [
        r for r in responses if r.status_code == 201 and "Idempotent-Replayed" not in r.headers
    ]
    assert len(originals) == 1
    ids = {r.json()["id"] for r in responses if r.status_code == 201}
    assert ids == {originals[0].json()["id"]}
    in_use = [r.json() for r in responses if r.status_code == 409]
    assert all(p["code"] == "idempotency_key_in_use" for p in in_use)
    assert await count(db, "payments") == payments + 1
    assert await count(db, "transfers") == transfers + 2  # principal and fee
    assert await bank.balance(a["id"]) == 100_000 - 1_100
    after = await bank.post("/v1/transfers", body, key="burst")
    assert after.headers["Idempotent-Replayed"] == "true"
    assert after.json()["id"] == originals[0].json()["id"]


async def test_concurrent_duplicates_of_a_fee_rule_apply_once(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    body = {"kind": "internal", "amount": 700, "currency": KRW}
    responses = await asyncio.gather(
        *(bank.post("/v1/fees/rules", body, key="rule") for _ in range(20))
    )
    assert {r.status_code for r in responses} <= {200, 409}
    fresh = [
        r for r in responses if r.status_code == 200 and "Idempotent-Replayed" not in r.headers
    ]
    assert len(fresh) == 1
    assert await db.fetchval("SELECT count(*) FROM events WHERE type = 'fee_rule.set'") == 1


async def test_keys_are_scoped_per_caller(
    app: Any, bank: BankDriver, db: asyncpg.Connection
) -> None:
    customer = await bank.customer()
    own = await bank.account(customer["id"], funded=10_000)
    other = await bank.account()
    body = transfer_body(own, other, 1_000)
    by_ops = await bank.post("/v1/transfers", body, key="shared-key")
    async with customer_client(app, bank, customer["id"]) as as_customer:
        by_customer = await as_customer.post("/v1/transfers", body, key="shared-key")
        assert by_customer.status_code == 201
        assert "Idempotent-Replayed" not in by_customer.headers
        assert by_customer.json()["id"] != by_ops.json()["id"]
        # A different body under the customer's key is the customer's own mismatch.
        changed = transfer_body(own, other, 5)
        mismatch = await as_customer.post("/v1/transfers", changed, key="shared-key")
        assert mismatch.json()["code"] == "idempotency_key_mismatch"
    assert await bank.balance(own["id"]) == 8_000
    scopes = await db.fetch("SELECT scope FROM idempotency_keys WHERE key = 'shared-key'")
    assert sorted(r["scope"] for r in scopes) == ["customer:" + customer["id"], "ops"]


async def test_purge_deletes_only_keys_past_retention(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    assert KEY_RETENTION_HOURS == 48
    for key in ("old", "edge", "young"):
        response = await bank.post(
            "/v1/fees/rules", {"kind": "internal", "amount": 1, "currency": KRW}, key=key
        )
        assert response.status_code == 200
    ages = {
        "old": timedelta(hours=48, minutes=1),
        "edge": timedelta(hours=47, minutes=59),
        "young": timedelta(hours=1),
    }
    for key, age in ages.items():
        await db.execute(
            "UPDATE idempotency_keys SET created_at = now() - $2::interval WHERE key = $1", key, age
        )
    before = await count(db, "idempotency_keys")
    assert await purge_expired(db) == 1
    left = {r["key"] for r in await db.fetch("SELECT key FROM idempotency_keys")}
    assert "old" not in left and {"edge", "young"} <= left
    assert await count(db, "idempotency_keys") == before - 1
    assert await purge_expired(db) == 0
    # A purged key is a fresh key again.
    again = await bank.post(
        "/v1/fees/rules", {"kind": "internal", "amount": 2, "currency": KRW}, key="old"
    )
    assert again.status_code == 200 and "Idempotent-Replayed" not in again.headers


async def test_a_refused_request_stores_nothing_under_its_key(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    a = await bank.account(funded=1_000)
    body = transfer_body(a, {"id": new_id()}, 100)
    first = await bank.post("/v1/transfers", body, key="nobody")
    assert first.json()["code"] == "account_not_found"
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE key = 'nobody'") == 0
