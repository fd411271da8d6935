"""The admission limit: how many admitted sessions the bank lets run at once, adapted to the
latency of the work they cause, in the manner of Netflix concurrency-limits' Gradient2.

Gradient2 compares a short-term RTT (the mean of one window of samples) with a long-term RTT
(an exponential average over ~600 windows). While the short RTT stays within `rtt_tolerance`
of the long one the limit grows by a queue allowance each window; when latency rises the
gradient `tolerance * long / short` (floored at 0.5 so one outlier cannot halve the limit)
shrinks it. Every step is smoothed and bounded by `limit_min`/`limit_max`. While fewer than
half the slots are in use the limit does not move: an idle room says nothing about capacity.

The state is plain data so that the store can share it: every process folds its windows into
the one state kept in the store (read, compute here, compare-and-set), see service.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

__all__ = [
    "LIMIT_INITIAL",
    "LIMIT_MAX",
    "LIMIT_MIN",
    "Gradient2Config",
    "LimiterState",
    "SampleWindow",
    "gradient2",
]

LIMIT_INITIAL = 100
LIMIT_MIN = 10
LIMIT_MAX = 5_000
RTT_TOLERANCE = 1.5
SMOOTHING = 0.2
LONG_WINDOW_SAMPLES = 600
WARMUP_SAMPLES = 10
GRADIENT_MIN = 0.5
# When the long RTT is over twice the short one (latency back to normal after a long
# overload), it is pulled down faster than the average alone would.
LONG_RTT_DECAY = 0.95
LONG_OVER_SHORT_MAX = 2.0
QUEUE_SIZE_MIN = 4
WINDOW_S = 1.0
WINDOW_SAMPLES_MIN = 10
RTT_FLOOR_S = 0.001


@dataclass(frozen=True)
class Gradient2Config:
    limit_initial: int = LIMIT_INITIAL
    limit_min: int = LIMIT_MIN
    limit_max: int = LIMIT_MAX
    rtt_tolerance: float = RTT_TOLERANCE
    smoothing: float = SMOOTHING
    long_window_samples: int = LONG_WINDOW_SAMPLES
    warmup_samples: int = WARMUP_SAMPLES
    window_s: float = WINDOW_S
    window_samples_min: int = WINDOW_SAMPLES_MIN

    def __post_init__(self) -> None:
        if not 1 <= self.limit_min <= self.limit_initial <= self.limit_max:
            raise ValueError("need 1 <= limit_min <= limit_initial <= limit_max")
        if not 0 < self.smoothing <= 1 or self.rtt_tolerance < 1:
            raise ValueError("need 0 < smoothing <= 1 and rtt_tolerance >= 1")

    def initial_state(self) -> LimiterState:
        return LimiterState(limit=float(self.limit_initial), long_rtt_s=0.0, samples=0)


@dataclass(frozen=True)
class LimiterState:
    limit: float
    long_rtt_s: float
    samples: int  # windows folded into the long RTT so far (for the warm-up average)
    version: int = 0  # bumped by the store on every write (compare-and-set)


def _queue_size(limit: float) -> float:
    # Netflix's default is a constant 4; the square root lets a limit of thousands grow at a
    # useful pace while a small one still moves by a few per window.
    return max(float(QUEUE_SIZE_MIN), math.sqrt(limit))


def gradient2(
    state: LimiterState, rtt_s: float, inflight: int, config: Gradient2Config
) -> LimiterState:
    """The state after one window whose mean latency was `rtt_s`, with `inflight` slots used."""
    short = max(rtt_s, RTT_FLOOR_S)
    samples = state.samples + 1
    if state.samples < config.warmup_samples:
        long = (state.long_rtt_s * state.samples + short) / samples
    else:
        factor = 2.0 / (config.long_window_samples + 1)
        long = state.long_rtt_s * (1 - factor) + short * factor
    if long / short > LONG_OVER_SHORT_MAX:
        long *= LONG_RTT_DECAY
    if inflight < state.limit / 2:
        return replace(state, long_rtt_s=long, samples=samples)
    gradient = max(GRADIENT_MIN, min(1.0, config.rtt_tolerance * long / short))
    target = state.limit * gradient + _queue_size(state.limit)
    limit = state.limit * (1 - config.smoothing) + target * config.smoothing
    limit = min(float(config.limit_max), max(float(config.limit_min), limit))
    return replace(state, limit=limit, long_rtt_s=long, samples=samples)


class SampleWindow:
    """Latency samples gathered until a window is complete: at least `window_s` long and at
    least `window_samples_min` samples, as Netflix's WindowedLimit does."""

    def __init__(self, config: Gradient2Config) -> None:
        self._config = config
        self._started: float | None = None
        self._sum_s = 0.0
        self._count = 0

    def add(self, latency_s: float, now: float) -> float | None:
        """Adds a sample; returns the window's mean latency when this sample completes it."""
        if self._started is None:
            self._started = now
        self._sum_s += latency_s
        self._count += 1
        if now - self._started < self._config.window_s:
            return None
        if self._count < self._config.window_samples_min:
            return None
        mean = self._sum_s / self._count
        self._started, self._sum_s, self._count = None, 0.0, 0
        return mean
