"""SIGKILL under load: every acknowledged transfer is there exactly once, nothing is
half-applied, no idempotency key is stuck, and retries after the restart apply nothing twice."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass

import asyncpg
import httpx
import pytest

from tests.conftest import OPS_TOKEN
from tests.system.conftest import ServerProcess
from tests.system.test_serve import open_funded_accounts

pytestmark = pytest.mark.slow

HEADERS = {"Authorization": f"Bearer {OPS_TOKEN}"}
ACCOUNTS = 6
FUNDS = 10_000_000
REQUESTS = 2_500
CONCURRENCY = 48
ACKS_BEFORE_KILL = 300


@dataclass(frozen=True)
class Request:
    key: str
    body: dict[str, object]


async def _send(client: httpx.AsyncClient, request: Request) -> httpx.Response:
    return await client.post(
        "/v1/transfers", json=request.body, headers={"Idempotency-Key": request.key}
    )


async def _load_until_killed(
    client: httpx.AsyncClient, requests: list[Request], server: ServerProcess
) -> dict[str, str]:
    """Send requests until enough are acknowledged, then SIGKILL the server mid-stream."""
    acked: dict[str, str] = {}
    queue: asyncio.Queue[Request] = asyncio.Queue()
    for request in requests:
        queue.put_nowait(request)
    killed = asyncio.Event()

    async def sender() -> None:
        while not queue.empty() and not killed.is_set():
            request = queue.get_nowait()
            with contextlib.suppress(httpx.HTTPError):
                response = await _send(client, request)
                if response.status_code == 201:
                    acked[request.key] = response.json()["id"]
                    if len(acked) >= ACKS_BEFORE_KILL and not killed.is_set():
                        killed.set()
                        server.kill()

    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    assert killed.is_set(), "the load ended before the kill: raise REQUESTS"
    return acked


async def test_sigkill_under_load_loses_and_doubles_nothing(
    server_factory: type[ServerProcess], db: asyncpg.Connection
) -> None:
    server = server_factory(workers=2)
    server.start()
    async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS, timeout=30) as client:
        accounts = await open_funded_accounts(client, ACCOUNTS, FUNDS)
    requests = [
        Request(
            uuid.uuid4().hex,
            {
                "from_account_id": accounts[i % ACCOUNTS],
                # An offset of 1..ACCOUNTS-1 never lands on the source account.
                "to_account_id": accounts[(i + 1 + (i // ACCOUNTS) % (ACCOUNTS - 1)) % ACCOUNTS],
                "amount": 100 + i % 50,
                "currency": "KRW",
            },
        )
        for i in range(REQUESTS)
    ]
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=HEADERS, timeout=30, limits=limits
    ) as client:
        acked = await _load_until_killed(client, requests, server)

    # Straight after the crash, before any restart: the database alone tells the truth.
    stuck = await db.fetchval("SELECT count(*) FROM idempotency_keys WHERE status_code IS NULL")
    assert stuck == 0, "a key was left claimed without an answer"
    stored = {r["id"] for r in await db.fetch("SELECT id FROM payments WHERE kind = 'internal'")}
    assert {uuid.UUID(i) for i in acked.values()} <= stored, "an acknowledged transfer is missing"

    restarted = server_factory(workers=1)
    restarted.start()
    async with httpx.AsyncClient(
        base_url=restarted.base_url, headers=HEADERS, timeout=30, limits=limits
    ) as client:
        check = (await client.get("/v1/ledger/check")).json()
        assert check["balanced"] is True, check
        semaphore = asyncio.Semaphore(CONCURRENCY)

        async def retry(request: Request) -> httpx.Response:
            async with semaphore:
                return await _send(client, request)

        # Every client retries everything it sent, answered or not, with the same key.
        retried = await asyncio.gather(*(retry(r) for r in requests))
        assert {r.status_code for r in retried} == {201}, {r.status_code for r in retried}
        for request, response in zip(requests, retried, strict=True):
            if request.key in acked:
                assert response.json()["id"] == acked[request.key]
                assert response.headers.get("Idempotent-Replayed") == "true"
        total = sum([(await client.get(f"/v1/accounts/{a}")).json()["balance"] for a in accounts])
        check = (await client.get("/v1/ledger/check")).json()

    assert total == ACCOUNTS * FUNDS
    assert check["balanced"] is True, check
    applied = await db.fetchval("SELECT count(*) FROM payments WHERE kind = 'internal'")
    assert applied == REQUESTS, "each request must be applied exactly once across the crash"
    journal_pairs = await db.fetchval(
        "SELECT count(*) FROM journal_entries j JOIN payments p ON p.id = j.transfer_id "
        "WHERE p.kind = 'internal'"
    )
    assert journal_pairs == 2 * REQUESTS, "a transfer was half-applied"
