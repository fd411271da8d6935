"""Bad input of every kind is a 4xx problem+json, never a 500 or a stack trace."""

from __future__ import annotations

import json
import uuid

import asyncpg
import httpx

from tests.api.problems import assert_problem
from tests.conftest import BankDriver

CUSTOMER = {"name": "Choi Yuna", "birth_date": "1991-07-07", "phone": "+82 10-2222-3333"}


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


async def post_raw(
    client: httpx.AsyncClient, path: str, content: bytes, content_type: str = "application/json"
) -> httpx.Response:
    return await client.post(path, content=content, headers={**key(), "Content-Type": content_type})


async def test_malformed_json(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    bodies = [
        b'{"name": ',
        b"{'name': 'single quotes'}",
        b'{"name": "Choi", }',
        b"not json at all",
        b'{"name": "tab\tinside"}',
        b"\xff\xfe\x00garbage",
        b'{"name": "\xed\xa0\x80"}',  # a surrogate encoded as UTF-8: not UTF-8
        b"[" * 30_000 + b"]" * 30_000,
        b'{"birth_date": ' + b"9" * 5000 + b"}",
    ]
    for body in bodies:
        response = await post_raw(client, "/v1/customers", body)
        assert 400 <= response.status_code < 500, (body[:40], response.text[:200])
        assert_problem(response, response.status_code)
    assert await db.fetchval("SELECT count(*) FROM customers") == 0


async def test_json_that_is_not_an_object(client: httpx.AsyncClient) -> None:
    for body in (b"[]", b'"customer"', b"42", b"null", b"true", b""):
        response = await post_raw(client, "/v1/customers", body)
        assert_problem(response, 422)


async def test_other_content_types(client: httpx.AsyncClient) -> None:
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        response = await post_raw(client, "/v1/customers", b"name=Choi", content_type)
        assert 400 <= response.status_code < 500
        assert_problem(response, response.status_code)


BAD_AMOUNTS: list[object] = [
    "1000",
    1.5,
    1.0,
    True,
    False,
    None,
    10**30,
    10**15 + 1,
    -1,
    0,
    -(10**30),
    [1],
    {"v": 1},
]


async def test_bad_amounts(bank: BankDriver) -> None:
    account = await bank.account(funded=10_000)
    other = await bank.account()
    for amount in BAD_AMOUNTS:
        deposit = await bank.post(
            "/v1/deposits", {"account_id": account["id"], "amount": amount, "currency": "KRW"}
        )
        assert_problem(deposit, 422, "validation_error")
        transfer = await bank.transfer(account["id"], other["id"], amount)  # type: ignore[arg-type]
        assert_problem(transfer, 422, "validation_error")
    assert await bank.balance(account["id"]) == 10_000
    assert await bank.balance(other["id"]) == 0


async def test_non_finite_numbers(bank: BankDriver) -> None:
    account = await bank.account()
    for literal in (b"NaN", b"Infinity", b"-Infinity", b"1e400"):
        body = b'{"account_id": "%s", "amount": %s, "currency": "KRW"}' % (
            str(account["id"]).encode(),
            literal,
        )
        response = await post_raw(bank.client, "/v1/deposits", body)
        assert_problem(response, 422)
    assert await bank.balance(account["id"]) == 0


async def test_unknown_fields(bank: BankDriver) -> None:
    account = await bank.account()
    customer = await bank.post("/v1/customers", {**CUSTOMER, "vip": True})
    assert_problem(customer, 422, "validation_error")
    opened = await bank.post(
        "/v1/accounts",
        {"customer_id": account["customer_id"], "product": "demand_deposit", "overdraft": 10**9},
    )
    assert_problem(opened, 422, "validation_error")
    deposit = await bank.post(
        "/v1/deposits",
        {"account_id": account["id"], "amount": 1, "currency": "KRW", "fee": -100},
    )
    assert_problem(deposit, 422, "validation_error")


async def test_malformed_uuids(bank: BankDriver) -> None:
    for path in (
        "/v1/customers/123",
        "/v1/customers/not-a-uuid",
        "/v1/accounts/zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz",
        "/v1/accounts/123/transactions",
        "/v1/transfers/%00",
    ):
        response = await bank.client.get(path)
        assert_problem(response, 422, "validation_error")
    for body in (
        {"customer_id": "123", "product": "demand_deposit"},
        {"customer_id": "", "product": "demand_deposit"},
        {"customer_id": "' OR 1=1 --", "product": "demand_deposit"},
    ):
        assert_problem(await bank.post("/v1/accounts", body), 422, "validation_error")
    response = await bank.post("/v1/auth/challenge", {"device_id": "x" * 1000})
    assert_problem(response, 422, "validation_error")


async def post_ascii_json(client: httpx.AsyncClient, path: str, body: object) -> httpx.Response:
    """JSON as `json.dumps` writes it by default: non-ASCII as \\u escapes, surrogates too."""
    return await post_raw(client, path, json.dumps(body).encode())


async def test_text_postgresql_cannot_store(bank: BankDriver, db: asyncpg.Connection) -> None:
    """NUL characters and lone surrogates are valid JSON but not storable text."""
    account = await bank.account(funded=1_000)
    other = await bank.account()
    customers_before = await db.fetchval("SELECT count(*) FROM customers")
    for text in ("nul\u0000inside", "lone \ud800 surrogate", "\udfff"):
        for customer in ({**CUSTOMER, "name": text}, {**CUSTOMER, "phone": text}):
            response = await post_ascii_json(bank.client, "/v1/customers", customer)
            assert_problem(response, 422, "validation_error")
        deposit = await post_ascii_json(
            bank.client,
            "/v1/deposits",
            {"account_id": account["id"], "amount": 1, "currency": "KRW", "memo": text},
        )
        assert_problem(deposit, 422, "validation_error")
        assert "memo" in deposit.json()["detail"]
        transfer = await post_ascii_json(
            bank.client,
            "/v1/transfers",
            {
                "from_account_id": account["id"],
                "to_account_id": other["id"],
                "amount": 1,
                "currency": "KRW",
                "memo": text,
            },
        )
        assert_problem(transfer, 422, "validation_error")
        product = await post_ascii_json(
            bank.client, "/v1/accounts", {"customer_id": account["customer_id"], "product": text}
        )
        assert_problem(product, 422)
        in_a_key = await post_ascii_json(bank.client, "/v1/customers", {**CUSTOMER, text: 1})
        assert_problem(in_a_key, 422)
    assert await db.fetchval("SELECT count(*) FROM customers") == customers_before
    assert await bank.balance(account["id"]) == 1_000
    # A surrogate pair is one real character, and is fine.
    fine = await post_ascii_json(
        bank.client, "/v1/customers", {**CUSTOMER, "name": "Choi \U0001f600"}
    )
    assert fine.status_code == 201, fine.text
    assert fine.json()["name"] == "Choi \U0001f600"
    # An escaped backslash followed by "u0000" is plain text.
    memo = await post_ascii_json(
        bank.client,
        "/v1/deposits",
        {"account_id": account["id"], "amount": 1, "currency": "KRW", "memo": "a \\u0000 b"},
    )
    assert memo.status_code == 201, memo.text
    assert memo.json()["memo"] == "a \\u0000 b"
