"""A circuit breaker per agency: stop calling an agency that is down, probe it to come back.

Closed: attempts go through and their outcomes fill a window of the last ``window``; once it
holds ``calls_min`` outcomes and ``failure_rate`` of them failed, the breaker opens. Open: no
attempt goes out (``CircuitOpen``) for ``open_ms``. Half-open: ``half_open_probes`` attempts go
out; when all have answered, the breaker closes unless their failure rate is at the threshold,
in which case it opens again. Outcomes of attempts let through under an earlier state are
ignored (a slow attempt from before the breaker opened is no probe). Time comes from an
injectable clock, so tests drive the state machine without sleeping.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from neobank.agencies.client.errors import CircuitOpen
from neobank.agencies.client.policy import BreakerPolicy

__all__ = ["CircuitBreaker", "CircuitState", "Permit"]


class CircuitState(StrEnum):
    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to send one attempt, issued under the breaker's ``generation``."""

    generation: int
    probe: bool


class CircuitBreaker:
    def __init__(
        self,
        agency: str,
        policy: BreakerPolicy,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[CircuitState], None] | None = None,
    ) -> None:
        self.agency = agency
        self._policy = policy
        self._clock = clock
        self._on_change = on_change
        self._state = CircuitState.CLOSED
        self._generation = 0
        self._outcomes: deque[bool] = deque(maxlen=policy.window)  # True: failed
        self._opened_at = 0.0
        self._probes_out = 0

    @property
    def state(self) -> CircuitState:
        """The state now (an open breaker whose time is up reads as half-open)."""
        if self._state is CircuitState.OPEN and self._open_remaining_s() <= 0:
            self._enter(CircuitState.HALF_OPEN)
        return self._state

    def acquire(self) -> Permit:
        """Leave to send one attempt, or ``CircuitOpen`` (nothing may be sent)."""
        state = self.state
        if state is CircuitState.OPEN:
            raise CircuitOpen(self.agency, retry_after_s=self._open_remaining_s())
        if state is CircuitState.HALF_OPEN:
            if self._probes_out >= self._policy.half_open_probes:
                # The probes are out; their answers decide within one attempt's time.
                raise CircuitOpen(self.agency, retry_after_s=self._policy.half_open_wait_ms / 1000)
            self._probes_out += 1
            return Permit(self._generation, probe=True)
        return Permit(self._generation, probe=False)

    def record(self, permit: Permit, *, failed: bool) -> None:
        """The outcome of an attempt sent with ``permit``."""
        if permit.generation != self._generation:
            return
        self._outcomes.append(failed)
        if self._state is CircuitState.CLOSED:
            if len(self._outcomes) >= self._policy.calls_min and self._failing():
                self._enter(CircuitState.OPEN)
        elif len(self._outcomes) >= self._policy.half_open_probes:  # half-open: probes are in
            self._enter(CircuitState.OPEN if self._failing() else CircuitState.CLOSED)

    def release(self, permit: Permit) -> None:
        """The attempt was not sent or its outcome says nothing (cancelled): free its probe."""
        if permit.probe and permit.generation == self._generation:
            self._probes_out -= 1

    def _failing(self) -> bool:
        failures = sum(self._outcomes)
        return failures >= self._policy.failure_rate * len(self._outcomes)

    def _open_remaining_s(self) -> float:
        return self._opened_at + self._policy.open_ms / 1000 - self._clock()

    def _enter(self, state: CircuitState) -> None:
        self._state = state
        self._generation += 1
        self._outcomes.clear()
        self._probes_out = 0
        if state is CircuitState.OPEN:
            self._opened_at = self._clock()
        if self._on_change is not None:
            self._on_change(state)
