"""Gradient2: the limit grows while latency holds, shrinks when it rises, stays in its bounds,
and (through the store) is one limit for every room that shares it."""

from __future__ import annotations

import asyncio
import itertools

from neobank.onboarding.waiting_room import MemoryStore, WaitingRoom
from neobank.onboarding.waiting_room.limiter import (
    Gradient2Config,
    LimiterState,
    SampleWindow,
    gradient2,
)
from tests.onboarding.waiting_room.conftest import SIGNING_KEY, FakeClock, RoomFactory

CONFIG = Gradient2Config(limit_initial=100, limit_min=10, limit_max=400)
FAST_S, SLOW_S = 0.2, 1.0


def run(state: LimiterState, rtt_s: float, windows: int, busy: bool = True) -> list[float]:
    """The limits after each of `windows` windows of `rtt_s`, every slot in use if `busy`."""
    limits = []
    for _ in range(windows):
        inflight = int(state.limit) if busy else 0
        state = gradient2(state, rtt_s, inflight, CONFIG)
        limits.append(state.limit)
    return limits


def warmed(rtt_s: float = FAST_S) -> LimiterState:
    state = CONFIG.initial_state()
    for _ in range(CONFIG.warmup_samples):
        state = gradient2(state, rtt_s, 0, CONFIG)  # idle: learns the RTT, keeps the limit
    assert state.limit == 100 and abs(state.long_rtt_s - rtt_s) < 1e-9
    return state


def test_steady_latency_grows_the_limit_up_to_its_ceiling() -> None:
    limits = run(warmed(), FAST_S, 200)
    assert all(b > a for a, b in itertools.pairwise(limits[:40]))
    assert limits[0] < 103  # smoothed: a few per window, not a jump
    assert limits[-1] == CONFIG.limit_max


def test_rising_latency_shrinks_the_limit_down_to_its_floor() -> None:
    state = warmed()
    limits = run(state, SLOW_S, 60)
    assert all(b < a for a, b in zip([state.limit, *limits], limits[:30], strict=False))
    assert limits[0] > 100 * 0.85  # one bad window cuts by a bounded step (gradient >= 0.5)
    assert min(limits) == CONFIG.limit_min and limits[-1] == CONFIG.limit_min


def test_an_idle_room_does_not_move_the_limit() -> None:
    assert run(warmed(), FAST_S, 20, busy=False) == [100.0] * 20
    assert run(warmed(), SLOW_S, 20, busy=False) == [100.0] * 20


def test_latency_back_to_normal_pulls_the_long_rtt_down_faster() -> None:
    state = warmed(rtt_s=1.0)
    after = gradient2(state, 0.1, 0, CONFIG)
    average_only = 1.0 * (1 - 2 / 601) + 0.1 * 2 / 601
    assert after.long_rtt_s < average_only * 0.96


def test_a_window_needs_its_time_and_its_samples() -> None:
    window = SampleWindow(Gradient2Config(window_s=1.0, window_samples_min=3))
    assert window.add(0.1, now=0.0) is None
    assert window.add(0.2, now=0.5) is None
    assert window.add(0.3, now=0.9) is None  # three samples, not yet a second
    assert window.add(0.4, now=1.0) == 0.25
    assert window.add(1.0, now=5.0) is None  # a new window starts


async def fold(samples: list[tuple[WaitingRoom, float]], clock: FakeClock) -> None:
    """One sample a second (a room's window closes on every second sample of its own), then
    every room's folds done."""
    for room, latency_s in samples:
        clock.advance(1.0)
        room.observe(latency_s)
    rooms = {id(room): room for room, _ in samples}.values()
    await asyncio.gather(*(room.flush_samples() for room in rooms))


async def test_observed_latency_moves_the_stored_limit(
    make_room: RoomFactory, clock: FakeClock
) -> None:
    room = make_room(limit=10, limit_min=5, limit_max=20, ticket_idle_s=3600)
    for _ in range(10):
        await room.take_ticket("signup")  # every slot in use: the limit may move
    await fold([(room, FAST_S)] * 20, clock)
    state, active = await room.store.limiter_state(clock.now)
    assert active == 10 and state.samples == 10
    grown = (await room.stats()).limit
    assert grown > 10
    assert (await room.take_ticket("signup")).status == "admitted"  # the room grew
    await fold([(room, 5.0)] * 40, clock)
    assert 5 <= (await room.stats()).limit < 10


def test_observe_ignores_samples_that_are_not_latencies() -> None:
    room = WaitingRoom(MemoryStore(), SIGNING_KEY, limiter=Gradient2Config(window_samples_min=1))
    for bad in (float("nan"), float("inf"), -1.0):
        room.observe(bad)
    assert not room._pending  # nothing folded, nothing to fold
