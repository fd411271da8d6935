"""Shared fixtures: a real PostgreSQL (embedded by default, or NEOBANK_TEST_DATABASE_URL), a
migrated template database cloned per test, and the app behind an HTTP client."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest

from neobank.config import Settings
from neobank.db.migrate import migrate
from neobank.db.urls import asyncpg_url

OPS_TOKEN = "test-ops-token"


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = os.environ.get("NEOBANK_TEST_DATABASE_URL")
    if configured:
        yield configured
        return
    from neobank.db.embedded import start_embedded

    yield start_embedded(tmp_path_factory.mktemp("embedded"))


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(asyncpg_url(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_name(server_url: str) -> AsyncIterator[str]:
    name = f"neobank_tpl_{os.getpid()}"
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name}")
    await _admin(server_url, f"CREATE DATABASE {name}")
    migrate(with_database(server_url, name))
    yield name
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
async def database_url(server_url: str, template_name: str) -> AsyncIterator[str]:
    """A fresh, migrated database for one test."""
    name = f"neobank_t_{uuid.uuid4().hex[:12]}"
    await _admin(server_url, f"CREATE DATABASE {name} TEMPLATE {template_name}")
    yield with_database(server_url, name)
    await _admin(server_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        admin_token=OPS_TOKEN,
        agencies_url=None,
        redis_url=None,
        log_json=False,
    )


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test database, for looking behind the API."""
    from neobank.db.pool import _init_connection

    conn = await asyncpg.connect(asyncpg_url(database_url))
    await _init_connection(conn)
    yield conn
    await conn.close()


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[object]:
    from neobank.api.app import create_app

    application = create_app(settings, run_workers=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: object) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client holding the ops token."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://neobank.test",
        headers={"Authorization": f"Bearer {OPS_TOKEN}"},
    ) as http:
        yield http


@pytest.fixture
def bank(client: httpx.AsyncClient) -> BankDriver:
    return BankDriver(client)


class BankDriver:
    """Short helpers for the common steps of a test, all over the HTTP API."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def post(
        self, path: str, body: object, *, key: str | None = None, **kw: object
    ) -> httpx.Response:
        headers = dict(kw.pop("headers", {}) or {})  # type: ignore[call-overload]
        headers["Idempotency-Key"] = key or uuid.uuid4().hex
        return await self.client.post(path, json=body, headers=headers, **kw)  # type: ignore[arg-type]

    async def customer(self, name: str = "Hong Gildong") -> dict[str, object]:
        response = await self.post(
            "/v1/customers", {"name": name, "birth_date": "1990-01-01", "phone": "+82 10-0000-0000"}
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def account(
        self, customer_id: object | None = None, funded: int = 0
    ) -> dict[str, object]:
        if customer_id is None:
            customer_id = (await self.customer())["id"]
        response = await self.post(
            "/v1/accounts", {"customer_id": customer_id, "product": "demand_deposit"}
        )
        assert response.status_code == 201, response.text
        account: dict[str, object] = response.json()
        if funded:
            await self.deposit(account["id"], funded)
        return account

    async def deposit(self, account_id: object, amount: int) -> dict[str, object]:
        response = await self.post(
            "/v1/deposits", {"account_id": account_id, "amount": amount, "currency": "KRW"}
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    async def transfer(
        self, source: object, target: object, amount: int, **kw: object
    ) -> httpx.Response:
        body = {
            "from_account_id": source,
            "to_account_id": target,
            "amount": amount,
            "currency": "KRW",
        }
        return await self.post("/v1/transfers", body, **kw)  # type: ignore[arg-type]

    async def balance(self, account_id: object) -> int:
        response = await self.client.get(f"/v1/accounts/{account_id}")
        assert response.status_code == 200, response.text
        return int(response.json()["balance"])

    async def check(self) -> dict[str, object]:
        response = await self.client.get("/v1/ledger/check")
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]
