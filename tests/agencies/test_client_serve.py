"""The agency clients against `neobank agencies serve`, a real process over a real socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date

import httpx
import pytest

from neobank.agencies.client import AgencyPolicy, AgencyUnavailable, build_agency_clients
from tests.agencies.ids import resident_id

pytestmark = pytest.mark.slow

startup_timeout_s = 20.0
ALICE = resident_id("900101123456")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def agencies_url() -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "neobank.cli.main", "agencies", "serve"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--seed", "5"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                httpx.get(f"{url}/_sim/stats", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the simulator did not start"
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_the_clients_call_a_real_simulator(agencies_url: str) -> None:
    clients = build_agency_clients(agencies_url)
    try:
        identity = clients.identity
        result = await identity.verify(name="Kim", resident_id=ALICE, issue_date=date(2015, 5, 1))
        assert result.verified
        credit = await clients.clearing.send_credit(
            bank_code="004",
            account_number="220-2020-3030",
            amount=1,
            currency="KRW",
            memo="NEOBANK 0042",
            reference="serve-1",
        )
        assert credit.memo == "NEOBANK 0042"
        assert clients.simulator_app is None
    finally:
        await clients.aclose()


async def test_a_real_socket_timeout_is_agency_unavailable(agencies_url: str) -> None:
    policy = AgencyPolicy(timeout_ms=150, attempts=2, backoff_initial_ms=10)
    clients = build_agency_clients(agencies_url, policies={"guarantee": policy})
    async with httpx.AsyncClient(base_url=agencies_url) as sim:
        await sim.put("/_sim/config", json={"guarantee": {"latency_ms": 1_000}})
        try:
            before = (await sim.get("/_sim/stats")).json()["guarantee"]["requests"]
            with pytest.raises(AgencyUnavailable, match="150 ms"):
                await clients.guarantee.quote(score=800, amount=1_000, product="personal_loan")
            after = (await sim.get("/_sim/stats")).json()["guarantee"]["requests"]
            assert after - before == 2
        finally:
            await sim.put("/_sim/config", json={"guarantee": {"latency_ms": 50}})
            await clients.aclose()
