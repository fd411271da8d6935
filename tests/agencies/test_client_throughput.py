"""AIMD against the real simulator: the identity agency capped at 50/s with 300 ms latency and
2% errors (the issue's launch-day figures); the bank's callers get ~all of the cap and are
throttled for few of their requests, from one process or from two (each with its own
limiter, sharing the agency)."""

from __future__ import annotations

import asyncio
import time
from datetime import date

import httpx
import pytest

from neobank.agencies import AgencyKnobs, SimulatorConfig, create_simulator_app
from neobank.agencies.client import AgencyClients, build_agency_clients
from tests.agencies.ids import resident_id

CAPACITY_RPS = 50
CALLERS = 40  # > 50/s x 0.3 s in flight, so the agency, not the callers, is the bottleneck
RUN_S = 6.0
ALICE = resident_id("900101123456")


@pytest.mark.parametrize("processes", [1, 2])
async def test_aimd_takes_the_cap_with_few_requests_throttled(processes: int) -> None:
    knobs = AgencyKnobs(latency_ms=300, error_rate=0.02, capacity_rps=CAPACITY_RPS)
    app = create_simulator_app(SimulatorConfig(identity=knobs), seed=4)
    banks = [
        build_agency_clients("http://agencies", transport=httpx.ASGITransport(app=app))
        for _ in range(processes)
    ]
    started = time.monotonic()
    done = 0

    async def caller(bank: AgencyClients) -> None:
        nonlocal done
        while time.monotonic() - started < RUN_S:
            await bank.identity.verify(name="Kim", resident_id=ALICE, issue_date=date(2015, 5, 1))
            if time.monotonic() - started <= RUN_S:
                done += 1

    try:
        await asyncio.gather(*(caller(banks[n % processes]) for n in range(CALLERS)))
    finally:
        for bank in banks:
            await bank.aclose()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://a") as a:
        stats = (await a.get("/_sim/stats")).json()["identity"]
    throughput_per_s = done / RUN_S
    throttled_share = stats["throttled"] / stats["requests"]
    rates = [round(bank.identity.caller.limiter.rate_per_s, 1) for bank in banks]
    print(
        f"AIMD x{processes}: {throughput_per_s:.1f}/s completed, {stats['throttled']} of "
        f"{stats['requests']} requests throttled ({throttled_share:.1%}), limiters at {rates}/s"
    )
    # Measured on the 2-core machine: one process 48-51/s, 0.9% throttled; two 50-51/s,
    # ~2% (slow start costs the first second or two; the agency's one-second burst pays
    # some of it back).
    assert throughput_per_s >= 0.9 * CAPACITY_RPS
    assert throttled_share < 0.05
    assert 0.7 * CAPACITY_RPS <= sum(rates) <= 1.3 * CAPACITY_RPS
