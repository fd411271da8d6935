"""An app with its background workers running (the agency jobs) and the agencies
in-process, and a client without the ops token: people signing up have none."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from neobank.config import Settings
from tests.conftest import OPS_TOKEN


@pytest.fixture
async def signup_app(settings: Settings) -> AsyncIterator[object]:
    from neobank.api.app import create_app

    application = create_app(settings, run_workers=True)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(signup_app: object) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=signup_app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://neobank.test") as client:
        yield client


@pytest.fixture
def ops() -> dict[str, str]:
    return {"Authorization": f"Bearer {OPS_TOKEN}"}
