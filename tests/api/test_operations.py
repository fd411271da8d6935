"""Health, readiness, metrics, the OpenAPI schema, and HTTP-level errors as problem+json."""

from __future__ import annotations

import uuid

import httpx

from tests.api.problems import assert_problem
from tests.conftest import BankDriver


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    health = await client.get("/healthz", headers={"Authorization": ""})
    assert health.status_code == 200
    assert health.json() == {"status": "ok"}
    ready = await client.get("/readyz", headers={"Authorization": ""})
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_metrics(bank: BankDriver) -> None:
    account = await bank.account(funded=10)
    await bank.client.get(f"/v1/accounts/{account['id']}")
    other = await bank.account()
    transfer = {"from_account_id": account["id"], "to_account_id": other["id"], "amount": 1}
    await bank.post("/v1/transfers", {**transfer, "currency": "KRW"})  # outside FastAPI
    await bank.client.get(f"/no/such/{uuid.uuid4()}")
    response = await bank.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert "neobank_http_requests_total" in text
    assert "neobank_http_request_seconds" in text
    # Labelled by route template, so that ids do not explode the series.
    assert 'route="/v1/accounts/{account_id}"' in text
    assert 'method="POST",route="/v1/transfers",status="201"' in text
    assert str(account["id"]) not in text
    assert "/no/such" not in text


async def test_openapi_lists_the_routes(client: httpx.AsyncClient) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "neobank"
    paths = schema["paths"]
    for path, method in [
        ("/v1/customers", "post"),
        ("/v1/customers/{customer_id}", "get"),
        ("/v1/customers/{customer_id}/devices", "post"),
        ("/v1/auth/challenge", "post"),
        ("/v1/auth/token", "post"),
        ("/v1/accounts", "post"),
        ("/v1/accounts/{account_id}", "get"),
        ("/v1/accounts/{account_id}/transactions", "get"),
        ("/v1/accounts/{account_id}/status", "post"),
        ("/v1/deposits", "post"),
        ("/v1/transfers", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ]:
        assert method in paths.get(path, {}), (path, method)
    docs = await client.get("/docs")
    assert docs.status_code == 200


async def test_unknown_routes_are_404_problems(client: httpx.AsyncClient) -> None:
    for path in ("/nope", "/v1", "/v2/customers", "/v1/accounts/x/y/z", "/v1/customers/x/y"):
        response = await client.get(path)
        assert_problem(response, 404, "not_found")


async def test_wrong_methods_are_405_problems(bank: BankDriver) -> None:
    account = await bank.account()
    for method, path in [
        ("DELETE", f"/v1/customers/{account['customer_id']}"),
        ("PUT", f"/v1/accounts/{account['id']}"),
        ("GET", "/v1/auth/token"),
        ("GET", "/v1/customers"),
        ("POST", "/healthz"),
        ("PATCH", f"/v1/accounts/{account['id']}/status"),
    ]:
        response = await bank.client.request(method, path)
        body = assert_problem(response, 405, "method_not_allowed")
        assert body["status"] == 405
        assert response.headers["allow"], (method, path)
