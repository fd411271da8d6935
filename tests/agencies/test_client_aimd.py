"""The AIMD limiter's control law, driven by a fake clock (and, at the end, the simulator's own
token bucket on the same clock)."""

from __future__ import annotations

import asyncio

import pytest

from neobank.agencies.client import AgencyThrottled, AimdLimiter, RateLimitPolicy
from neobank.agencies.simulator.capacity import TokenBucket
from tests.agencies.client_kit import FakeClock

POLICY = RateLimitPolicy(
    start_rate_per_s=20,
    min_rate_per_s=1,
    max_rate_per_s=200,
    increase_per_s=5,
    decrease_factor=0.85,
    slow_start_doubling_ms=1_000,
    slow_start_decrease_factor=0.5,
    queue_wait_max_ms=10_000,
)


def _limiter(clock: FakeClock, policy: RateLimitPolicy = POLICY) -> AimdLimiter:
    return AimdLimiter("identity", policy, clock, clock.sleep)


async def test_callers_are_paced_at_the_rate() -> None:
    clock = FakeClock()
    limiter = _limiter(clock, RateLimitPolicy(start_rate_per_s=20, slow_start_doubling_ms=10**9))
    start = clock()
    slots = [await limiter.acquire() - start for _ in range(5)]
    assert slots == pytest.approx([0.0, 0.05, 0.10, 0.15, 0.20])


async def test_slow_start_doubles_only_while_callers_queue() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    for _ in range(20):  # one caller every 0.1 s: the limiter (20/s) is not the bottleneck
        await limiter.acquire()
        clock.advance(0.1)
    assert limiter.rate_per_s == 20
    deadline = clock() + 2.0
    while clock() < deadline:  # back to back: every caller waits its turn
        await limiter.acquire()
    assert limiter.rate_per_s == pytest.approx(80, rel=0.05)


async def test_a_429_halves_in_slow_start_then_decreases_gently_once_per_round() -> None:
    clock = FakeClock()
    policy = RateLimitPolicy(start_rate_per_s=100, increase_per_s=0, decrease_factor=0.85)
    limiter = _limiter(clock, policy)
    sent = [await limiter.acquire() for _ in range(3)]
    clock.advance(1.0)
    limiter.throttled_at(sent[0])
    assert (limiter.rate_per_s, limiter.slow_start) == (pytest.approx(51, abs=1), False)
    before = limiter.rate_per_s
    limiter.throttled_at(sent[1])  # sent before the decrease: the same news
    assert limiter.rate_per_s == before
    later = await limiter.acquire()
    limiter.throttled_at(later)
    assert limiter.rate_per_s == pytest.approx(before * 0.85)
    assert (limiter.throttled, limiter.decreases) == (3, 2)


async def test_additive_increase_after_slow_start() -> None:
    clock = FakeClock()
    limiter = _limiter(clock)
    limiter.throttled_at(await limiter.acquire())  # leaves slow start at 10/s
    deadline = clock() + 4.0
    while clock() < deadline:
        await limiter.acquire()
    assert limiter.rate_per_s == pytest.approx(10 + 4 * 5, abs=1)


async def test_the_rate_stays_within_its_floor_and_ceiling() -> None:
    clock = FakeClock()
    falling = RateLimitPolicy(start_rate_per_s=4, min_rate_per_s=2, increase_per_s=0)
    limiter = _limiter(clock, falling)
    for _ in range(5):
        limiter.throttled_at(await limiter.acquire())
    assert limiter.rate_per_s == 2
    clock_up = FakeClock()
    rising = _limiter(clock_up, RateLimitPolicy(start_rate_per_s=100, max_rate_per_s=150))
    deadline = clock_up() + 5.0
    while clock_up() < deadline:
        await rising.acquire()
    assert rising.rate_per_s == 150


async def test_callers_beyond_the_longest_wait_are_refused_at_once() -> None:
    clock = FakeClock()
    gate = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        await gate.wait()
        await clock.sleep(seconds)

    policy = RateLimitPolicy(start_rate_per_s=2, queue_wait_max_ms=900)
    limiter = AimdLimiter("identity", policy, clock, held_sleep)
    await limiter.acquire()  # the first goes at once; the next ones must wait
    waiting = [asyncio.create_task(limiter.acquire()) for _ in range(2)]
    await asyncio.sleep(0)
    with pytest.raises(AgencyThrottled) as refused:
        await asyncio.wait_for(limiter.acquire(), 1)  # two ahead at 2/s: a second's wait
    assert refused.value.code == "agency_throttled"
    assert refused.value.retry_after_s == pytest.approx(1.0)
    gate.set()
    await asyncio.wait_for(asyncio.gather(*waiting), 1)


async def test_against_a_token_bucket_it_takes_the_cap_with_few_429s() -> None:
    """One caller that always has work, against the simulator's own 50/s bucket, for a minute
    of fake time: the limiter finds the cap, uses >= 95% of it, and < 3% of sends are 429."""
    clock = FakeClock()
    limiter = _limiter(clock, RateLimitPolicy())
    bucket = TokenBucket(50, clock)
    accepted = throttled = 0
    start = clock()
    while clock() - start < 60:
        sent_at = await limiter.acquire()
        if bucket.try_take() is None:
            accepted += 1
        else:
            throttled += 1
            limiter.throttled_at(sent_at)
    assert accepted / 60 >= 0.95 * 50
    assert throttled / (accepted + throttled) < 0.03
    assert 40 <= limiter.rate_per_s <= 60
