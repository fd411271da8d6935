"""Bearer tokens: the ones we issue work; expired, forged or tampered ones answer 401."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import jwt
import pytest

from tests.conftest import OPS_TOKEN, BankDriver
from tests.customers.helpers import Device, b64url, bearer, login


def _claims(customer_id: str, device_id: str, **overrides: object) -> dict[str, object]:
    now = datetime.now(UTC)
    claims: dict[str, object] = {
        "iss": "neobank",
        "sub": customer_id,
        "did": device_id,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


async def _signing_key(db: asyncpg.Connection) -> str:
    value = await db.fetchval("SELECT value FROM bank_secrets WHERE name = 'jwt_signing_key'")
    assert isinstance(value, str)
    return value


async def test_our_own_claims_are_accepted(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    """The control for the forgeries below: the same claims, correctly signed, work."""
    token = jwt.encode(_claims(device.customer_id, device.id), await _signing_key(db), "HS256")
    response = await bank.client.get(f"/v1/customers/{device.customer_id}", headers=bearer(token))
    assert response.status_code == 200


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
async def test_bad_tokens_are_refused(
    bank: BankDriver, device: Device, db: asyncpg.Connection
) -> None:
    key = await _signing_key(db)
    past = int((datetime.now(UTC) - timedelta(minutes=1)).timestamp())
    claims = _claims(device.customer_id, device.id)
    forgeries = {
        "expired": jwt.encode({**claims, "exp": past}, key, "HS256"),
        "other key": jwt.encode(claims, "x" * 64, "HS256"),
        "ops token as key": jwt.encode(claims, OPS_TOKEN, "HS256"),
        "alg none": jwt.encode(claims, None, algorithm="none"),
        "HS512": jwt.encode(claims, key, "HS512"),
        "no exp": jwt.encode(_claims(device.customer_id, device.id, exp=None), key, "HS256"),
        "no device": jwt.encode(_claims(device.customer_id, device.id, did=None), key, "HS256"),
        "other issuer": jwt.encode({**claims, "iss": "evil"}, key, "HS256"),
        "bad sub": jwt.encode({**claims, "sub": "ops"}, key, "HS256"),
    }
    accepted = []
    for name, token in forgeries.items():
        response = await bank.client.get(
            f"/v1/customers/{device.customer_id}", headers=bearer(token)
        )
        if response.status_code != 401 or response.json()["code"] != "unauthorized":
            accepted.append((name, response.status_code))
    assert accepted == []


async def test_a_tampered_token_is_refused(bank: BankDriver, device: Device) -> None:
    other = await bank.customer("Mallory's target")
    token = await login(bank.client, device)
    header, payload, signature = token.split(".")
    forged_payload = b64url(
        jwt.api_jws.base64url_decode(payload).replace(
            device.customer_id.encode(), other["id"].encode()
        )
    )
    forged = f"{header}.{forged_payload}.{signature}"
    response = await bank.client.get(f"/v1/customers/{other['id']}", headers=bearer(forged))
    assert response.status_code == 401
    for garbage in (b"Bearer garbage", b"Bearer a.b.c", b"Bearer \xe9\xff", b"bearer x"):
        response = await bank.client.get(
            f"/v1/customers/{device.customer_id}", headers={"Authorization": garbage}
        )
        assert response.status_code == 401
