"""What a `neobank loadtest loans` run measured: figures, the issue's targets, a table, a
JSON document and a three-panel plot (flow per second, submission latency, backlog)."""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from neobank.loadtest.lending import LoansRun
from neobank.loadtest.stats import per_second, percentile, sustained_rate_per_s

__all__ = ["figures", "targets", "write_loans_report"]

submission_p99_target_s = 0.300
decision_share_target = 0.90
throttled_share_max = 0.05
figure_size_in = (17.0, 5.5)
dpi = 110


def _bureau_delta(run: LoansRun) -> dict[str, int]:
    if not run.samples:
        return {}
    first, last = run.samples[0], run.samples[-1]
    keys = ("requests", "ok", "errors", "throttled", "inquiries", "distinct_inquiry_keys")
    return {k: int(last.get(k, 0)) - int(first.get(k, 0)) for k in keys}


def figures(run: LoansRun) -> dict[str, Any]:
    subs = run.submissions
    accepted = [s for s in subs if s.status == 202]
    latencies = [s.latency_s for s in subs]
    decided = [s.decided_at for s in accepted if s.decided_at is not None]
    bureau = _bureau_delta(run)
    reasons = Counter(r for s in accepted for r in s.reasons)
    capacity = run.config.bureau_capacity_rps
    sustained = sustained_rate_per_s(decided)
    return {
        "submitted": len(subs),
        "accepted_202": len(accepted),
        "statuses": dict(Counter(str(s.status) for s in subs)),
        "server_errors": sum(1 for s in subs if s.status >= 500 or s.status == 0),
        "submission_latency_ms": {
            f"p{p:g}": round(percentile(latencies, p) * 1000, 1) for p in (50, 90, 99, 99.9, 100)
        },
        "decided": len(decided),
        "undecided": len(accepted) - len(decided),
        "outcomes": dict(Counter(s.outcome or "pending" for s in accepted)),
        "decline_reasons": dict(reasons.most_common()),
        "decision_rate_sustained_per_s": round(sustained, 2),
        "decision_share_of_capacity": round(sustained / capacity, 3) if capacity else None,
        "bureau": bureau,
        "bureau_ok_share_of_capacity": _share(_counter_times(run, "ok"), capacity),
        # What the bureau let in (answered, 503s included) over its capacity: a bureau whose
        # 503s use up its capacity caps decisions at (1 - error rate) of it.
        "bureau_answered_share_of_capacity": _share(
            _counter_times(run, "ok") + _counter_times(run, "errors"), capacity
        ),
        "throttled_share": round(bureau.get("throttled", 0) / bureau["requests"], 4)
        if bureau.get("requests")
        else 0.0,
        "drained": run.drained,
    }


def _share(times: list[float], capacity_rps: float) -> float:
    return round(sustained_rate_per_s(times) / capacity_rps, 3) if capacity_rps else 0.0


def _counter_times(run: LoansRun, counter: str) -> list[float]:
    """One timestamp per bureau call counted in `counter` (ok, errors, ...), spread evenly
    over each sampled second."""
    times: list[float] = []
    for before, after in zip(run.samples, run.samples[1:], strict=False):
        count = int(after.get(counter, 0)) - int(before.get(counter, 0))
        span = after["t"] - before["t"]
        times += [before["t"] + span * (i + 0.5) / count for i in range(max(0, count))]
    return times


def targets(f: dict[str, Any]) -> list[tuple[str, str, bool]]:
    p99_ms = f["submission_latency_ms"]["p99"]
    share = f["decision_share_of_capacity"] or 0.0
    keys = f["bureau"].get("distinct_inquiry_keys", -1)
    return [
        ("submission p99 < 300 ms", f"{p99_ms:.0f} ms", p99_ms < submission_p99_target_s * 1000),
        (
            "decisions >= 90% of the bureau's capacity",
            f"{f['decision_rate_sustained_per_s']:.1f}/s = {share:.0%}",
            share >= decision_share_target,
        ),
        (
            "no application lost (all 202s decided)",
            f"{f['decided']}/{f['accepted_202']}",
            f["undecided"] == 0 and f["decided"] == f["accepted_202"],
        ),
        (
            "one hard inquiry per application",
            f"{keys} keys for {f['accepted_202']}",
            keys == f["accepted_202"],
        ),
        ("no 5xx or unanswered submission", str(f["server_errors"]), f["server_errors"] == 0),
        (
            "bureau throttles < 5% of the bank's calls",
            f"{f['throttled_share']:.2%}",
            f["throttled_share"] < throttled_share_max,
        ),
    ]


