"""Test helpers for payments and idempotency: customer clients signed in through the real
device-key flow, and short readers of what the API and the database hold."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from neobank.b64 import b64url_decode, b64url_encode
from tests.conftest import BankDriver

KRW = "KRW"


@asynccontextmanager
async def customer_client(
    app: object, bank: BankDriver, customer_id: object
) -> AsyncIterator[BankDriver]:
    """A BankDriver whose client holds a customer's token, obtained by registering a device key
    and signing a challenge, as the mobile app does."""
    key = Ed25519PrivateKey.generate()
    public = b64url_encode(key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    device = await bank.post(f"/v1/customers/{customer_id}/devices", {"public_key": public})
    assert device.status_code == 201, device.text
    device_id = device.json()["device_id"]
    challenge = await bank.client.post("/v1/auth/challenge", json={"device_id": device_id})
    assert challenge.status_code == 200, challenge.text
    text = challenge.json()["challenge"]
    raw = b64url_decode(text)
    assert raw is not None
    token = await bank.client.post(
        "/v1/auth/token",
        json={"device_id": device_id, "challenge": text, "signature": b64url_encode(key.sign(raw))},
    )
    assert token.status_code == 200, token.text
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://neobank.test",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
    ) as http:
        yield BankDriver(http)


async def set_fee(bank: BankDriver, amount: int, kind: str = "internal") -> dict[str, Any]:
    response = await bank.post("/v1/fees/rules", {"kind": kind, "amount": amount, "currency": KRW})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def promotion(
    bank: BankDriver,
    percent: int,
    *,
    name: str | None = None,
    kinds: tuple[str, ...] = ("internal",),
    starts_in: timedelta = timedelta(hours=-1),
    lasts: timedelta = timedelta(days=1),
) -> dict[str, Any]:
    starts_at = datetime.now(UTC) + starts_in
    response = await bank.post(
        "/v1/fees/promotions",
        {
            "name": name or f"{percent}% off",
            "kinds": list(kinds),
            "waive_percent": percent,
            "starts_at": starts_at.isoformat(),
            "ends_at": (starts_at + lasts).isoformat(),
        },
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def account_view(bank: BankDriver, account_id: object) -> dict[str, Any]:
    response = await bank.client.get(f"/v1/accounts/{account_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def history(bank: BankDriver, account_id: object) -> list[dict[str, Any]]:
    response = await bank.client.get(f"/v1/accounts/{account_id}/transactions")
    assert response.status_code == 200, response.text
    return response.json()["items"]  # type: ignore[no-any-return]


async def events(db: asyncpg.Connection, event_type: str) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT payload FROM events WHERE type = $1 ORDER BY id", event_type)
    return [row["payload"] for row in rows]


async def count(db: asyncpg.Connection, table: str) -> int:
    assert table in {"payments", "transfers", "holds", "journal_entries", "idempotency_keys"}
    return int(await db.fetchval(f"SELECT count(*) FROM {table}"))


def new_id() -> str:
    return str(uuid.uuid4())
