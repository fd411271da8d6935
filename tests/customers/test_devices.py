"""POST /v1/customers/{id}/devices: binding Ed25519 public keys to customers."""

from __future__ import annotations

import base64
import uuid

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.conftest import BankDriver
from tests.customers.helpers import b64url, bearer, customer_token, raw_public_key


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


def new_public_key() -> bytes:
    return raw_public_key(Ed25519PrivateKey.generate())


async def register(
    client: httpx.AsyncClient, customer_id: object, public_key: object, **headers: str
) -> httpx.Response:
    return await client.post(
        f"/v1/customers/{customer_id}/devices",
        json={"public_key": public_key},
        headers={**key(), **headers},
    )


async def test_ops_registers_a_device(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    raw = new_public_key()
    response = await register(bank.client, customer["id"], b64url(raw))
    assert response.status_code == 201, response.text
    device_id = uuid.UUID(response.json()["device_id"])
    assert set(response.json()) == {"device_id"}
    row = await db.fetchrow("SELECT * FROM devices WHERE id = $1", device_id)
    assert row is not None
    assert bytes(row["public_key"]) == raw
    assert str(row["customer_id"]) == customer["id"]
    assert row["failed_attempts"] == 0
    assert row["locked_until"] is None


async def test_a_customer_may_have_several_devices(
    bank: BankDriver, db: asyncpg.Connection
) -> None:
    customer = await bank.customer()
    for _ in range(2):
        response = await register(bank.client, customer["id"], b64url(new_public_key()))
        assert response.status_code == 201
    count = await db.fetchval(
        "SELECT count(*) FROM devices WHERE customer_id = $1", uuid.UUID(customer["id"])
    )
    assert count == 2


def _bad_keys() -> list[tuple[str, object]]:
    raw = new_public_key()
    standard = base64.b64encode(b"\xfb\xff" + raw[2:]).decode().rstrip("=")
    assert "+" in standard or "/" in standard
    return [
        ("empty", ""),
        ("16 bytes", b64url(raw[:16])),
        ("31 bytes", b64url(raw[:31])),
        ("33 bytes", b64url(raw + b"\x00")),
        ("64 bytes", b64url(raw + raw)),
        ("not base64", "!" * 43),
        ("junk inside", b64url(raw)[:20] + "*" + b64url(raw)[20:]),
        ("spaces inside", b64url(raw)[:20] + " " + b64url(raw)[20:]),
        ("standard alphabet", standard),
        ("hex", raw.hex()),
        ("very long", "A" * 1000),
    ]


async def test_bad_public_keys_are_refused(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    wrong = []
    for case, public_key in _bad_keys():
        response = await register(bank.client, customer["id"], public_key)
        if (
            response.status_code != 422
            or response.headers["content-type"] != "application/problem+json"
            or response.json()["code"] != "invalid_public_key"
        ):
            wrong.append((case, response.status_code, response.text[:200]))
    assert wrong == []
    assert await db.fetchval("SELECT count(*) FROM devices") == 0


async def test_a_public_key_must_be_a_short_string(bank: BankDriver) -> None:
    customer = await bank.customer()
    for public_key in (None, 42, ["a"], {"k": "v"}, "A" * 5000):
        response = await register(bank.client, customer["id"], public_key)
        assert response.status_code == 422
        assert response.json()["code"] == "validation_error"


async def test_padded_base64url_is_the_same_key(bank: BankDriver) -> None:
    customer = await bank.customer()
    raw = new_public_key()
    first = await register(bank.client, customer["id"], b64url(raw))
    assert first.status_code == 201
    padded = base64.urlsafe_b64encode(raw).decode()
    assert padded.endswith("=")
    again = await register(bank.client, customer["id"], padded)
    assert again.status_code == 409
    assert again.json()["code"] == "device_key_in_use"


async def test_a_key_belongs_to_one_device(bank: BankDriver, db: asyncpg.Connection) -> None:
    alice = await bank.customer("Alice")
    bob = await bank.customer("Bob")
    public_key = b64url(new_public_key())
    assert (await register(bank.client, alice["id"], public_key)).status_code == 201
    for owner in (alice, bob):
        response = await register(bank.client, owner["id"], public_key)
        assert response.status_code == 409
        assert response.json()["code"] == "device_key_in_use"
    assert await db.fetchval("SELECT count(*) FROM devices") == 1


async def test_unknown_customer(bank: BankDriver, db: asyncpg.Connection) -> None:
    response = await register(bank.client, uuid.uuid4(), b64url(new_public_key()))
    assert response.status_code == 404
    assert response.json()["code"] == "customer_not_found"
    assert await db.fetchval("SELECT count(*) FROM devices") == 0


async def test_only_ops_registers_devices(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    token = await customer_token(bank.client, customer["id"])
    response = await register(
        bank.client, customer["id"], b64url(new_public_key()), **bearer(token)
    )
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"
    anonymous = await register(
        bank.client, customer["id"], b64url(new_public_key()), Authorization=""
    )
    assert anonymous.status_code == 401
    assert await db.fetchval("SELECT count(*) FROM devices") == 1


async def test_registration_is_idempotent(bank: BankDriver, db: asyncpg.Connection) -> None:
    customer = await bank.customer()
    body = {"public_key": b64url(new_public_key())}
    path = f"/v1/customers/{customer['id']}/devices"
    headers = {"Idempotency-Key": "device-1"}
    first = await bank.client.post(path, json=body, headers=headers)
    second = await bank.client.post(path, json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert await db.fetchval("SELECT count(*) FROM devices") == 1
    missing = await bank.client.post(path, json={"public_key": b64url(new_public_key())})
    assert missing.status_code == 400
    assert missing.json()["code"] == "idempotency_key_required"
