"""The hot keyed writes resolve their body, caller and key in one dependency
(neobank.api.keyed), checked in the order separate dependencies checked them: a JSON syntax
error (tests/api/test_raw_bodies.py), the caller, ops-only, the key, then the body's fields."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.problems import assert_problem
from tests.conftest import BankDriver
from tests.payments.helpers import customer_client

HOT_ROUTES = ("/v1/transfers", "/v1/transfers/batch")
JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize("path", HOT_ROUTES)
async def test_the_caller_is_checked_before_the_key(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(
        path, content=b'{"amount": 1}', headers={**JSON, "Authorization": "Bearer nope"}
    )
    assert_problem(response, 401)


@pytest.mark.parametrize("path", HOT_ROUTES)
async def test_the_key_is_checked_before_the_fields(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, content=b'{"amount": 1}', headers=JSON)
    assert_problem(response, 400, "idempotency_key_required")
    response = await client.post(
        path, content=b'{"amount": 1}', headers={**JSON, "Idempotency-Key": "k-1"}
    )
    assert_problem(response, 422, "validation_error")


async def test_a_customer_is_refused_the_batch_before_the_key(app: Any, bank: BankDriver) -> None:
    customer = await bank.customer()
    async with customer_client(app, bank, customer["id"]) as as_customer:
        response = await as_customer.client.post(
            "/v1/transfers/batch", content=b'{"amount": 1}', headers=JSON
        )
        assert_problem(response, 403, "forbidden")
        response = await as_customer.client.post(
            "/v1/transfers", content=b'{"amount": 1}', headers=JSON
        )
        assert_problem(response, 400, "idempotency_key_required")