def _print(f: dict[str, Any], console: Console) -> None:
    table = Table(title="Loans under a slow bureau: targets")
    for column in ("target", "measured", "met"):
        table.add_column(column)
    for name, measured, met in targets(f):
        table.add_row(name, measured, "[green]yes[/]" if met else "[red]no[/]")
    console.print(table)
    console.print(
        f"submission latency ms {f['submission_latency_ms']}; outcomes {f['outcomes']}; "
        f"bureau {f['bureau']}; bureau answered (ok + 503) "
        f"{f['bureau_answered_share_of_capacity']:.0%} of its capacity"
    )


def _plot(run: LoansRun, f: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    accepted = [s for s in run.submissions if s.status == 202]
    decided = [s.decided_at for s in accepted if s.decided_at is not None]
    end = max([s.sent_at for s in run.submissions] + decided + [1.0])
    seconds = math.ceil(end) + 1
    xs = list(range(seconds))
    figure, (flow, latency, backlog) = plt.subplots(1, 3, figsize=figure_size_in)
    flow.plot(xs, per_second([s.sent_at for s in run.submissions], 0, seconds), label="submitted")
    flow.plot(xs, per_second(decided, 0, seconds), label="decided")
    flow.plot(
        xs, per_second(_counter_times(run, "ok"), 0, seconds), label="bureau answered ok", alpha=0.6
    )
    flow.axhline(run.config.bureau_capacity_rps, color="grey", ls="--", label="bureau capacity")
    flow.set(title="Per second", xlabel="s", ylabel="applications / s")
    flow.legend()
    latency.scatter(
        [s.sent_at for s in run.submissions],
        [s.latency_s * 1000 for s in run.submissions],
        s=2,
    )
    latency.axhline(submission_p99_target_s * 1000, color="red", ls="--", label="p99 target")
    latency.axhline(f["submission_latency_ms"]["p99"], color="black", ls=":", label="p99")
    latency.set(title="Submission latency", xlabel="sent at, s", ylabel="ms", yscale="log")
    latency.legend()
    sent_cum = _cumulative(per_second([s.sent_at for s in accepted], 0, seconds))
    decided_cum = _cumulative(per_second(decided, 0, seconds))
    backlog.plot(xs, [a - b for a, b in zip(sent_cum, decided_cum, strict=True)])
    backlog.set(title="Pending applications", xlabel="s", ylabel="applications")
    c = run.config
    figure.suptitle(
        f"{c.applications} loan applications at {c.arrival_rate_per_s:g}/s; bureau "
        f"{c.bureau_capacity_rps:g}/s, {c.bureau_latency_ms:g} ms, "
        f"{c.bureau_error_rate:.0%} errors; {c.workers} API process(es)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)


def _cumulative(counts: list[int]) -> list[int]:
    total, out = 0, []
    for count in counts:
        total += count
        out.append(total)
    return out


def write_loans_report(run: LoansRun, console: Console) -> dict[str, Any]:
    f = figures(run)
    out = run.config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "config": run.config.as_document(),
        "started_at": run.started_at,
        "figures": f,
        "targets": [{"target": n, "measured": m, "met": ok} for n, m, ok in targets(f)],
    }
    (out / "loans.json").write_text(json.dumps(document, indent=2))
    _plot(run, f, out / "loans.png")
    _print(f, console)
    console.print(f"Report: {out / 'loans.json'} and {out / 'loans.png'}")
    return f
