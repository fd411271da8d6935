"""The launch day's report: the targets as a rich table, ``launch-day.json`` with every figure,
and ``launch-day.png`` with the plots."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from neobank.loadtest.analysis import Figures
from neobank.loadtest.config import LaunchDayConfig

__all__ = ["LaunchDayReport", "print_report", "targets", "write_report"]

identity_cap_share_min = 0.9
throttled_share_max = 0.05
# "ETAs within 2x of the actual wait": met when this share of people got one.
eta_share_min = 0.95
arrival_rate_share_min = 0.95
minutes_per_100k_max = 10.0
JSON_NAME = "launch-day.json"
PNG_NAME = "launch-day.png"


@dataclass
class LaunchDayReport:
    config: LaunchDayConfig
    figures: Figures
    machine: dict[str, Any] = field(default_factory=dict)
    started_at: str = ""
    notes: list[str] = field(default_factory=list)


def _by_status(f: Figures) -> str:
    by_status = ", ".join(f"{n} x {s}" for s, n in sorted(f.bank_5xx_by_status.items()))
    return f" ({by_status})" if by_status else ""


def targets(report: LaunchDayReport) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each of the issue's targets."""
    config, f = report.config, report.figures
    identity = f.agencies.get("identity", {})
    rows = [
        (
            f"people arrive at {config.arrival_rate_per_s:g}/s",
            f"{f.arrival_rate_per_s:.1f}/s ({f.people:,} people)",
            f.arrival_rate_per_s >= arrival_rate_share_min * config.arrival_rate_per_s,
        ),
        (
            "everyone completes (no lost application)",
            f"{f.lost:,} lost of {f.people:,} ({f.failed} failed, {f.unfinished} unfinished)",
            f.people > 0 and f.lost == 0,
        ),
        (
            "no 5xx",
            f"{f.bank_5xx:,} 5xx{_by_status(f)}, {f.bank_no_answer} unanswered",
            f.bank_5xx == 0 and f.bank_no_answer == 0,
        ),
    ]
    if config.identity_limiting:
        cap = config.identity_capacity_rps
        rows.append(
            (
                f"completions >= {identity_cap_share_min:.0%} of the identity cap ({cap:g}/s)",
                f"{f.completion_rate_per_s:.1f}/s = {f.completion_rate_per_s / cap:.0%}",
                f.completion_rate_per_s >= identity_cap_share_min * cap,
            )
        )
    else:
        minutes = f.minutes_per_100k
        rows.append(
            (
                f"100,000 sign-ups in < {minutes_per_100k_max:g} min on one node",
                f"{f.signups_per_hour:,.0f}/h: 100,000 in "
                + (f"{minutes:.1f} min" if minutes is not None else "never"),
                minutes is not None and minutes < minutes_per_100k_max,
            )
        )
    rows += [
        (
            "admitted in arrival order",
            f"{f.admission_inversions:,} inversions ({f.order_basis} times)",
            f.admission_inversions == 0,
        ),
        (
            f"ETAs within 2x of the wait (>= {eta_share_min:.0%} of people)",
            f"{f.eta_within_2x_share:.1%} of {f.eta_pairs:,}",
            f.eta_pairs > 0 and f.eta_within_2x_share >= eta_share_min,
        ),
        (
            f"identity agency throttles < {throttled_share_max:.0%} of requests",
            f"{f.agency_throttled_share('identity'):.2%} of {identity.get('requests', 0):,.0f}",
            bool(identity.get("requests"))
            and f.agency_throttled_share("identity") < throttled_share_max,
        ),
    ]
    return rows


def _slashed(values: list[float], spec: str) -> str:
    return " / ".join(format(v, spec) for v in values)


def _figures_table(f: Figures) -> Table:
    rows = {
        "people / completed / failed / unfinished": _slashed(
            [f.people, f.completed, f.failed, f.unfinished], ",.0f"
        ),
        "arrivals / admitted / completed per s (sustained)": _slashed(
            [f.arrival_rate_per_s, f.admission_rate_per_s, f.completion_rate_per_s], ".1f"
        ),
        "sign-ups per hour (sustained)": f"{f.signups_per_hour:,.0f}",
        "wait in queue p50 / p90 / max (s)": _slashed(
            [f.wait_s["p50"], f.wait_s["p90"], f.wait_s["max"]], ".1f"
        ),
        "arrival to completed p50 / p90 / max (s)": _slashed(
            [f.signup_s["p50"], f.signup_s["p90"], f.signup_s["max"]], ".1f"
        ),
    }
    for agency, totals in sorted(f.agencies.items()):
        if totals.get("requests"):
            counts = [totals[n] for n in ("requests", "ok", "errors", "throttled")]
            rows[f"{agency}: requests / ok / errors / throttled"] = _slashed(counts, ",.0f")
    for failure, count in f.failures.items():
        rows[f"failure: {failure}"] = str(count)
    table = Table(title="Launch day: figures")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for name, value in rows.items():
        table.add_row(name, value)
    return table


def _latency_table(f: Figures) -> Table:
    table = Table(title="Latency per endpoint (ms)")
    for column in ("endpoint", "requests", "p50", "p90", "p99", "max", "5xx", "unanswered"):
        table.add_column(column, justify="left" if column == "endpoint" else "right")
    for e in f.endpoints:
        table.add_row(
            e.endpoint, f"{e.count:,}", f"{e.p50_ms:.1f}", f"{e.p90_ms:.1f}", f"{e.p99_ms:.1f}",
            f"{e.max_ms:.1f}", str(e.status_5xx), str(e.no_answer),
        )  # fmt: skip
    return table


def print_report(report: LaunchDayReport, console: Console) -> None:
    console.print(_figures_table(report.figures))
    console.print(_latency_table(report.figures))
    goals = Table(title="Launch-day targets")
    for column in ("target", "measured", "met"):
        goals.add_column(column)
    for target, measured, met in targets(report):
        goals.add_row(target, measured, "[green]yes[/green]" if met else "[red]no[/red]")
    console.print(goals)
    for note in report.notes:
        console.print(f"[yellow]note:[/yellow] {note}")


def document(report: LaunchDayReport) -> dict[str, Any]:
    f = report.figures
    figures = {k: v for k, v in asdict(f).items() if k not in ("series", "eta_points")}
    figures["lost"] = f.lost
    return {
        "started_at": report.started_at,
        "machine": report.machine,
        "config": report.config.as_document(),
        "figures": figures,
        "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(report)],
        "notes": report.notes,
        "series": f.series,
        "eta_points": f.eta_points,
    }


def write_report(report: LaunchDayReport, out_dir: Path, console: Console) -> None:
    from neobank.loadtest.plots import plot_launch_day

    out_dir.mkdir(parents=True, exist_ok=True)
    print_report(report, console)
    (out_dir / JSON_NAME).write_text(json.dumps(document(report), indent=1))
    plot_launch_day(report.figures, report.config, out_dir / PNG_NAME)
    console.print(f"Wrote {out_dir / JSON_NAME} and {out_dir / PNG_NAME}")
