"""A controllable clock and rooms over both stores: in-process, and the real Redis at
redis://127.0.0.1:6379 under a key prefix of the test's own (deleted afterwards)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from neobank.onboarding.waiting_room import (
    Gradient2Config,
    RedisStore,
    RoomPolicy,
    WaitingRoom,
    build_waiting_room,
)

REDIS_URL = "redis://127.0.0.1:6379/0"
SIGNING_KEY = "test-signing-key-0123456789abcdef"


class FakeClock:
    """Epoch seconds that move only when told (starts on a whole second of the real time, so
    that the Redis hashes' own TTLs, in real time, never run out during a test)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


RoomFactory = Callable[..., WaitingRoom]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def redis_prefix() -> str:
    return f"test:wr:{uuid.uuid4().hex}:"


@pytest.fixture
async def make_room(
    backend: str, clock: FakeClock, redis_prefix: str
) -> AsyncIterator[RoomFactory]:
    """Builds rooms on this test's backend; every room built shares the one Redis prefix, as
    the processes of one bank share its queue."""
    rooms: list[WaitingRoom] = []

    def build(
        *, limit: int = 3, limit_min: int = 1, limit_max: int = 50, **policy: Any
    ) -> WaitingRoom:
        config = Gradient2Config(
            limit_initial=limit,
            limit_min=limit_min,
            limit_max=limit_max,
            window_samples_min=1,
        )
        room = build_waiting_room(
            redis_url=REDIS_URL if backend == "redis" else None,
            signing_key=SIGNING_KEY,
            policy=RoomPolicy(**policy),
            limiter=config,
            key_prefix=redis_prefix,
            clock=clock,
        )
        rooms.append(room)
        return room

    yield build
    deleted = 0
    for room in rooms:
        if isinstance(room.store, RedisStore):
            deleted += await room.store.delete_all()
        await room.aclose()
    assert backend == "memory" or deleted > 0, "the Redis store was never written to"
