"""Rich progress while the surge runs: people arrived and finished, the queue, the identity
agency's traffic, read from the sampler's latest sample."""

from __future__ import annotations

import subprocess
import time

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from neobank.benchmark.processes import stop_process_group
from neobank.loadtest.sampler import Sample, Sampler

__all__ = ["watch_surge"]

refresh_s = 0.5


def _arrived(first: Sample | None, latest: Sample) -> int:
    def tickets(sample: Sample | None) -> int:
        return int((sample.room or {}).get("tickets_total") or 0) if sample else 0

    return max(0, tickets(latest) - tickets(first))


def _status(samples: list[Sample]) -> str:
    latest = samples[-1]
    room = latest.room or {}
    text = (
        f"waiting {room.get('waiting', '?')} · admitted {room.get('active', '?')} · "
        f"limit {room.get('limit', '?')}"
    )
    if len(samples) >= 2 and latest.agencies and samples[-2].agencies:
        now = latest.agencies.get("identity", {})
        before = samples[-2].agencies.get("identity", {})
        dt = max(latest.at - samples[-2].at, 1e-3)
        rps = (now.get("requests", 0) - before.get("requests", 0)) / dt
        throttled = (now.get("throttled", 0) - before.get("throttled", 0)) / dt
        text += f" · identity {rps:.0f} req/s, {throttled:.0f} throttled/s"
    return text


def watch_surge(
    locust: subprocess.Popen[bytes],
    sampler: Sampler,
    expected: int,
    deadline: float,
    console: Console,
) -> None:
    """Until the Locust process exits (stopped at ``deadline``, monotonic seconds)."""
    first = sampler.samples[0] if sampler.samples else None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
    )
    with Progress(*columns, console=console) as progress:
        arrived = progress.add_task("arrived ", total=expected, status="")
        finished = progress.add_task("finished", total=expected, status="")
        while locust.poll() is None:
            if time.monotonic() > deadline:
                stop_process_group(locust)
                break
            samples = list(sampler.samples)
            if samples:
                progress.update(arrived, completed=_arrived(first, samples[-1]))
                progress.update(finished, completed=samples[-1].finished, status=_status(samples))
            time.sleep(refresh_s)
        samples = list(sampler.samples)
        if samples:
            progress.update(finished, completed=samples[-1].finished)
