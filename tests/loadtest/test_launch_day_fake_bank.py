"""`neobank loadtest launch-day --bank-url` as a real process, with Locust, against the fake
bank and a real agency simulator on sockets: the whole pipeline from arrivals to the report,
without the real onboarding."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neobank.agencies import create_simulator_app
from tests.loadtest.conftest import served
from tests.loadtest.fake_bank import OPS_TOKEN, FakeBankKnobs, create_fake_bank

pytestmark = pytest.mark.slow

run_timeout_s = 120
arrival_rate_per_s = 20
duration_s = 3


def test_a_small_surge_against_the_fake_bank(tmp_path: Path) -> None:
    simulator = create_simulator_app(seed=2)
    knobs = FakeBankKnobs(admit_rate_per_s=15, id_check_s=0.3, poll_after_ms=200)
    out = tmp_path / "report"
    with served(simulator) as agencies_url, served(create_fake_bank(knobs, simulator)) as bank_url:
        command = [
            sys.executable, "-m", "neobank.cli.main", "loadtest", "launch-day",
            "--bank-url", bank_url, "--agencies-url", agencies_url,
            "--arrival-rate-per-s", str(arrival_rate_per_s),
            "--duration-s", str(duration_s), "--drain-timeout-s", "60",
            "--out", str(out),
        ]  # fmt: skip
        done = subprocess.run(
            command,
            env={**os.environ, "NEOBANK_ADMIN_TOKEN": OPS_TOKEN},
            capture_output=True,
            text=True,
            timeout=run_timeout_s,
        )
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    assert "Launch-day targets" in done.stdout
    document = json.loads((out / "launch-day.json").read_text())
    figures = document["figures"]
    people = arrival_rate_per_s * duration_s
    assert (figures["people"], figures["completed"], figures["lost"]) == (people, people, 0)
    assert figures["bank_5xx"] == 0 and figures["admission_inversions"] == 0
    # Arrivals came at the planned rate even though the room admits fewer per second.
    assert figures["arrival_rate_per_s"] == pytest.approx(arrival_rate_per_s, rel=0.1)
    assert figures["admission_rate_per_s"] == pytest.approx(15, rel=0.15)
    assert figures["eta_within_2x_share"] >= 0.95
    assert figures["agencies"]["clearing"]["requests"] == 0  # the fake credits directly
    assert max(document["series"]["room_waiting"]) > 0
    assert (out / "launch-day.png").stat().st_size > 50_000
    assert len(list((out / "raw" / "records").glob("records-*.jsonl"))) == 1
    assert (out / "raw" / "locust_stats.csv").exists()
