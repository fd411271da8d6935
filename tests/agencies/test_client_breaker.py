"""The circuit breaker's state machine, driven by a fake clock."""

from __future__ import annotations

import pytest

from neobank.agencies.client import BreakerPolicy, CircuitBreaker, CircuitOpen, CircuitState
from tests.agencies.client_kit import FakeClock

POLICY = BreakerPolicy(window=20, calls_min=10, failure_rate=0.8, open_ms=5_000, half_open_probes=3)


def _breaker(clock: FakeClock, changes: list[CircuitState] | None = None) -> CircuitBreaker:
    on_change = changes.append if changes is not None else None
    return CircuitBreaker("identity", POLICY, clock, on_change)


def _attempt(breaker: CircuitBreaker, *, failed: bool) -> None:
    breaker.record(breaker.acquire(), failed=failed)


def _open(breaker: CircuitBreaker) -> None:
    for _ in range(POLICY.calls_min):
        _attempt(breaker, failed=True)
    assert breaker.state is CircuitState.OPEN


def test_opens_at_the_failure_rate_once_the_window_has_enough_calls() -> None:
    breaker = _breaker(FakeClock())
    for _ in range(POLICY.calls_min - 1):
        _attempt(breaker, failed=True)
    assert breaker.state is CircuitState.CLOSED  # nine failures: too few to judge
    _attempt(breaker, failed=True)
    assert breaker.state is CircuitState.OPEN


def test_a_flaky_agency_keeps_it_closed() -> None:
    breaker = _breaker(FakeClock())
    for n in range(1_000):
        _attempt(breaker, failed=n % 10 < 3)  # 30% failures, in runs of three
    for n in range(100):
        _attempt(breaker, failed=n % 20 < 15)  # 75%: below the 80% threshold
    assert breaker.state is CircuitState.CLOSED
    for failed in [False] * 4 + [True] * 15:
        _attempt(breaker, failed=failed)
    assert breaker.state is CircuitState.CLOSED  # 15 of the last 20 failed
    _attempt(breaker, failed=True)
    assert breaker.state is CircuitState.OPEN  # 16 of the last 20: 80%


def test_open_refuses_until_its_time_is_up_then_lets_probes_through() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(2.0)
    with pytest.raises(CircuitOpen) as refused:
        breaker.acquire()
    assert refused.value.retry_after_s == pytest.approx(3.0)
    assert refused.value.agency == "identity" and refused.value.code == "agency_circuit_open"
    clock.advance(3.0)
    assert breaker.state is CircuitState.HALF_OPEN
    probes = [breaker.acquire() for _ in range(POLICY.half_open_probes)]
    assert all(p.probe for p in probes)
    with pytest.raises(CircuitOpen) as waiting:
        breaker.acquire()  # the probes are out: come back once they have had time to answer
    assert waiting.value.retry_after_s == pytest.approx(POLICY.half_open_wait_ms / 1000)
    assert waiting.value.retry_after_s < POLICY.open_ms / 1000
    for probe in probes:
        breaker.record(probe, failed=False)
    assert breaker.state is CircuitState.CLOSED
    assert not breaker.acquire().probe


def test_failing_probes_open_it_again_for_a_full_period() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(5.0)
    for _ in range(POLICY.half_open_probes):
        _attempt(breaker, failed=True)
    assert breaker.state is CircuitState.OPEN
    clock.advance(4.9)
    assert breaker.state is CircuitState.OPEN
    clock.advance(0.1)
    assert breaker.state is CircuitState.HALF_OPEN


def test_one_unlucky_probe_does_not_keep_a_recovered_agency_out() -> None:
    clock = FakeClock()
    breaker = _breaker(clock)
    _open(breaker)
    clock.advance(5.0)
    _attempt(breaker, failed=True)
    _attempt(breaker, failed=True)
    assert breaker.state is CircuitState.HALF_OPEN  # undecided until all probes answer
    _attempt(breaker, failed=False)
    assert breaker.state is CircuitState.CLOSED


def test_a_released_probe_frees_its_place_and_stale_outcomes_are_ignored() -> None:
    clock = FakeClock()
    changes: list[CircuitState] = []
    breaker = _breaker(clock, changes)
    slow = breaker.acquire()  # sent while closed, answers after the breaker opened
    _open(breaker)
    clock.advance(5.0)
    probes = [breaker.acquire() for _ in range(POLICY.half_open_probes)]
    breaker.release(probes.pop())  # cancelled: says nothing about the agency
    probes.append(breaker.acquire())
    breaker.record(slow, failed=True)  # from another era: not a probe's outcome
    for probe in probes:
        breaker.record(probe, failed=False)
    assert breaker.state is CircuitState.CLOSED
    assert changes == [CircuitState.OPEN, CircuitState.HALF_OPEN, CircuitState.CLOSED]
