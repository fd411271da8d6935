"""Body size limits (413) and the Idempotency-Key header's presence and length."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx

from tests.api.problems import assert_problem
from tests.conftest import BankDriver

CUSTOMER = {"name": "Jung Hoseok", "birth_date": "1994-02-18", "phone": "+82 10-4444-5555"}
BODY_BYTES_MAX = 64 * 1024


def oversized_body(size: int) -> bytes:
    return b'{"name": "' + b"x" * size + b'", "birth_date": "1994-02-18", "phone": "+82 10-1"}'


async def test_a_declared_oversized_body_is_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    response = await client.post(
        "/v1/customers",
        content=oversized_body(BODY_BYTES_MAX),
        headers={"Idempotency-Key": "big", "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "request_too_large")
    assert await db.fetchval("SELECT count(*) FROM customers") == 0


async def test_a_chunked_oversized_body_is_refused(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    chunk = b"x" * 8192

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "'
        for _ in range(BODY_BYTES_MAX // len(chunk) + 1):
            yield chunk
        yield b'", "birth_date": "1994-02-18", "phone": "+82 10-1"}'

    request = client.build_request(
        "POST",
        "/v1/customers",
        content=chunks(),
        headers={"Idempotency-Key": "big", "Content-Type": "application/json"},
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"
    response = await client.send(request)
    assert_problem(response, 413, "request_too_large")
    assert await db.fetchval("SELECT count(*) FROM customers") == 0


async def test_a_small_chunked_body_goes_through(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"name": "Jung Hoseok", '
        yield b'"birth_date": "1994-02-18", "phone": "+82 10-4444-5555"}'

    response = await client.post(
        "/v1/customers",
        content=chunks(),
        headers={"Idempotency-Key": "small", "Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text


async def test_an_oversized_body_on_a_read_route(client: httpx.AsyncClient) -> None:
    response = await client.request("GET", "/healthz", content=b"x" * (BODY_BYTES_MAX + 1))
    assert_problem(response, 413, "request_too_large")


async def test_the_batch_route_takes_larger_bodies(bank: BankDriver) -> None:
    a = await bank.account(funded=1_000_000)
    b = await bank.account()
    items = [
        {
            "id": str(uuid.uuid4()),
            "from_account_id": a["id"],
            "to_account_id": b["id"],
            "amount": 1,
            "currency": "KRW",
            "memo": "m" * 100,
        }
        for _ in range(400)
    ]
    response = await bank.post("/v1/transfers/batch", {"transfers": items})
    assert len(response.request.content) > BODY_BYTES_MAX
    assert response.status_code == 200, response.text[:300]
    assert await bank.balance(b["id"]) == 400


async def test_the_idempotency_key_is_required(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    missing = await client.post("/v1/customers", json=CUSTOMER)
    assert_problem(missing, 400, "idempotency_key_required")
    for bad_key in ("", "k" * 256, "k" * 10_000):
        response = await client.post(
            "/v1/customers", json=CUSTOMER, headers={"Idempotency-Key": bad_key}
        )
        assert_problem(response, 400, "idempotency_key_required")
    assert await db.fetchval("SELECT count(*) FROM customers") == 0
    for good_key in ("k", "k" * 255, "order:2026-11-24/#1 (retry)"):
        response = await client.post(
            "/v1/customers", json=CUSTOMER, headers={"Idempotency-Key": good_key}
        )
        assert response.status_code == 201, (good_key, response.text)
    assert await db.fetchval("SELECT count(*) FROM customers") == 3


async def test_idempotency_keys_outside_printable_ascii(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    for raw_key in (b"caf\xe9", b"tab\there", b"\xff" * 10):
        response = await client.post(
            "/v1/customers", json=CUSTOMER, headers={"Idempotency-Key": raw_key}
        )
        assert_problem(response, 400, "idempotency_key_required")
    assert await db.fetchval("SELECT count(*) FROM customers") == 0


async def test_every_money_or_opening_post_needs_a_key(bank: BankDriver) -> None:
    account = await bank.account(funded=100)
    other = await bank.account()
    requests = {
        "/v1/customers": CUSTOMER,
        "/v1/accounts": {"customer_id": account["customer_id"], "product": "demand_deposit"},
        "/v1/deposits": {"account_id": account["id"], "amount": 1, "currency": "KRW"},
        "/v1/transfers": {
            "from_account_id": account["id"],
            "to_account_id": other["id"],
            "amount": 1,
            "currency": "KRW",
        },
        f"/v1/accounts/{account['id']}/status": {"status": "frozen"},
        f"/v1/customers/{account['customer_id']}/devices": {"public_key": "A" * 43},
    }
    for path, body in requests.items():
        response = await bank.client.post(path, json=body)
        assert_problem(response, 400, "idempotency_key_required")
    assert await bank.balance(account["id"]) == 100
