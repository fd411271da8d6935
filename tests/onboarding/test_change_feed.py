"""The onboarding change feed: long polls wake on a job's notice, and a notice from a worker
without a shared room hands the API process's room its sample and its release."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any, cast

import asyncpg
import pytest

from neobank.db.pool import create_pool
from neobank.onboarding.changes import CHANNEL, ChangeFeed, notice
from neobank.onboarding.waiting_room import WaitingRoom

WAIT_S = 5.0


class RecordingRoom:
    """What the feed calls on a room."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.released: list[str] = []
        self.changed = asyncio.Event()

    def observe(self, latency_s: float) -> None:
        self.samples.append(latency_s)
        self.changed.set()

    async def release(self, ticket_id: str) -> None:
        self.released.append(ticket_id)
        self.changed.set()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await create_pool(database_url, min_size=1, max_size=3)
    yield created
    await created.close()


async def _notify(pool: asyncpg.Pool, onboarding_id: str, **carried: Any) -> None:
    await pool.execute("SELECT pg_notify($1, $2)", CHANNEL, notice(onboarding_id, **carried))


async def test_a_notice_wakes_the_watchers_of_its_onboarding(pool: asyncpg.Pool) -> None:
    feed = ChangeFeed(pool)
    await feed.ensure_listening()
    watched, other = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        with feed.watch(watched) as event, feed.watch(other) as not_this_one:
            await _notify(pool, watched, sample_s=0.4, release_ticket=None)
            await asyncio.wait_for(event.wait(), WAIT_S)
            assert not not_this_one.is_set()
    finally:
        await feed.aclose()


async def test_a_workers_notice_gives_the_room_its_sample_and_release(pool: asyncpg.Pool) -> None:
    room = RecordingRoom()
    feed = ChangeFeed(pool, cast(WaitingRoom, room))
    await feed.ensure_listening()
    try:
        await _notify(pool, str(uuid.uuid4()))  # an in-process job's notice: nothing carried
        await _notify(pool, str(uuid.uuid4()), sample_s=1.25, release_ticket=None)
        await _notify(pool, str(uuid.uuid4()), sample_s=0.5, release_ticket="ticket-abc")
        async with asyncio.timeout(WAIT_S):
            while len(room.samples) < 2 or not room.released:
                room.changed.clear()
                await room.changed.wait()
        assert room.samples == [1.25, 0.5]
        assert room.released == ["ticket-abc"]
    finally:
        await feed.aclose()


async def test_a_feed_without_a_room_ignores_what_notices_carry(pool: asyncpg.Pool) -> None:
    feed = ChangeFeed(pool)  # an API process whose room is shared through Redis
    await feed.ensure_listening()
    onboarding_id = str(uuid.uuid4())
    try:
        with feed.watch(onboarding_id) as event:
            await _notify(pool, onboarding_id, sample_s=2.0, release_ticket="t")
            await asyncio.wait_for(event.wait(), WAIT_S)
    finally:
        await feed.aclose()
