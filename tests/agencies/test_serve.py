"""`neobank agencies serve` as a real process, called over a real socket."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest

from tests.agencies.ids import resident_id

pytestmark = pytest.mark.slow

startup_timeout_s = 20.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_agencies_serve_answers_over_http() -> None:
    port = _free_port()
    command = [sys.executable, "-m", "neobank.cli.main", "agencies", "serve"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--seed", "3"],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            deadline = time.monotonic() + startup_timeout_s
            while True:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                try:
                    client.get("/_sim/stats")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the simulator did not start"
                    time.sleep(0.1)
            changed = client.put("/_sim/config", json={"identity": {"latency_ms": 1}})
            assert changed.status_code == 200
            card = {"name": "Kim", "resident_id": resident_id("900101123456")}
            answer = client.post(
                "/identity/verifications", json={**card, "issue_date": "2015-05-01"}
            )
            assert answer.status_code == 200 and answer.json()["verified"] is True
            assert client.get("/_sim/stats").json()["identity"]["ok"] == 1
    finally:
        process.terminate()
        process.wait(timeout=10)
