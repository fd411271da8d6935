"""Device-bound authentication: challenges, signatures, lockout, and the tokens they yield."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import BankDriver
from tests.customers.helpers import (
    Device,
    b64url,
    bearer,
    challenge,
    login,
    redeem,
    register_device,
)


def wrong_signature(challenge_text: str) -> str:
    return Device("x", "x", Ed25519PrivateKey.generate()).sign(challenge_text)


async def failures(db: asyncpg.Connection, device: Device) -> tuple[int, datetime | None]:
    row = await db.fetchrow(
        "SELECT failed_attempts, locked_until FROM devices WHERE id = $1", uuid.UUID(device.id)
    )
    assert row is not None
    return row["failed_attempts"], row["locked_until"]


async def fail_once(client: httpx.AsyncClient, device: Device) -> httpx.Response:
    text = await challenge(client, device)
    return await redeem(client, device, text, wrong_signature(text))


async def test_a_signed_challenge_yields_a_working_token(bank: BankDriver, device: Device) -> None:
    response = await bank.client.post("/v1/auth/challenge", json={"device_id": device.id})
    assert response.status_code == 200
    issued = response.json()
    assert set(issued) == {"challenge", "expires_in"}
    assert 0 < issued["expires_in"] <= 120
    token = await redeem(bank.client, device, issued["challenge"])
    assert token.status_code == 200, token.text
    body = token.json()
    assert token.headers["cache-control"] == "no-store"
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] > 0
    account = await bank.account(device.customer_id)
    headers = bearer(body["access_token"])
    own = await bank.client.get(f"/v1/accounts/{account['id']}", headers=headers)
    assert own.status_code == 200
    assert own.json()["id"] == account["id"]
    assert (
        await bank.client.get(f"/v1/customers/{device.customer_id}", headers=headers)
    ).is_success


async def test_a_token_does_not_reach_other_customers(bank: BankDriver, device: Device) -> None:
    other = await bank.account()
    token = await login(bank.client, device)
    response = await bank.client.get(f"/v1/accounts/{other['id']}", headers=bearer(token))
    assert response.status_code == 404
    assert response.json()["code"] == "account_not_found"


async def test_a_challenge_is_single_use(bank: BankDriver, device: Device) -> None:
    text = await challenge(bank.client, device)
    assert (await redeem(bank.client, device, text)).status_code == 200
    again = await redeem(bank.client, device, text)
    assert again.status_code == 401
    assert again.json()["code"] == "invalid_challenge"


async def test_an_expired_challenge_is_refused(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    text = await challenge(bank.client, device)
    expires_at = await db.fetchval(
        "SELECT expires_at FROM auth_challenges WHERE challenge = $1", text
    )
    assert expires_at <= datetime.now(UTC) + timedelta(seconds=121)
    await db.execute(
        "UPDATE auth_challenges SET expires_at = now() - interval '1 second' WHERE challenge = $1",
        text,
    )
    response = await redeem(bank.client, device, text)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_challenge"


async def test_a_challenge_belongs_to_its_device(bank: BankDriver, device: Device) -> None:
    other = await register_device(bank.client, device.customer_id)
    text = await challenge(bank.client, device)
    response = await redeem(bank.client, other, text)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_challenge"
    # and it is still good for its own device
    assert (await redeem(bank.client, device, text)).status_code == 200


async def test_an_unknown_challenge_is_refused(bank: BankDriver, device: Device) -> None:
    for text in ("never-issued", b64url(b"\x00" * 32)):
        response = await redeem(bank.client, device, text, signature=b64url(b"\x01" * 64))
        assert response.status_code == 401, response.text
        assert response.json()["code"] == "invalid_challenge"
    for text in ("bad\x00challenge", "é", "a" * 65, ""):
        response = await redeem(bank.client, device, text, signature=b64url(b"\x01" * 64))
        assert response.status_code == 422, response.text
        assert response.json()["code"] == "validation_error"


async def test_unknown_device(bank: BankDriver) -> None:
    response = await bank.client.post("/v1/auth/challenge", json={"device_id": str(uuid.uuid4())})
    assert response.status_code == 404
    assert response.json()["code"] == "device_not_found"
    token = await bank.client.post(
        "/v1/auth/token",
        json={"device_id": str(uuid.uuid4()), "challenge": "abc", "signature": "abc"},
    )
    assert token.status_code == 404
    assert token.json()["code"] == "device_not_found"


async def test_malformed_challenge_requests(bank: BankDriver) -> None:
    bodies: list[object] = [
        {},
        {"device_id": "not-a-uuid"},
        {"device_id": 12},
        {"device_id": str(uuid.uuid4()), "extra": 1},
        [],
    ]
    for body in bodies:
        response = await bank.client.post("/v1/auth/challenge", json=body)
        assert response.status_code == 422, body
        assert response.json()["code"] in ("validation_error", "malformed_json")


async def test_wrong_signatures_are_counted(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    refused_by_shape = ["", "A" * 129]
    counted = ["not base64!", b64url(b"\x00" * 64), b64url(b"\x00" * 10), "é"]
    for signature in refused_by_shape:
        response = await redeem(
            bank.client, device, await challenge(bank.client, device), signature
        )
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"
    assert await failures(db, device) == (0, None)
    for number, signature in enumerate(counted, start=1):
        response = await redeem(
            bank.client, device, await challenge(bank.client, device), signature
        )
        assert response.status_code == 401
        assert response.json()["code"] == "invalid_signature"
        assert await failures(db, device) == (number, None)


async def test_a_signature_by_another_key_is_refused(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    response = await fail_once(bank.client, device)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_signature"
    assert response.headers["content-type"] == "application/problem+json"
    assert await failures(db, device) == (1, None)


async def test_five_failures_lock_the_device(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    for _ in range(4):
        assert (await fail_once(bank.client, device)).json()["code"] == "invalid_signature"
    spare = await challenge(bank.client, device)
    fifth = await fail_once(bank.client, device)
    assert fifth.status_code == 423
    assert fifth.json()["code"] == "device_locked"
    _, locked_until = await failures(db, device)
    assert locked_until is not None
    lock = locked_until - datetime.now(UTC)
    assert timedelta(minutes=29) < lock <= timedelta(minutes=30)
    # Locked: neither a new challenge nor a correct signature on an older one gets in.
    refused = await bank.client.post("/v1/auth/challenge", json={"device_id": device.id})
    assert refused.status_code == 423
    assert refused.json()["code"] == "device_locked"
    correct = await redeem(bank.client, device, spare)
    assert correct.status_code == 423
    assert correct.json()["code"] == "device_locked"
    locked_events = await db.fetchval("SELECT count(*) FROM events WHERE type = 'device.locked'")
    assert locked_events == 1


async def test_the_lock_ends_and_the_count_restarts(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    for _ in range(5):
        await fail_once(bank.client, device)
    await db.execute(
        "UPDATE devices SET locked_until = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(device.id),
    )
    token = await login(bank.client, device)
    assert (
        await bank.client.get(f"/v1/customers/{device.customer_id}", headers=bearer(token))
    ).is_success
    for _ in range(4):
        assert (await fail_once(bank.client, device)).status_code == 401
    assert (await fail_once(bank.client, device)).status_code == 423


async def test_the_count_restarts_after_an_unlock_without_login(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    for _ in range(5):
        await fail_once(bank.client, device)
    await db.execute(
        "UPDATE devices SET locked_until = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(device.id),
    )
    assert (await fail_once(bank.client, device)).status_code == 401
    assert (await failures(db, device))[0] == 1


async def test_success_resets_the_failure_count(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    for _ in range(4):
        await fail_once(bank.client, device)
    assert (await failures(db, device))[0] == 4
    await login(bank.client, device)
    assert await failures(db, device) == (0, None)
    for _ in range(4):
        assert (await fail_once(bank.client, device)).status_code == 401
    assert await failures(db, device) == (4, None)


async def test_devices_lock_independently(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    other = await register_device(bank.client, device.customer_id)
    for _ in range(5):
        await fail_once(bank.client, device)
    assert (await failures(db, device))[1] is not None
    await login(bank.client, other)


async def test_old_challenges_are_purged(bank: BankDriver, db: asyncpg.Connection) -> None:
    from neobank.customers.auth import purge_challenges

    customer = await bank.customer()
    device = await register_device(bank.client, customer["id"])
    fresh = await challenge(bank.client, device)
    stale = await challenge(bank.client, device)
    await db.execute(
        "UPDATE auth_challenges SET expires_at = now() - interval '25 hours' WHERE challenge = $1",
        stale,
    )
    assert await purge_challenges(db) == 1
    left = {r["challenge"] for r in await db.fetch("SELECT challenge FROM auth_challenges")}
    assert left == {fresh}
