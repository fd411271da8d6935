"""Device keys and customer tokens for tests, all through the HTTP API."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Device:
    id: str
    customer_id: str
    key: Ed25519PrivateKey = field(repr=False)

    def sign(self, challenge: str) -> str:
        return b64url(self.key.sign(unb64url(challenge)))


async def register_device(
    client: httpx.AsyncClient, customer_id: object, key: Ed25519PrivateKey | None = None
) -> Device:
    key = key or Ed25519PrivateKey.generate()
    response = await client.post(
        f"/v1/customers/{customer_id}/devices",
        json={"public_key": b64url(raw_public_key(key))},
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    assert response.status_code == 201, response.text
    return Device(response.json()["device_id"], str(customer_id), key)


async def challenge(client: httpx.AsyncClient, device: Device) -> str:
    response = await client.post("/v1/auth/challenge", json={"device_id": device.id})
    assert response.status_code == 200, response.text
    return str(response.json()["challenge"])


async def redeem(
    client: httpx.AsyncClient, device: Device, challenge_text: str, signature: str | None = None
) -> httpx.Response:
    body = {
        "device_id": device.id,
        "challenge": challenge_text,
        "signature": signature if signature is not None else device.sign(challenge_text),
    }
    return await client.post("/v1/auth/token", json=body)


async def login(client: httpx.AsyncClient, device: Device) -> str:
    response = await redeem(client, device, await challenge(client, device))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def customer_token(client: httpx.AsyncClient, customer_id: object) -> str:
    """A bearer token for the customer, from a freshly registered device."""
    return await login(client, await register_device(client, customer_id))
