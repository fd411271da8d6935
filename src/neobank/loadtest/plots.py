"""The launch day in six plots (matplotlib, PNG): the flow per second, the queue, ETA accuracy,
latency per endpoint, the identity agency's traffic, and how long each person took."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neobank.loadtest.analysis import Figures
from neobank.loadtest.config import LaunchDayConfig

__all__ = ["plot_launch_day"]

figure_size_in = (17.0, 9.5)
dpi = 110


def _flow(ax: Any, f: Figures, config: LaunchDayConfig) -> None:
    s = f.series
    for name in ("arrivals", "admitted", "completed"):
        ax.plot(s["second"], s[name], label=f"{name}/s", linewidth=1)
    if config.identity_limiting:
        cap = config.identity_capacity_rps
        ax.axhline(cap, color="red", linestyle="--", label=f"identity cap {cap:g}/s")
        ax.axhline(0.9 * cap, color="red", linestyle=":", label="90% of the cap")
    ax.set_xlabel("seconds since the first arrival")
    ax.set_ylabel("people per second")
    ax.set_title("Arrivals, admissions and completions")
    ax.legend(fontsize=8)


def _queue(ax: Any, f: Figures) -> None:
    s = f.series
    ax.plot(s["room_at"], s["room_waiting"], label="waiting")
    ax.plot(s["room_at"], s["room_active"], label="admitted, in onboarding")
    ax.plot(s["room_at"], s["room_limit"], label="admission limit", linestyle="--")
    ax.set_xlabel("seconds since the first arrival")
    ax.set_ylabel("people")
    ax.set_title("Waiting room (ops GET /v1/waiting-room)")
    ax.legend(fontsize=8)


def _eta(ax: Any, f: Figures) -> None:
    if f.eta_points:
        predicted, actual = zip(*f.eta_points, strict=True)
        ax.scatter(predicted, actual, s=4, alpha=0.4)
        top = max(max(predicted), max(actual), 1.0)
        ax.plot([0, top], [0, top], color="grey", label="exact")
        ax.plot([0, top / 2], [0, top], color="red", linestyle=":", label="2x")
        ax.plot([0, top], [0, top / 2], color="red", linestyle=":")
        ax.legend(fontsize=8)
    ax.set_xlabel("ETA given with the ticket (s)")
    ax.set_ylabel("actual wait (s)")
    ax.set_title(f"ETA accuracy: {f.eta_within_2x_share:.1%} within 2x")


def _latency(ax: Any, f: Figures) -> None:
    rows = f.endpoints
    names = [e.endpoint.replace("/v1/", "/").replace("/onboarding/{id}/", "/…/") for e in rows]
    positions = range(len(rows))
    width = 0.27
    for shift, label, values in (
        (-width, "p50", [e.p50_ms for e in rows]),
        (0.0, "p90", [e.p90_ms for e in rows]),
        (width, "p99", [e.p99_ms for e in rows]),
    ):
        ax.bar([p + shift for p in positions], values, width, label=label)
    ax.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylabel("ms")
    ax.set_title("Latency per endpoint")
    ax.legend(fontsize=8)


def _agency(ax: Any, f: Figures, config: LaunchDayConfig) -> None:
    s = f.series
    for name in ("requests", "ok", "throttled", "errors"):
        ax.plot(s["agency_at"], s[f"identity_{name}_per_s"], label=name, linewidth=1)
    if config.identity_limiting:
        ax.axhline(config.identity_capacity_rps, color="red", linestyle="--", label="cap")
    share = f.agency_throttled_share("identity")
    ax.set_xlabel("seconds since the first arrival")
    ax.set_ylabel("per second")
    ax.set_title(f"Identity agency (GET /_sim/stats): {share:.2%} throttled")
    ax.legend(fontsize=8)


def _durations(ax: Any, f: Figures) -> None:
    s = f.series
    ax.plot(s["room_at"], s["room_admission_rate_per_s"], label="measured admission rate /s")
    ax.set_xlabel("seconds since the first arrival")
    ax.set_ylabel("admissions per second")
    ax.set_title(
        f"Admission rate; wait p50 {f.wait_s['p50']:.0f} s, p90 {f.wait_s['p90']:.0f} s, "
        f"sign-up p90 {f.signup_s['p90']:.0f} s"
    )
    ax.legend(fontsize=8)


def plot_launch_day(f: Figures, config: LaunchDayConfig, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=figure_size_in)
    _flow(axes[0][0], f, config)
    _queue(axes[0][1], f)
    _durations(axes[0][2], f)
    _eta(axes[1][0], f)
    _latency(axes[1][1], f)
    _agency(axes[1][2], f, config)
    cap = "none" if config.unlimited else f"{config.identity_capacity_rps:g}/s"
    figure.suptitle(
        f"Launch day: {config.arrival_rate_per_s:g} sign-ups/s for {config.duration_s:g} s, "
        f"identity cap {cap}, {config.workers} API process(es)"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    plt.close(figure)
