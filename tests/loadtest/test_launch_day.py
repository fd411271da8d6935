"""`neobank loadtest launch-day` end to end, CI-sized: it starts the agency simulators and the
bank (fresh embedded PostgreSQL), and a small surge signs up through the real waiting room and
onboarding flow while Locust drives it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

run_timeout_s = 180
arrival_rate_per_s = 20
duration_s = 5
steps = ("id-verification", "account-verification", "account-verification/confirm", "complete")


def test_a_small_launch_day_against_the_real_bank(tmp_path: Path) -> None:
    out = tmp_path / "report"
    command = [
        sys.executable, "-m", "neobank.cli.main", "loadtest", "launch-day",
        "--arrival-rate-per-s", str(arrival_rate_per_s), "--duration-s", str(duration_s),
        "--drain-timeout-s", "120", "--seed", "5", "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=run_timeout_s)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    document = json.loads((out / "launch-day.json").read_text())
    figures = document["figures"]
    people = arrival_rate_per_s * duration_s
    assert (figures["people"], figures["completed"], figures["lost"]) == (people, people, 0)
    assert figures["admission_inversions"] == 0
    # Each person's identity check and 1 KRW credit reached the simulators (at least once; the
    # identity agency's simulated 2% errors are retried by the bank).
    assert figures["agencies"]["identity"]["ok"] >= people
    assert figures["agencies"]["clearing"]["ok"] >= people
    endpoints = {e["endpoint"]: e for e in figures["endpoints"]}
    for step in steps:
        assert endpoints[f"POST /v1/onboarding/{{id}}/{step}"]["count"] >= people
    assert document["series"]["room_at"], "the ops waiting room was sampled"
    assert (out / "launch-day.png").stat().st_size > 50_000
    assert "Launch-day targets" in done.stdout
