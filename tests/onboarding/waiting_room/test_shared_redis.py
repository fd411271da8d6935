"""Two rooms on one Redis prefix stand for two bank processes: one FIFO queue, one set of
slots, one limit, whichever process a client or a job happens to reach."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest

from neobank.onboarding.waiting_room import (
    Gradient2Config,
    RedisStore,
    RoomPolicy,
    WaitingRoom,
    WaitingRoomUnavailable,
    build_waiting_room,
)
from tests.onboarding.waiting_room.conftest import REDIS_URL, SIGNING_KEY, FakeClock
from tests.onboarding.waiting_room.test_limiter import FAST_S, fold

LIMIT = 4


@pytest.fixture
async def rooms(clock: FakeClock, redis_prefix: str) -> AsyncIterator[list[WaitingRoom]]:
    config = Gradient2Config(limit_initial=LIMIT, limit_min=2, limit_max=40, window_samples_min=1)
    built = [
        build_waiting_room(
            redis_url=REDIS_URL,
            signing_key=SIGNING_KEY,
            policy=RoomPolicy(ticket_idle_s=3600),
            limiter=config,
            key_prefix=redis_prefix,
            clock=clock,
        )
        for _ in range(2)
    ]
    yield built
    assert isinstance(built[0].store, RedisStore)
    assert await built[0].store.delete_all() > 0
    for room in built:
        await room.aclose()


async def test_two_processes_share_one_fifo_queue(rooms: list[WaitingRoom]) -> None:
    a, b = rooms
    taken = [
        await room.take_ticket("signup") for room in itertools.islice(itertools.cycle(rooms), 10)
    ]
    assert [t.status for t in taken] == ["admitted"] * LIMIT + ["waiting"] * 6
    assert [t.position for t in taken[LIMIT:]] == [0, 1, 2, 3, 4, 5]
    # Each process sees the other's tickets where they are.
    for i, ticket in enumerate(taken[LIMIT:]):
        seen_from = b if i % 2 == 0 else a
        assert (await seen_from.ticket(ticket.ticket_id)).position == i
    # A slot freed in one process goes to the head of the queue, polled through the other.
    await a.release(taken[1].ticket_id)
    assert (await b.ticket(taken[9].ticket_id)).position == 4
    head = await a.ticket(taken[LIMIT].ticket_id)
    assert head.status == "admitted"
    assert b.verify_admission(head.admission_token or "").ticket_id == head.ticket_id
    stats = await b.stats()
    assert (stats.waiting, stats.active, stats.tickets_total, stats.admitted_total) == (
        5,
        LIMIT,
        10,
        LIMIT + 1,
    )


async def test_concurrent_takes_in_two_processes_never_pass_the_limit(
    rooms: list[WaitingRoom],
) -> None:
    taken = await asyncio.gather(*(rooms[i % 2].take_ticket("signup") for i in range(30)))
    assert sum(t.status == "admitted" for t in taken) == LIMIT
    assert sorted(t.position for t in taken if t.status == "waiting") == list(range(26))


async def test_samples_from_both_processes_drive_one_limit(
    rooms: list[WaitingRoom], clock: FakeClock
) -> None:
    a, b = rooms
    for _ in range(LIMIT):
        await a.take_ticket("signup")  # every slot in use: the limit may move
    # Each room's windows close on its own every other sample: 10 windows each.
    await fold([(a, FAST_S), (b, FAST_S)] * 20, clock)
    state, active = await b.store.limiter_state(clock.now)
    assert active == LIMIT and state.samples == 20  # no window lost to the other's writes
    assert (await a.stats()).limit == (await b.stats()).limit > LIMIT
    assert (await b.take_ticket("signup")).status == "admitted"


async def test_a_redis_that_does_not_answer_is_a_503_and_the_limit_just_waits(
    clock: FakeClock,
) -> None:
    room = build_waiting_room(
        redis_url="redis://127.0.0.1:1/0",
        signing_key=SIGNING_KEY,
        limiter=Gradient2Config(window_samples_min=1),
        clock=clock,
    )
    try:
        with pytest.raises(WaitingRoomUnavailable) as raised:
            await room.take_ticket("signup")
        assert (raised.value.status, raised.value.code) == (503, "waiting_room_unavailable")
        with pytest.raises(WaitingRoomUnavailable):
            await room.ticket("a" * 22)
        room.observe(0.1)
        clock.advance(2)
        room.observe(0.1)
        await room.flush_samples()  # logged and dropped, not raised
    finally:
        await room.aclose()
