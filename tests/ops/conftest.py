"""Ops fixtures: a seeded loan catalog and a team of ops users with their bearer tokens."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from neobank.lending.catalog import seed_catalog
from tests.customers.helpers import bearer


async def create_user(client: httpx.AsyncClient, name: str, roles: list[str]) -> dict[str, str]:
    """Created with the bootstrap token (the client's); the answer holds the user's token."""
    response = await client.post("/v1/ops/users", json={"name": name, "roles": roles})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


@dataclass
class Team:
    """Bearer headers of each ops user."""

    maker: dict[str, str]
    maker2: dict[str, str]
    checker: dict[str, str]
    both: dict[str, str]  # maker and checker: four eyes still apply to their own proposals
    auditor: dict[str, str]
    ids: dict[str, str]


@pytest.fixture
async def catalog(app: object, db: asyncpg.Connection) -> None:
    await seed_catalog(db)  # idempotent: the app may seed it at start-up as well


@pytest.fixture
async def team(client: httpx.AsyncClient, catalog: None) -> Team:
    users = {
        "mina": ["lending_maker"],
        "dae": ["lending_maker"],
        "jun": ["lending_checker"],
        "sora": ["lending_maker", "lending_checker"],
        "ara": ["auditor"],
    }
    made = {name: await create_user(client, name, roles) for name, roles in users.items()}
    return Team(
        maker=bearer(made["mina"]["token"]),
        maker2=bearer(made["dae"]["token"]),
        checker=bearer(made["jun"]["token"]),
        both=bearer(made["sora"]["token"]),
        auditor=bearer(made["ara"]["token"]),
        ids={name: user["id"] for name, user in made.items()},
    )


async def post(
    client: httpx.AsyncClient, path: str, body: object, headers: dict[str, str]
) -> httpx.Response:
    """A POST with a fresh Idempotency-Key."""
    return await client.post(
        path, json=body, headers={**headers, "Idempotency-Key": uuid.uuid4().hex}
    )


async def propose(
    client: httpx.AsyncClient, headers: dict[str, str], **change: object
) -> httpx.Response:
    return await post(client, "/v1/ops/changes", change, headers)
