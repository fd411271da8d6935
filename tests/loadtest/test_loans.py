"""`neobank loadtest loans`: its figures and targets from a made-up run, and a CI-sized real
run (the simulators and the bank as processes, a fresh embedded PostgreSQL)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from neobank.loadtest.lending import LoansConfig, LoansRun, Submission
from neobank.loadtest.lending_report import figures, targets

run_timeout_s = 180


def _run(decided_every_s: float, *, keys: int, lost: int = 0) -> LoansRun:
    config = LoansConfig(out_dir=Path("unused"), applications=100, bureau_capacity_rps=10.0)
    subs = [
        Submission(
            i,
            sent_at=i * 0.02,
            latency_s=0.010 + (0.5 if i == 0 else 0.0),
            status=202,
            application_id=f"a{i}",
            decided_at=None if i < lost else 1.0 + i * decided_every_s,
            outcome=None if i < lost else "approved",
        )
        for i in range(100)
    ]
    samples = [
        {"t": 0.0, "requests": 0, "ok": 0, "throttled": 0, "distinct_inquiry_keys": 0},
        {"t": 11.0, "requests": 110, "ok": 100, "throttled": 1, "distinct_inquiry_keys": keys},
    ]
    return LoansRun(config, subs, samples, "2026-11-25T00:00:00+00:00", drained=lost == 0)


def test_a_run_that_keeps_up_with_the_bureau_meets_the_targets() -> None:
    found = figures(_run(0.1, keys=100))  # 10 decisions a second = the capacity
    assert found["decision_rate_sustained_per_s"] == pytest.approx(10.0)
    assert found["submission_latency_ms"]["p99"] == pytest.approx(10.0)
    assert found["submission_latency_ms"]["p100"] == pytest.approx(510.0)
    assert all(met for _, _, met in targets(found))


def test_slow_decisions_lost_applications_and_extra_inquiries_are_reported() -> None:
    found = figures(_run(0.2, keys=103, lost=2))
    missed = {name for name, _, met in targets(found) if not met}
    assert missed == {
        "decisions >= 90% of the bureau's capacity",
        "no application lost (all 202s decided)",
        "one hard inquiry per application",
    }
    assert found["undecided"] == 2


@pytest.mark.slow
def test_a_small_loans_run_against_the_real_bank(tmp_path: Path) -> None:
    out = tmp_path / "report"
    applications = 60
    command = [
        sys.executable, "-m", "neobank.cli.main", "loadtest", "loans",
        "--applications", str(applications), "--arrival-rate-per-s", "30",
        "--bureau-capacity-rps", "15", "--drain-timeout-s", "120", "--seed", "5",
        "--out", str(out),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=run_timeout_s)
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    found = json.loads((out / "loans.json").read_text())["figures"]
    assert (found["accepted_202"], found["decided"], found["undecided"]) == (60, 60, 0)
    assert found["server_errors"] == 0
    # One hard inquiry per application, however many times the bureau failed (15%).
    assert found["bureau"]["distinct_inquiry_keys"] == applications
    assert found["bureau"]["errors"] > 0
    assert (out / "loans.png").stat().st_size > 30_000
