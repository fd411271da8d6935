"""This process's own cap on admissions: Gradient2 (limiter.py) over the latency of the admitted
work the process serves, next to the shared limit that the identity check's turnaround drives.

The shared limit sees the agencies: when identity checks queue, their turnaround rises and the
limit falls. It does not see the API process itself. With the agency calls in a separate job
process the turnaround stays short while the API process runs out of CPU, so the shared limit
kept growing (to ~500 sessions on a launch-day run) and the API process shed hundreds of
onboarding requests with 503 (docs/BENCHMARKS.md). Each API process therefore times the
onboarding requests of admitted people, from the moment they reach it (time parked by the load
shedder included) to their answer, and folds one-second windows of them into a limit of its
own. Admissions in this process fill the slots up to the smaller of the two.

The cap is this process's alone (not shared through Redis): each process judges its own load.
It starts at the shared limit of the moment when its first window completes, and lapses when no
window has completed for `STALE_S` (no onboarding traffic here: nothing to judge by), so that an
old verdict never holds admissions down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import replace

from neobank.onboarding.waiting_room.limiter import (
    Gradient2Config,
    LimiterState,
    SampleWindow,
    gradient2,
)

__all__ = ["STALE_S", "ProcessLimit"]

STALE_S = 30.0


class ProcessLimit:
    def __init__(
        self, config: Gradient2Config, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._config = config
        self._clock = clock
        self._window = SampleWindow(config)
        self._state: LimiterState | None = None
        self._updated_at = -math.inf

    def cap(self) -> int | None:
        """The most admitted sessions this process lets in; None while it has no verdict."""
        if self._state is None or self._clock() - self._updated_at > STALE_S:
            return None
        return math.floor(self._state.limit)

    def observe(self, latency_s: float, *, active: int, shared_limit: int) -> None:
        """One request's latency; `active` and `shared_limit` as the room last saw them."""
        if not math.isfinite(latency_s) or latency_s < 0:
            return
        now = self._clock()
        mean_s = self._window.add(latency_s, now)
        if mean_s is None:
            return
        state = self._state or self._config.initial_state()
        if self.cap() is None:  # first window, or after a lapse: start from the shared limit
            state = replace(state, limit=float(shared_limit))
        self._state = gradient2(state, mean_s, active, self._config)
        self._updated_at = now
