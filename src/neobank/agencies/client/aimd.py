"""A client-side rate limiter per agency that finds the agency's capacity from its 429s (AIMD).

Callers are paced: they queue in arrival order and each is let through ``1 / rate`` seconds
after the one before. The rate adapts like TCP's congestion window:

- slow start: while callers queue for slots (the limiter, not the callers, is the bottleneck)
  and no 429 has been seen, the rate doubles every ``slow_start_doubling_ms``;
- additive increase: after that, it grows by ``increase_per_s`` for each second of queueing;
- multiplicative decrease: a 429 multiplies it by ``decrease_factor`` (by
  ``slow_start_decrease_factor`` for the first one), at most once per round: a 429 for a
  request sent before the last decrease is the same news again and is ignored;
- the rate stays within ``[min_rate_per_s, max_rate_per_s]``.

Several processes each running their own limiter against one agency share it fairly (the
classic AIMD result), so no coordination between processes is needed. Clock and sleep are
injectable, so tests drive it without waiting.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from neobank.agencies.client.errors import AgencyThrottled
from neobank.agencies.client.policy import RateLimitPolicy

__all__ = ["AimdLimiter"]


class AimdLimiter:
    def __init__(
        self,
        agency: str,
        policy: RateLimitPolicy,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        on_change: Callable[[float], None] | None = None,
    ) -> None:
        self.agency = agency
        self._policy = policy
        self._clock = clock
        self._sleep = sleep
        self._on_change = on_change
        self._rate = self._bounded(policy.start_rate_per_s)
        self._slow_start = True
        now = clock()
        self._next_at = now
        self._grown_at = now
        self._decreased_at = float("-inf")
        self._turn = asyncio.Lock()  # FIFO: waiters are woken in the order they came
        self._waiting = 0
        self.throttled = 0  # 429s reported
        self.decreases = 0  # of which changed the rate

    @property
    def rate_per_s(self) -> float:
        return self._rate

    @property
    def slow_start(self) -> bool:
        return self._slow_start

    async def acquire(self) -> float:
        """Wait for this caller's turn to send; returns its slot (pass it to ``throttled_at``).

        Callers queue in arrival order and only the head computes its slot, from the rate as
        it is then: a slot taken far ahead would lock in an old rate. ``AgencyThrottled`` at
        once if the queue ahead is longer than ``queue_wait_max_ms`` at the current rate."""
        ahead_s = self._waiting / self._rate
        if ahead_s * 1000 > self._policy.queue_wait_max_ms:
            detail = "Too many calls are waiting for this agency"
            raise AgencyThrottled(self.agency, detail, retry_after_s=ahead_s)
        self._waiting += 1
        try:
            async with self._turn:
                queued = self._waiting > 1 or self._next_at > self._clock()
                self._grow(self._clock(), queued)
                while (wait_s := self._next_at - self._clock()) > 0:
                    await self._sleep(wait_s)
                # The slot is when it was due, unless we are late by more than one interval
                # (a busy event loop): then now, so lateness is never paid back as a burst.
                slot = max(self._next_at, self._clock() - 1 / self._rate)
                self._next_at = slot + 1 / self._rate
                return slot
        finally:
            self._waiting -= 1

    def throttled_at(self, sent_at: float) -> None:
        """The agency answered 429 to the request sent in the slot ``sent_at``."""
        self.throttled += 1
        if sent_at < self._decreased_at:
            return
        now = self._clock()
        factor = self._policy.decrease_factor
        if self._slow_start:
            factor = self._policy.slow_start_decrease_factor
            self._slow_start = False
        self._decreased_at = now
        self.decreases += 1
        self._set_rate(self._rate * factor)
        # Slots already handed out keep their time; the next one honours the lower rate.
        self._next_at = max(self._next_at, now + 1 / self._rate)

    def _grow(self, now: float, queued: bool) -> None:
        elapsed_s = max(0.0, now - self._grown_at)
        self._grown_at = now
        if not queued or elapsed_s == 0:
            return
        if self._slow_start:
            doublings = elapsed_s / (self._policy.slow_start_doubling_ms / 1000)
            self._set_rate(self._rate * 2**doublings)
        else:
            self._set_rate(self._rate + self._policy.increase_per_s * elapsed_s)

    def _set_rate(self, rate_per_s: float) -> None:
        self._rate = self._bounded(rate_per_s)
        if self._on_change is not None:
            self._on_change(self._rate)

    def _bounded(self, rate_per_s: float) -> float:
        return min(self._policy.max_rate_per_s, max(self._policy.min_rate_per_s, rate_per_s))
