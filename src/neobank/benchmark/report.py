"""The benchmark's report: a table with the targets, JSON, and a plot."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from neobank.benchmark.runner import BenchReport

__all__ = ["print_report", "targets", "write_report"]


def targets(report: BenchReport) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for each target of the throughput issue."""
    ref = report.pgbench_tps
    batch = report.best("batch", report.runs[0].api_processes if report.runs else None)
    single = [r for r in report.runs if r.workload == "single"]
    hot = report.best("batch_hot")
    half = [r for r in report.runs if r.workload == "single_half_peak"]
    rows = [
        ("batch >= 10 x pgbench", f"{batch:,.0f}/s = {batch / ref:.1f} x", batch >= 10 * ref),
    ]
    if single:
        best = max(single, key=lambda r: r.transfers_per_s)
        rows.append(
            (
                "single >= 1 x pgbench, p99 < 50 ms",
                f"{best.transfers_per_s:,.0f}/s = {best.transfers_per_s / ref:.2f} x, "
                f"p99 {best.p99_ms:.1f} ms",
                best.transfers_per_s >= ref and best.p99_ms < 50,
            )
        )
    if hot and batch:
        rows.append(
            ("hot account >= 0.8 x uniform batch", f"{hot / batch:.2f} x", hot >= 0.8 * batch)
        )
    if half:
        rows.append(
            ("p99 < 20 ms at half of peak", f"{half[0].p99_ms:.1f} ms", half[0].p99_ms < 20)
        )
    return rows


def print_report(report: BenchReport, console: Console) -> None:
    ref = Table(title="pgbench TPC-B (same server, same run)")
    for column in ("clients", "tps", "latency avg (ms)"):
        ref.add_column(column, justify="right")
    for result in report.pgbench:
        ref.add_row(str(result.clients), f"{result.tps:,.0f}", f"{result.latency_avg_ms:.1f}")
    console.print(ref)
    runs = Table(title="neobank over HTTP (durable commits)")
    for column in (
        "workload",
        "API procs",
        "offered/s",
        "requests/s",
        "transfers/s",
        "x pgbench",
        "p50 ms",
        "p99 ms",
        "failures",
    ):
        runs.add_column(column, justify="right")
    for run in report.runs:
        runs.add_row(
            run.workload,
            str(run.api_processes),
            f"{run.offered_per_s:,.0f}" if run.offered_per_s else "-",
            f"{run.requests_per_s:,.1f}",
            f"{run.transfers_per_s:,.0f}",
            f"{run.transfers_per_s / report.pgbench_tps:.2f}",
            f"{run.p50_ms:.1f}",
            f"{run.p99_ms:.1f}",
            str(sum(run.failures.values())),
        )
    console.print(runs)
    goals = Table(title="Targets")
    for column in ("target", "measured", "met"):
        goals.add_column(column)
    for target, measured, met in targets(report):
        goals.add_row(target, measured, "[green]yes[/green]" if met else "[red]no[/red]")
    console.print(goals)


def write_report(report: BenchReport, out_dir: Path, console: Console) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    print_report(report, console)
    document = {
        "machine": report.machine,
        "config": report.config,
        "pgbench": [asdict(r) for r in report.pgbench],
        "runs": [r.as_dict() for r in report.runs],
        "ledger_checks": report.ledger_checks,
        "targets": [{"target": t, "measured": m, "met": ok} for t, m, ok in targets(report)],
    }
    (out_dir / "bench.json").write_text(json.dumps(document, indent=2))
    _plot(report, out_dir / "bench.png")
    console.print(f"Wrote {out_dir / 'bench.json'} and {out_dir / 'bench.png'}")


def _plot(report: BenchReport, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sweep = sorted(
        (r for r in report.runs if r.workload.startswith("sweep_")),
        key=lambda r: r.offered_per_s or 0,
    )
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    if sweep:
        offered = [r.offered_per_s or 0 for r in sweep]
        left.plot(
            offered, [r.transfers_per_s for r in sweep], marker="o", label="neobank transfers/s"
        )
        left.plot(offered, offered, linestyle=":", color="grey", label="offered")
        left.axhline(report.pgbench_tps, color="red", linestyle="--", label="pgbench TPC-B tps")
        left.set_xlabel("offered single transfers/s")
        left.set_ylabel("completed transfers/s")
        left.legend()
        ax2 = left.twinx()
        ax2.plot(offered, [r.p99_ms for r in sweep], marker="s", color="orange", label="p99 ms")
        ax2.set_ylabel("p99 latency (ms)")
        ax2.legend(loc="upper center")
        left.set_title("Single transfers: throughput and p99 against offered load")
    names = [
        f"{r.workload}\n{r.api_processes}p"
        for r in report.runs
        if not r.workload.startswith("sweep_")
    ]
    values = [r.transfers_per_s for r in report.runs if not r.workload.startswith("sweep_")]
    right.bar(names, values)
    right.axhline(report.pgbench_tps, color="red", linestyle="--", label="pgbench 1x")
    right.axhline(10 * report.pgbench_tps, color="darkred", linestyle=":", label="pgbench 10x")
    right.set_ylabel("transfers/s")
    right.set_title("Throughput by workload and API processes")
    right.tick_params(axis="x", labelsize=7, rotation=30)
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
