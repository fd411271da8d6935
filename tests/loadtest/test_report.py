"""The launch-day report: the targets judged, launch-day.json with the figures, the plot."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from neobank.loadtest.analysis import analyse
from neobank.loadtest.config import LaunchDayConfig
from neobank.loadtest.records import RequestRecord
from neobank.loadtest.report import LaunchDayReport, targets, write_report
from tests.loadtest.synthetic import flawed_people, flawed_samples, perfect_run

capped = LaunchDayConfig(out_dir=Path("unused"))  # the defaults: 100/s against 50/s


def _met(report: LaunchDayReport) -> dict[str, bool]:
    return {target.split(" (")[0]: met for target, _, met in targets(report)}


def test_a_perfect_run_meets_every_target() -> None:
    report = LaunchDayReport(capped, analyse(*perfect_run()))
    met = _met(report)
    assert all(met.values()), met
    assert "completions >= 90% of the identity cap" in met


def test_each_flaw_misses_its_target() -> None:
    records, samples = perfect_run()
    records[5].requests.append(RequestRecord("POST /v1/onboarding", 1000.0, 503, 1.0))
    records[7].outcome, records[7].completed_at = "failed", None
    records[9].admitted_at = 2000.0  # admitted after everyone who came later
    met = _met(LaunchDayReport(capped, analyse(records, samples)))
    assert not met["no 5xx"] and not met["everyone completes"]
    assert not met["admitted in arrival order"]
    assert met["identity agency throttles < 5% of requests"]
    slow = perfect_run(completion_rate_per_s=40)
    assert not _met(LaunchDayReport(capped, analyse(*slow)))[
        "completions >= 90% of the identity cap"
    ]


def test_without_agency_limits_the_target_is_100k_in_10_minutes() -> None:
    unlimited = replace(capped, unlimited=True, arrival_rate_per_s=300)
    rows = {t: (m, ok) for t, m, ok in targets(LaunchDayReport(unlimited, analyse(*perfect_run())))}
    measured, met = rows["100,000 sign-ups in < 10 min on one node"]
    assert "165,600/h" in measured and not met  # 46/s: 100,000 take 36 minutes
    fast = perfect_run(people=2000, arrival_rate_per_s=300, completion_rate_per_s=200)
    rows = {t: (m, ok) for t, m, ok in targets(LaunchDayReport(unlimited, analyse(*fast)))}
    assert rows["100,000 sign-ups in < 10 min on one node"][1]


def test_write_report_writes_json_and_png(tmp_path: Path) -> None:
    report = LaunchDayReport(
        capped, analyse(flawed_people(), flawed_samples()), {"cpus": 2}, "now", ["a note"]
    )
    screen = io.StringIO()
    write_report(report, tmp_path / "out", Console(file=screen, width=160))
    document = json.loads((tmp_path / "out" / "launch-day.json").read_text())
    figures = document["figures"]
    assert (figures["people"], figures["completed"], figures["lost"]) == (10, 8, 2)
    assert figures["bank_5xx"] == 2 and figures["admission_inversions"] == 1
    assert figures["agencies"]["identity"]["throttled_share"] == 0.04
    assert {e["endpoint"] for e in figures["endpoints"]} >= {"POST /v1/onboarding"}
    assert document["config"]["identity_capacity_rps"] == 50.0
    assert document["machine"] == {"cpus": 2} and document["notes"] == ["a note"]
    assert len(document["eta_points"]) == 10 and document["series"]["arrivals"][0] == 2
    by_target = {t["target"]: t["met"] for t in document["targets"]}
    assert by_target["no 5xx"] is False
    png = (tmp_path / "out" / "launch-day.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 50_000
    printed = screen.getvalue()
    assert "Launch-day targets" in printed and "Latency per endpoint" in printed
    assert "a note" in printed
