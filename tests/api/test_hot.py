"""The hot routes (neobank.api.hot) skip the app's routing, and keep its middlewares and
error handlers: the same answers as any other route."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRouter
from prometheus_client import REGISTRY

from neobank.api.hot import HotRoutes
from neobank.payments import service
from tests.api.problems import assert_problem
from tests.conftest import BankDriver

JSON = {"Content-Type": "application/json", "Idempotency-Key": "hot-1"}


@pytest.fixture
def routed(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The paths that reached a router."""
    paths: list[str] = []
    original = APIRouter.__call__

    async def counting(self: APIRouter, scope: Any, receive: Any, send: Any) -> None:
        paths.append(scope["path"])
        await original(self, scope, receive, send)

    monkeypatch.setattr(APIRouter, "__call__", counting)
    yield paths


def served(path: str) -> float:
    sample = REGISTRY.get_sample_value(
        "neobank_http_requests_total", {"method": "POST", "route": path, "status": "201"}
    )
    return sample or 0.0


async def test_a_transfer_skips_the_routing_and_is_counted(
    app: Any, bank: BankDriver, routed: list[str]
) -> None:
    source, target = await bank.account(funded=100), await bank.account()
    assert isinstance(app.middleware_stack, HotRoutes)
    routed.clear()
    before = served("/v1/transfers")
    response = await bank.transfer(source["id"], target["id"], 40)
    assert response.status_code == 201, response.text
    assert routed == []
    assert served("/v1/transfers") == before + 1
    assert (await bank.client.get("/healthz")).status_code == 200
    assert routed == ["/healthz"]
    assert await bank.balance(target["id"]) == 40


async def test_the_middlewares_still_refuse(app: Any, client: httpx.AsyncClient) -> None:
    too_large = await client.post(
        "/v1/transfers", content=b"{" + b" " * 70_000 + b"}", headers=JSON
    )
    assert_problem(too_large, 413, "request_too_large")
    unstorable = await client.post("/v1/transfers", content=b'{"memo": "\\u0000"}', headers=JSON)
    assert_problem(unstorable, 422, "validation_error")
    shedder = app.state.shedder
    saved = shedder.inflight_max
    shedder.inflight_max = 0
    try:
        shed = await client.post("/v1/transfers/batch", content=b"{}", headers=JSON)
    finally:
        shedder.inflight_max = saved
    assert_problem(shed, 503, "overloaded")


async def test_an_unexpected_error_is_a_500_problem(
    app: Any, bank: BankDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    source, target = await bank.account(funded=100), await bank.account()

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "submit_transfer", broken)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://neobank.test", headers=bank.client.headers
    ) as client:
        response = await client.post(
            "/v1/transfers",
            json={"from_account_id": source["id"], "to_account_id": target["id"]}
            | {"amount": 1, "currency": "KRW"},
            headers={"Idempotency-Key": "hot-2"},
        )
    assert_problem(response, 500, "internal_error")
    assert await bank.balance(target["id"]) == 0
