"""When the database is gone: /readyz says so, and an unexpected error is a bare 500
problem+json (no stack trace, no exception text)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import httpx
import pytest
import structlog
from fastapi import FastAPI

from neobank.db.urls import asyncpg_url
from tests.api.problems import assert_problem
from tests.conftest import OPS_TOKEN


@pytest.fixture
async def broken_database(app: FastAPI, database_url: str) -> AsyncIterator[None]:
    """The app's pool swapped for a closed one, for the length of the test."""
    services = app.state.services
    closed = await asyncpg.create_pool(asyncpg_url(database_url), min_size=0, max_size=1)
    await closed.close()
    app.state.services = dataclasses.replace(services, pool=closed)
    try:
        yield
    finally:
        app.state.services = services


async def test_readiness_fails_without_a_database(
    client: httpx.AsyncClient, broken_database: None
) -> None:
    response = await client.get("/readyz")
    assert_problem(response, 503, "database_unavailable")
    assert (await client.get("/healthz")).status_code == 200


@pytest.fixture
def plain_logs() -> Iterator[None]:
    """Plain-text tracebacks: rich's pretty ones take seconds to render."""
    saved = structlog.get_config()
    structlog.configure(
        processors=[structlog.processors.format_exc_info, structlog.processors.KeyValueRenderer()]
    )
    try:
        yield
    finally:
        structlog.configure(**saved)


async def test_an_unexpected_error_is_a_plain_500(
    app: FastAPI, broken_database: None, plain_logs: None
) -> None:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://neobank.test",
        headers={"Authorization": f"Bearer {OPS_TOKEN}"},
    ) as client:
        response = await client.get(f"/v1/customers/{uuid.uuid4()}")
    body = assert_problem(response, 500, "internal_error")
    assert "pool" not in response.text.lower()
    assert "asyncpg" not in response.text
    assert set(body) == {"type", "title", "status", "detail", "code"}
