"""The agency simulator app: four agencies behind one gate (capacity, latency, errors) and
the ``/_sim`` endpoints that change the knobs and read the counters.

State lives in the process: run it as one process (``neobank agencies serve``) or in-process.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import asdict
from typing import Any

from fastapi import FastAPI, Query
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neobank.agencies.simulator.config import AGENCIES, AgencyName, ConfigPatch, SimulatorConfig
from neobank.agencies.simulator.latency import sample_latency_ms
from neobank.agencies.simulator.problems import problem_response
from neobank.agencies.simulator.routes import agency_router
from neobank.agencies.simulator.state import SimulatorState

__all__ = ["create_simulator_app"]


def _agency_of(path: str) -> AgencyName | None:
    first = path.lstrip("/").split("/", 1)[0]
    for agency in AGENCIES:
        if first == agency:
            return agency
    return None


def create_simulator_app(config: SimulatorConfig | None = None, seed: int | None = None) -> FastAPI:
    """The simulator; ``seed`` makes latencies and simulated errors reproducible."""
    state = SimulatorState(config or SimulatorConfig(), seed)
    app = FastAPI(title="neobank agency simulators", version="1")
    app.state.simulator = state
    app.include_router(agency_router(state))
    app.add_middleware(AgencyGate, state=state)

    @app.get("/_sim/config", tags=["simulator"])
    async def read_config() -> dict[str, dict[str, float]]:
        return state.config_document()

    @app.put("/_sim/config", tags=["simulator"])
    async def change_config(patch: ConfigPatch) -> dict[str, dict[str, float]]:
        state.apply(patch)
        return state.config_document()

    @app.get("/_sim/stats", tags=["simulator"])
    async def read_stats() -> dict[str, dict[str, int]]:
        return state.stats_document()

    @app.get("/_sim/clearing/credits", tags=["simulator"])
    async def list_credits(
        account_number: str = Query(min_length=1, max_length=20),
    ) -> dict[str, list[dict[str, Any]]]:
        return {"items": [asdict(c) for c in state.clearing.credits_to(account_number)]}

    return app


class AgencyGate:
    """Capacity first (a throttled request is answered at once), then the latency draw, then
    the error draw; only then does the agency itself answer. A plain ASGI middleware: the
    simulators share the bank's machine in the launch-day run, so they cost what they must."""

    def __init__(self, app: ASGIApp, state: SimulatorState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        agency = _agency_of(scope["path"]) if scope["type"] == "http" else None
        if agency is None:
            await self.app(scope, receive, send)
            return
        state = self.state
        stats = state.stats[agency]
        stats.requests += 1
        wait_s = state.buckets[agency].try_take()
        if wait_s is not None:
            stats.throttled += 1
            refusal = problem_response(
                429,
                "agency_throttled",
                "Too many requests",
                f"The {agency} agency is over its capacity.",
                headers={"Retry-After": str(max(1, math.ceil(wait_s)))},
                retry_after_ms=math.ceil(wait_s * 1000),
            )
            await refusal(scope, receive, send)
            return
        knobs = state.knobs[agency]
        await asyncio.sleep(sample_latency_ms(knobs.latency_ms, state.rng) / 1000)
        if state.rng.random() < knobs.error_rate:
            stats.errors += 1
            failure = problem_response(
                503,
                "agency_unavailable",
                "Agency unavailable",
                f"The {agency} agency failed to answer (simulated).",
            )
            await failure(scope, receive, send)
            return
        statuses: list[int] = []

        async def send_and_note(message: Message) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        await self.app(scope, receive, send_and_note)
        if statuses and statuses[0] < 400:
            stats.ok += 1
        else:
            stats.invalid += 1
