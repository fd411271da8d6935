"""A sign-up surge sized for CI: people arrive faster than the identity agency can check
them; the waiting room queues them in order, everyone completes, nothing answers 5xx, and
the bank stays under the agency's cap. (`neobank loadtest launch-day` is the full-size run.)"""

from __future__ import annotations

import asyncio
import statistics
from collections.abc import AsyncIterator
from datetime import datetime

import asyncpg
import httpx
import pytest

from neobank.config import Settings
from neobank.customers.auth import load_signing_key
from neobank.onboarding.waiting_room import build_waiting_room
from neobank.onboarding.waiting_room.limiter import Gradient2Config
from tests.conftest import OPS_TOKEN
from tests.onboarding.people import SIM, Person

PEOPLE = 60
ARRIVALS_PER_S = 30.0
IDENTITY_CAPACITY_RPS = 15.0
# A small room, so that a queue forms: at most this many onboardings at once.
LIMIT = Gradient2Config(limit_initial=8, limit_min=4, limit_max=16)


@pytest.fixture
async def surge_http(
    settings: Settings, db: asyncpg.Connection
) -> AsyncIterator[httpx.AsyncClient]:
    from neobank.api.app import create_app

    room = build_waiting_room(redis_url=None, signing_key=await load_signing_key(db), limiter=LIMIT)
    app = create_app(settings, run_workers=True, waiting_room=room)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://neobank.test") as http:
            yield http


async def _arrive(person: Person, delay_s: float) -> dict[str, object]:
    await asyncio.sleep(delay_s)
    return await person.sign_up()


@pytest.mark.slow
async def test_a_surge_completes_everyone_in_order_within_the_agencys_cap(
    surge_http: httpx.AsyncClient,
) -> None:
    http = surge_http
    knobs = {"capacity_rps": IDENTITY_CAPACITY_RPS, "latency_ms": 200, "error_rate": 0.02}
    assert (await http.put(f"{SIM}/config", json={"identity": knobs})).status_code == 200
    people = [Person(http, poll_cap_s=0.25) for _ in range(PEOPLE)]
    done = await asyncio.gather(
        *(_arrive(person, i / ARRIVALS_PER_S) for i, person in enumerate(people))
    )
    # Everyone completed (each step asserted its status: no 5xx, no lost application).
    assert len({d["customer_id"] for d in done}) == PEOPLE

    # Admitted in arrival order: sorted by ticket issue time, admission times never go back.
    first = [p.tickets[0] for p in people]
    last = [p.tickets[-1] for p in people]
    order = sorted(range(PEOPLE), key=lambda i: first[i]["issued_at"])
    admitted = [datetime.fromisoformat(last[i]["admitted_at"]) for i in order]
    assert admitted == sorted(admitted)
    assert sum(1 for t in first if t["status"] == "waiting") >= PEOPLE // 2, "no queue formed"

    # ETAs: the first estimate against the actual wait, for those who waited a while. An ETA
    # is whole seconds rounded up: 3 says "2 to 3 s", so it is judged too long only if even
    # its lower end is more than twice the wait (waits here are 1-3 s, where the rounding
    # alone could double it; CI once saw 47% within 2x, all of the misses ETAs of 3-4 s for
    # waits of 1.2-2.0 s, and the build before those commits missed too, 1 run in 8).
    ratios, within_count = [], 0
    for i in range(PEOPLE):
        waited_s = (
            datetime.fromisoformat(last[i]["admitted_at"])
            - datetime.fromisoformat(first[i]["issued_at"])
        ).total_seconds()
        if first[i]["status"] == "waiting" and waited_s >= 1.0:
            eta_s = first[i]["eta_seconds"]
            ratios.append(max(eta_s, 0.5) / waited_s)
            within_count += eta_s / waited_s >= 0.5 and max(eta_s - 1, 0.5) / waited_s <= 2.0
    within = within_count / max(len(ratios), 1)
    print(f"ETA/actual median {statistics.median(ratios or [1]):.2f}, within 2x {within:.0%}")
    assert within >= 0.6

    # The bank stayed under the identity agency's cap.
    stats = (await http.get(f"{SIM}/stats")).json()["identity"]
    throttled_share = stats["throttled"] / stats["requests"]
    print(f"identity: {stats}, throttled {throttled_share:.1%}")
    assert stats["ok"] >= PEOPLE
    assert throttled_share < 0.10

    room = await http.get("/v1/waiting-room", headers={"Authorization": f"Bearer {OPS_TOKEN}"})
    assert room.json()["active"] == 0
