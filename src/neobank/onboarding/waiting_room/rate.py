"""The measured admission rate and what it tells a waiting client: when it will be let in and
how long to wait before asking again (far back in the queue, less often).

Admissions are counted per second in the store (shared by every process) over a sliding
window; the rate is the count over the span from the window's first admitting second to now.
Until the window holds a few admissions the rate is not trusted and a stated, conservative
(slow) rate is assumed instead, so early ETAs err long rather than short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "ADMISSION_RATE_ASSUMED_PER_S",
    "ETA_MAX_S",
    "POLL_AFTER_MAX_MS",
    "POLL_AFTER_MIN_MS",
    "RATE_SAMPLES_MIN",
    "RATE_WINDOW_S",
    "AdmissionCounter",
    "RateSample",
    "eta_seconds",
    "poll_after_ms",
    "recheck_after_s",
]

RATE_WINDOW_S = 60
RATE_SAMPLES_MIN = 5
ADMISSION_RATE_ASSUMED_PER_S = 1.0
ETA_MAX_S = 24 * 3600
POLL_AFTER_MIN_MS = 1_000
# Far back in a long queue, polls are most of the bank's work (a 6,000-person surge with a
# 10 s cap and a quarter of the ETA polled 110,000 times: about a third of one process's
# CPU). Half the ETA, up to 30 s, halves the remaining wait at each poll, so a person polls
# about log2(wait) times and still hears of the admission within a second or two: ETAs are
# honest (all within 2x in the launch-day runs), so the last intervals are short.
POLL_AFTER_MAX_MS = 30_000
POLL_AFTER_ETA_FRACTION = 0.5
_SPAN_MIN_S = 1.0
# A long-polled ticket (GET with `wait_ms`) is re-read inside the bank instead: a quarter of its
# ETA apart, every 10 s at most and 0.1 s at least, so the head hears of its admission within
# about 0.1 s and the back of a long queue costs a few in-process reads a second, no requests
# (with 5 s at most, 3,000 people waiting cost 600 reads/s, ~5% of the process in a surge).
RECHECK_ETA_FRACTION = 0.25
RECHECK_MIN_S = 0.1
RECHECK_MAX_S = 10.0


@dataclass(frozen=True)
class RateSample:
    """Admissions in the window, and the seconds they were spread over."""

    count: int
    span_s: float

    @property
    def measured_per_s(self) -> float:
        return self.count / self.span_s if self.count else 0.0

    @property
    def per_s(self) -> float:
        """The rate to plan with: measured once there are enough admissions, else assumed."""
        if self.count < RATE_SAMPLES_MIN:
            return ADMISSION_RATE_ASSUMED_PER_S
        return self.measured_per_s


def span_s(oldest_second: int | None, now: float, window_s: int = RATE_WINDOW_S) -> float:
    if oldest_second is None:
        return float(window_s)
    return min(float(window_s), max(_SPAN_MIN_S, now - oldest_second))


def eta_seconds(position: int, rate: RateSample) -> int:
    if position <= 0:
        return 0
    return min(ETA_MAX_S, math.ceil(position / rate.per_s))


def poll_after_ms(eta_s: int) -> int:
    wanted = int(eta_s * 1000 * POLL_AFTER_ETA_FRACTION)
    return min(POLL_AFTER_MAX_MS, max(POLL_AFTER_MIN_MS, wanted))


def recheck_after_s(eta_s: int) -> float:
    """How long a long-polled waiting ticket sleeps before it is read again."""
    return min(RECHECK_MAX_S, max(RECHECK_MIN_S, eta_s * RECHECK_ETA_FRACTION))


class AdmissionCounter:
    """Admissions per second over the last `window_s` (the in-process store's counter; the
    Redis store keeps the same buckets in a hash)."""

    def __init__(self, window_s: int = RATE_WINDOW_S) -> None:
        self._window_s = window_s
        self._buckets: dict[int, int] = {}

    def add(self, now: float, count: int) -> None:
        second = int(now)
        self._buckets[second] = self._buckets.get(second, 0) + count

    def sample(self, now: float) -> RateSample:
        horizon = int(now) - self._window_s
        for second in [s for s in self._buckets if s <= horizon]:
            del self._buckets[second]
        oldest = min(self._buckets, default=None)
        return RateSample(sum(self._buckets.values()), span_s(oldest, now, self._window_s))
