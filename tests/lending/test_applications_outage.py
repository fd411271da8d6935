"""A full credit-bureau outage: applications wait (pending, stage bureau), the circuit
breaker opens and the bank sends only its probes, then everyone is decided once the bureau
is back, nobody declined for it."""

from __future__ import annotations

import asyncio
import time

import asyncpg
import httpx

from neobank.agencies.client.policy import BREAKER_HALF_OPEN_PROBES, BREAKER_OPEN_MS
from tests.lending.conftest import new_applicant, prime, sim_config, sim_stats, wait_for

APPLICATIONS = 12
WINDOW_S = 5.0
SETTLE_S = 0.5
OPEN_TIMEOUT_S = 10.0
CATCH_UP_TIMEOUT_S = 15.0
# While open the breaker sends nothing; every BREAKER_OPEN_MS it lets a few probes through.
PROBE_ROUNDS_MAX = int(WINDOW_S * 1000 // BREAKER_OPEN_MS) + 1
PROBES_MAX = PROBE_ROUNDS_MAX * BREAKER_HALF_OPEN_PROBES


async def _circuit_open(db: asyncpg.Connection) -> bool:
    """Some job was refused by the open breaker (the others follow at their next run)."""
    return bool(
        await db.fetchval(
            "SELECT count(*) FROM loan_applications"
            " WHERE last_agency_error = 'bureau: agency_circuit_open'"
        )
    )


async def test_a_bureau_outage_makes_applications_wait_then_catch_up(
    http: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    applicants = [await new_applicant(http, prime) for _ in range(APPLICATIONS)]
    await sim_config(http, bureau={"error_rate": 1.0})
    ids = [(await applicant.submit())["id"] for applicant in applicants]
    deadline = time.monotonic() + OPEN_TIMEOUT_S
    while not await _circuit_open(db):
        assert time.monotonic() < deadline, await db.fetch("SELECT * FROM loan_applications")
        await asyncio.sleep(0.1)
    await asyncio.sleep(SETTLE_S)  # attempts already on the wire when it opened land first
    before = (await sim_stats(http))["bureau"]
    await asyncio.sleep(WINDOW_S)
    during = (await sim_stats(http))["bureau"]
    sent = during["requests"] - before["requests"]
    # Only probes reach the bureau; the applications' jobs keep waiting without calling.
    assert sent <= PROBES_MAX, (sent, PROBES_MAX)
    assert during["ok"] == 0
    rows = await db.fetch("SELECT status, stage, agency_attempts FROM loan_applications")
    assert {(r["status"], r["stage"]) for r in rows} == {("pending", "bureau")}
    shown = [(await http.get(f"/v1/loan-applications/{the_id}")).json() for the_id in ids[:2]]
    assert all(s["status"] == "pending" and s["stage"] == "bureau" for s in shown)
    assert all(s["last_agency_error"].startswith("bureau: agency_") for s in shown)

    await sim_config(http, bureau={"error_rate": 0.0})
    restored = time.monotonic()
    decided = [await wait_for(http, the_id, timeout_s=CATCH_UP_TIMEOUT_S) for the_id in ids]
    caught_up_s = time.monotonic() - restored
    assert {d["status"] for d in decided} == {"approved"}  # nobody declined for the outage
    after = (await sim_stats(http))["bureau"]
    assert after["distinct_inquiry_keys"] == APPLICATIONS
    attempts = sorted(r["agency_attempts"] for r in rows)
    print(
        f"\nbureau requests during a {WINDOW_S:.0f} s window of the outage: {sent}"
        f" (at most {PROBES_MAX} probes); failed job runs per application {attempts};"
        f" all {APPLICATIONS} decided {caught_up_s:.1f} s after the bureau came back"
    )
