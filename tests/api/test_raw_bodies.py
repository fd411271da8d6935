"""The hot routes validate their bodies from the raw bytes (neobank.api.json_body): the same
answers as FastAPI's own body handling, and the same OpenAPI documentation."""

from __future__ import annotations

import uuid

import httpx

from tests.api.problems import assert_problem
from tests.conftest import BankDriver


async def test_the_request_bodies_are_documented(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    for path, model in (("/v1/transfers", "TransferIn"), ("/v1/transfers/batch", "BatchIn")):
        body = schema["paths"][path]["post"]["requestBody"]
        assert body["required"] is True
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{model}"
        }
    components = schema["components"]["schemas"]
    assert components["TransferIn"]["additionalProperties"] is False
    assert set(components["TransferIn"]["required"]) == {
        "from_account_id",
        "to_account_id",
        "amount",
        "currency",
    }
    items = components["BatchIn"]["properties"]["transfers"]["items"]
    assert items == {"$ref": "#/components/schemas/BatchItemIn"}
    assert "BatchItemIn" in components


async def test_malformed_json_is_answered_before_auth(client: httpx.AsyncClient) -> None:
    for path in ("/v1/transfers", "/v1/transfers/batch"):
        response = await client.post(
            path,
            content=b'{"amount": ',
            headers={"Content-Type": "application/json", "Authorization": "Bearer nope"},
        )
        assert_problem(response, 422, "malformed_json")
        # A well-formed but invalid body is answered after auth, as before.
        response = await client.post(
            path,
            content=b'{"amount": 1}',
            headers={"Content-Type": "application/json", "Authorization": "Bearer nope"},
        )
        assert_problem(response, 401)


async def test_bodies_outside_the_fast_path(bank: BankDriver) -> None:
    source = await bank.account(funded=1_000)
    target = await bank.account()
    body = b'{"from_account_id": "%s", "to_account_id": "%s", "amount": 7, "currency": "KRW"}' % (
        str(source["id"]).encode(),
        str(target["id"]).encode(),
    )
    for content_type in ("application/json; charset=utf-8", "application/problem+json"):
        response = await bank.client.post(
            "/v1/transfers",
            content=body,
            headers={"Content-Type": content_type, "Idempotency-Key": uuid.uuid4().hex},
        )
        assert response.status_code == 201, response.text
    for content_type, code in (("text/plain", "malformed_json"), (None, "malformed_json")):
        headers = {"Idempotency-Key": uuid.uuid4().hex}
        if content_type:
            headers["Content-Type"] = content_type
        response = await bank.client.post("/v1/transfers", content=body, headers=headers)
        assert_problem(response, 422, code)
    empty = await bank.client.post(
        "/v1/transfers", content=b"", headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    problem = assert_problem(empty, 422, "validation_error")
    assert problem["errors"] == [
        {"location": ["body"], "message": "Field required", "type": "missing"}
    ]
    assert await bank.balance(target["id"]) == 14
