"""A token bucket per agency: the capacity knob, answered 429 with Retry-After beyond it."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["TokenBucket"]

# Burst allowance: how many seconds' worth of tokens the bucket holds when full.
burst_s = 1.0


class TokenBucket:
    """Refills at ``rate_rps`` tokens per second up to ``max(1, rate_rps * burst_s)`` tokens."""

    def __init__(self, rate_rps: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rate_rps = rate_rps
        self._tokens = self.size
        self._updated_at = clock()

    @property
    def size(self) -> float:
        return max(1.0, self._rate_rps * burst_s)

    def set_rate(self, rate_rps: float) -> None:
        self._refill()
        self._rate_rps = rate_rps
        self._tokens = min(self._tokens, self.size)

    def try_take(self) -> float | None:
        """Take one token; ``None`` if taken, else the seconds until one will be there."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return None
        return (1.0 - self._tokens) / self._rate_rps

    def _refill(self) -> None:
        now = self._clock()
        elapsed_s = max(0.0, now - self._updated_at)
        self._updated_at = now
        self._tokens = min(self.size, self._tokens + elapsed_s * self._rate_rps)
