"""Once a second during the surge: the bank's waiting room (ops ``GET /v1/waiting-room``), the
agencies' counters (``GET /_sim/stats``) and how many people have finished (the records'
lines). A thread in the runner's process; a failed read is kept as None, not retried."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

__all__ = ["FinishedCounter", "Sample", "Sampler"]

interval_s = 1.0
request_timeout_s = 2.0


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # Unix epoch seconds
    room: dict[str, Any] | None
    agencies: dict[str, dict[str, int]] | None
    finished: int


class FinishedCounter:
    """Counts the lines appended to ``records-*.jsonl`` so far, reading only what is new."""

    def __init__(self, records_dir: Path) -> None:
        self.records_dir = records_dir
        self._offsets: dict[Path, int] = {}
        self._count = 0

    def __call__(self) -> int:
        for path in self.records_dir.glob("records-*.jsonl"):
            offset = self._offsets.get(path, 0)
            with path.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            # Only whole lines count: a line being written is counted once it ends.
            whole = chunk[: chunk.rfind(b"\n") + 1]
            self._count += whole.count(b"\n")
            self._offsets[path] = offset + len(whole)
        return self._count


class Sampler:
    def __init__(
        self,
        bank: httpx.Client,
        agencies: httpx.Client,
        ops_token: str,
        finished: Callable[[], int],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.bank = bank
        self.agencies = agencies
        self.ops_token = ops_token
        self.finished = finished
        self.clock = clock
        self.samples: list[Sample] = []
        self.failed_reads = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _get(self, client: httpx.Client, path: str, headers: dict[str, str]) -> Any:
        try:
            response = client.get(path, headers=headers, timeout=request_timeout_s)
            if response.status_code == 200:
                return response.json()
        except (httpx.HTTPError, ValueError):
            pass
        self.failed_reads += 1
        return None

    def sample_once(self) -> Sample:
        at = self.clock()
        room = self._get(
            self.bank, "/v1/waiting-room", {"Authorization": f"Bearer {self.ops_token}"}
        )
        agencies = self._get(self.agencies, "/_sim/stats", {})
        sample = Sample(at, room, agencies, self.finished())
        self.samples.append(sample)
        return sample

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="loadtest-sampler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop, with one last sample (the counters after the surge)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self.sample_once()

    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self.sample_once()
            next_at += interval_s
            self._stop.wait(max(0.0, next_at - time.monotonic()))
