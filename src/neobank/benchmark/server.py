"""A `neobank serve` process for the benchmark, and the bank's state it needs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import httpx

from neobank.benchmark.processes import start_neobank, stop_process_group

__all__ = ["BenchServer", "prepare_accounts"]

SETUP_CONCURRENCY = 32
FUNDS_MINOR = 10**12


class BenchServer:
    def __init__(
        self, database_url: str, data_dir: Path, token: str, port: int, workers: int
    ) -> None:
        self.database_url = database_url
        self.data_dir = data_dir
        self.token = token
        self.port = port
        self.workers = workers
        self.base_url = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> BenchServer:
        env = {
            **os.environ,
            "NEOBANK_DATABASE_URL": self.database_url,
            "NEOBANK_DATA_DIR": str(self.data_dir),
            "NEOBANK_ADMIN_TOKEN": self.token,
        }
        self.process = start_neobank(
            ["serve", "--port", str(self.port), "--workers", str(self.workers), "--no-workers"],
            env=env,
            log_path=self.data_dir / f"serve-{self.workers}.log",
            ready_url=self.base_url + "/readyz",
        )
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            stop_process_group(self.process)

    @property
    def pids(self) -> list[int]:
        """The server's processes (the parent and uvicorn's workers)."""
        assert self.process is not None
        found = subprocess.run(
            ["pgrep", "-g", str(self.process.pid)], capture_output=True, text=True, check=False
        )
        return [int(p) for p in found.stdout.split()]

    def ledger_check(self) -> dict[str, object]:
        response = httpx.get(self.base_url + "/v1/ledger/check", headers=self._auth(), timeout=600)
        response.raise_for_status()
        result: dict[str, object] = response.json()
        return result

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _post(
    session: aiohttp.ClientSession, url: str, body: dict[str, object]
) -> dict[str, object]:
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    async with session.post(url, json=body, headers=headers) as response:
        payload: dict[str, object] = await response.json(content_type=None)
        if response.status >= 300:
            raise RuntimeError(f"setup failed at {url}: {payload}")
        return payload


async def _prepare(server: BenchServer, count: int, fee_waive_percent: int) -> list[str]:
    headers = {"Authorization": f"Bearer {server.token}"}
    base = server.base_url
    async with aiohttp.ClientSession(headers=headers) as session:
        await _post(
            session, base + "/v1/fees/rules", {"kind": "internal", "amount": 500, "currency": "KRW"}
        )
        now = datetime.now(UTC)
        await _post(
            session,
            base + "/v1/fees/promotions",
            {
                "name": "Launch",
                "kinds": ["internal"],
                "waive_percent": fee_waive_percent,
                "starts_at": (now - timedelta(days=1)).isoformat(),
                "ends_at": (now + timedelta(days=30)).isoformat(),
            },
        )
        gate = asyncio.Semaphore(SETUP_CONCURRENCY)

        async def one(index: int) -> str:
            async with gate:
                customer = await _post(
                    session,
                    base + "/v1/customers",
                    {
                        "name": f"Bench {index}",
                        "birth_date": "1990-01-01",
                        "phone": "+82 10-0000-0000",
                    },
                )
                account = await _post(
                    session,
                    base + "/v1/accounts",
                    {"customer_id": customer["id"], "product": "demand_deposit"},
                )
                await _post(
                    session,
                    base + "/v1/deposits",
                    {"account_id": account["id"], "amount": FUNDS_MINOR, "currency": "KRW"},
                )
                return str(account["id"])

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def prepare_accounts(server: BenchServer, count: int, fee_waive_percent: int) -> list[str]:
    """Open and fund `count` accounts; set a 500 KRW fee with a launch waiver."""
    return asyncio.run(_prepare(server, count, fee_waive_percent))
