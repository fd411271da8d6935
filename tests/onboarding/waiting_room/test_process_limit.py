"""A process's own cap on admissions, from the latency of the onboarding requests it serves:
none until it has a window, then the shared limit moved by Gradient2, lapsing when the process
sees no such request; both stores admit up to it."""

from __future__ import annotations

import itertools

from neobank.onboarding.waiting_room.limiter import Gradient2Config
from neobank.onboarding.waiting_room.process_limit import STALE_S, ProcessLimit
from tests.onboarding.waiting_room.conftest import FakeClock, RoomFactory

CONFIG = Gradient2Config(limit_initial=20, limit_min=2, limit_max=200, window_samples_min=1)
FAST_S = 0.05
SLOW_S = 0.5  # ten times the usual: the process is overloaded


def windows(
    limit: ProcessLimit, clock: FakeClock, latency_s: float, count: int, **seen: int
) -> list[int | None]:
    """One request a second for `count` seconds (a window completes every other request:
    at least a second long, as a window must be); the caps after each request."""
    caps = []
    for _ in range(count):
        clock.advance(CONFIG.window_s)
        limit.observe(latency_s, **seen)
        caps.append(limit.cap())
    return caps


def test_no_cap_until_a_window_then_it_starts_at_the_shared_limit() -> None:
    clock = FakeClock()
    limit = ProcessLimit(CONFIG, clock)
    assert limit.cap() is None
    limit.observe(FAST_S, active=0, shared_limit=37)  # opens the window
    assert limit.cap() is None
    clock.advance(CONFIG.window_s)
    limit.observe(FAST_S, active=0, shared_limit=37)  # completes it: idle, so no move
    assert limit.cap() == 37


def test_the_cap_falls_when_the_process_slows_down_and_grows_back_when_it_recovers() -> None:
    clock = FakeClock()
    limit = ProcessLimit(CONFIG, clock)
    limit.observe(FAST_S, active=40, shared_limit=40)
    steady = [c or 0 for c in windows(limit, clock, FAST_S, 20, active=40, shared_limit=40)]
    assert steady[-1] > 40  # every slot busy and latency steady: it grows
    slow = [c or 0 for c in windows(limit, clock, SLOW_S, 30, active=40, shared_limit=40)]
    assert all(b <= a for a, b in itertools.pairwise(slow))
    assert slow[-1] < steady[-1] / 2  # overloaded: far fewer sessions let in
    recovered = windows(limit, clock, FAST_S, 40, active=slow[-1], shared_limit=40)
    assert (recovered[-1] or 0) > slow[-1]


def test_the_cap_lapses_without_requests_and_restarts_from_the_shared_limit() -> None:
    clock = FakeClock()
    limit = ProcessLimit(CONFIG, clock)
    limit.observe(FAST_S, active=40, shared_limit=40)
    windows(limit, clock, FAST_S, 20, active=40, shared_limit=40)
    windows(limit, clock, SLOW_S, 30, active=40, shared_limit=40)
    assert (limit.cap() or 0) < 40
    clock.advance(STALE_S + 1)
    assert limit.cap() is None  # an old verdict does not hold admissions down
    limit.observe(FAST_S, active=0, shared_limit=60)
    assert limit.cap() == 60


def test_bad_samples_are_ignored() -> None:
    clock = FakeClock()
    limit = ProcessLimit(CONFIG, clock)
    for bad in (float("nan"), float("inf"), -1.0):
        limit.observe(bad, active=0, shared_limit=10)
        clock.advance(2)
    assert limit.cap() is None


async def test_the_room_admits_up_to_the_process_cap(
    make_room: RoomFactory, clock: FakeClock
) -> None:
    room = make_room(limit=30, limit_min=1)
    first = [await room.take_ticket("signup") for _ in range(30)]
    assert [t.status for t in first] == ["admitted"] * 30
    # Past the warm-up (10 windows), this process's onboarding requests take ten times longer:
    # its cap falls.
    for second in range(70):
        clock.advance(1.0)
        room.observe_onboarding_request(FAST_S if second < 20 else SLOW_S)
    stats = await room.stats()
    assert stats.process_limit is not None and stats.process_limit < 25
    assert stats.shared_limit == 30 and stats.limit == stats.process_limit
    for ticket in first:
        await room.release(ticket.ticket_id)
    later = [await room.take_ticket("signup") for _ in range(30)]
    assert sum(t.status == "admitted" for t in later) == stats.process_limit
    # Once this process sees no onboarding request for a while, the shared limit alone rules.
    clock.advance(STALE_S + 1)
    for ticket in later:
        await room.ticket(ticket.ticket_id)
    stats = await room.stats()
    assert stats.process_limit is None and stats.active == stats.limit == 30
