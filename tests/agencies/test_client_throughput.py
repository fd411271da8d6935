"""AIMD against the real simulator: the identity agency capped at 50/s with 300 ms latency and
2% errors (the issue's launch-day figures); the bank's callers get ~all of the cap and are
throttled for few of their requests."""

from __future__ import annotations

import asyncio
import time
from datetime import date

from neobank.agencies import AgencyKnobs, SimulatorConfig
from tests.agencies.client_kit import bench
from tests.agencies.ids import resident_id

CAPACITY_RPS = 50
CALLERS = 40  # > 50/s x 0.3 s in flight, so the agency, not the callers, is the bottleneck
RUN_S = 6.0
ALICE = resident_id("900101123456")


async def test_aimd_takes_the_cap_with_few_requests_throttled() -> None:
    knobs = AgencyKnobs(latency_ms=300, error_rate=0.02, capacity_rps=CAPACITY_RPS)
    async with bench(SimulatorConfig(identity=knobs), seed=4) as b:
        identity = b.clients.identity
        started = time.monotonic()
        done = 0

        async def caller() -> None:
            nonlocal done
            while time.monotonic() - started < RUN_S:
                await identity.verify(name="Kim", resident_id=ALICE, issue_date=date(2015, 5, 1))
                if time.monotonic() - started <= RUN_S:
                    done += 1

        await asyncio.gather(*(caller() for _ in range(CALLERS)))
        stats = await b.stats("identity")
        throughput_per_s = done / RUN_S
        throttled_share = stats["throttled"] / stats["requests"]
        rate_per_s = identity.caller.limiter.rate_per_s
        print(
            f"AIMD: {throughput_per_s:.1f}/s completed, {stats['throttled']} of "
            f"{stats['requests']} requests throttled ({throttled_share:.1%}), "
            f"limiter at {rate_per_s:.1f}/s"
        )
        # Measured on the 2-core machine: 50-52/s, 1.3-2% throttled (slow start costs the first
        # second or two; the agency's one-second burst pays some of it back).
        assert throughput_per_s >= 0.9 * CAPACITY_RPS
        assert throttled_share < 0.05
        assert 0.7 * CAPACITY_RPS <= rate_per_s <= 1.3 * CAPACITY_RPS
