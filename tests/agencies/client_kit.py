"""Helpers for the agency client tests: a fake clock, a simulator at hand, metric reads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client import REGISTRY

from neobank.agencies import AgencyKnobs, SimulatorConfig
from neobank.agencies.client import (
    AgencyClients,
    AgencyName,
    AgencyPolicy,
    build_agency_clients,
)

FAST = AgencyKnobs(latency_ms=2, error_rate=0, capacity_rps=10_000)
FAST_CONFIG = SimulatorConfig(identity=FAST, bureau=FAST, guarantee=FAST, clearing=FAST)


class FakeClock:
    """Time that moves only when told to; ``sleep`` moves it (and yields to the loop)."""

    def __init__(self, now: float = 1_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


@dataclass
class Bench:
    """The bank's clients and a plain HTTP client on the same in-process simulator."""

    clients: AgencyClients
    sim: httpx.AsyncClient

    async def stats(self, agency: AgencyName) -> dict[str, int]:
        stats: dict[str, int] = (await self.sim.get("/_sim/stats")).json()[agency]
        return stats

    async def knobs(self, agency: AgencyName, **change: float) -> None:
        answer = await self.sim.put("/_sim/config", json={agency: change})
        assert answer.status_code == 200, answer.text


@asynccontextmanager
async def bench(
    config: SimulatorConfig = FAST_CONFIG,
    policies: dict[AgencyName, AgencyPolicy] | None = None,
    seed: int = 1,
) -> AsyncIterator[Bench]:
    clients = build_agency_clients(
        None, simulator_config=config, policies=policies, simulator_seed=seed
    )
    assert clients.simulator_app is not None
    transport = httpx.ASGITransport(app=clients.simulator_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as sim:
        try:
            yield Bench(clients, sim)
        finally:
            await clients.aclose()


def attempts_counted(agency: str, outcome: str) -> float:
    """The attempts counter so far (a test compares before and after)."""
    labels: dict[str, Any] = {"agency": agency, "outcome": outcome}
    return REGISTRY.get_sample_value("neobank_agency_attempts_total", labels) or 0.0
