"""End to end over a real socket against `neobank serve`, including several API processes."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from tests.conftest import OPS_TOKEN
from tests.system.conftest import ServerProcess

pytestmark = pytest.mark.slow

HEADERS = {"Authorization": f"Bearer {OPS_TOKEN}"}


async def _post(client: httpx.AsyncClient, path: str, body: object) -> httpx.Response:
    return await client.post(path, json=body, headers={"Idempotency-Key": uuid.uuid4().hex})


async def open_funded_accounts(client: httpx.AsyncClient, count: int, funds: int) -> list[str]:
    ids = []
    for index in range(count):
        customer = await _post(
            client,
            "/v1/customers",
            {"name": f"Customer {index}", "birth_date": "1990-01-01", "phone": "+82 10-1111-2222"},
        )
        account = await _post(
            client,
            "/v1/accounts",
            {"customer_id": customer.json()["id"], "product": "demand_deposit"},
        )
        account_id = account.json()["id"]
        deposit = await _post(
            client, "/v1/deposits", {"account_id": account_id, "amount": funds, "currency": "KRW"}
        )
        assert deposit.status_code == 201, deposit.text
        ids.append(account_id)
    return ids


async def test_concurrent_transfers_across_two_processes(
    server_factory: type[ServerProcess],
) -> None:
    """Many clients move money between a few accounts through two API processes at once:
    every answered transfer is booked once, money is conserved, the ledger balances."""
    server = server_factory(workers=2)
    server.start()
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(
        base_url=server.base_url, headers=HEADERS, limits=limits, timeout=30
    ) as client:
        accounts = await open_funded_accounts(client, 4, 100_000)
        # Tiny balances against many transfers: plenty of insufficient_funds races.
        jobs = [
            _post(
                client,
                "/v1/transfers",
                {
                    "from_account_id": accounts[i % 4],
                    "to_account_id": accounts[(i * 3 + 1) % 4],
                    "amount": 1_000 + (i % 7) * 3_000,
                    "currency": "KRW",
                },
            )
            for i in range(400)
            if i % 4 != (i * 3 + 1) % 4
        ]
        responses = await asyncio.gather(*jobs)
        statuses = {r.status_code for r in responses}
        assert statuses <= {201, 422}, statuses
        assert any(r.status_code == 201 for r in responses)
        posted = [r.json() for r in responses if r.status_code == 201]
        refused = [r.json()["code"] for r in responses if r.status_code == 422]
        assert set(refused) <= {"insufficient_funds"}
        balances = [(await client.get(f"/v1/accounts/{a}")).json()["balance"] for a in accounts]
        assert sum(balances) == 400_000
        assert all(b >= 0 for b in balances)
        check = (await client.get("/v1/ledger/check")).json()
        assert check["balanced"] is True, check
        for transfer in posted[:20]:
            got = await client.get(f"/v1/transfers/{transfer['id']}")
            assert got.json()["amount"] == transfer["amount"]


async def test_metrics_add_up_over_worker_processes(server_factory: type[ServerProcess]) -> None:
    server = server_factory(workers=2)
    server.start()
    async with httpx.AsyncClient(base_url=server.base_url, headers=HEADERS, timeout=30) as client:
        for _ in range(40):
            assert (await client.get("/healthz")).status_code == 200
        text = (await client.get("/metrics")).text
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("neobank_http_requests_total{") and 'route="/healthz"' in line
    ]
    assert lines, text[:2000]
    # Whichever process answers /metrics, it reports what both processes served.
    assert sum(float(line.rsplit(" ", 1)[1]) for line in lines) >= 40
