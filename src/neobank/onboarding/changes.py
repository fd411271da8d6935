"""Long-polls of an onboarding wake when its agency checks move: the jobs `NOTIFY` in the
transaction that records a result, and each API process `LISTEN`s on one connection and
wakes the requests waiting on that onboarding.

Measured reason: on launch day, reads of onboardings waiting for an agency were half of all
requests, and the one-second polling interval was most of the time each admitted person held
a place in the waiting room (`docs/BENCHMARKS.md`). A wait that ends when the step moves
costs one request and no idle second. If the listening connection is lost, waits simply run
to their timeout: answers stay correct, only slower, and the app reconnects on the next wait.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import asyncpg
import structlog

if TYPE_CHECKING:
    from neobank.onboarding.waiting_room import WaitingRoom

__all__ = ["CHANNEL", "ChangeFeed", "notice"]

log = structlog.get_logger(__name__)

CHANNEL = "onboarding_changed"
_NO_TICKET = "-"


def notice(
    onboarding_id: str, *, sample_s: float | None = None, release_ticket: str | None = None
) -> str:
    """The payload announcing a change (send it on `CHANNEL`: `pg_notify` delivers it at
    COMMIT, and only if the transaction commits).

    A job that runs outside the API process and has no shared waiting room (a `neobank
    worker` without Redis) hands the room what it learnt through the notice instead: the
    identity check's turnaround (`sample_s`, for the admission limit) and the ticket whose
    slot a failed onboarding frees. Only the API process of an in-process room acts on them."""
    if sample_s is None:
        return onboarding_id
    return f"{onboarding_id} {sample_s!r} {release_ticket or _NO_TICKET}"


class ChangeFeed:
    """One process's listener: `watch(id)` gives an event set when that onboarding changes.
    With a `room`, the samples and releases that notices carry go to it."""

    def __init__(self, pool: asyncpg.Pool, room: WaitingRoom | None = None) -> None:
        self._pool = pool
        self._room = room
        self._conn: Any = None  # a pool connection held for LISTEN while the feed runs
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._lock = asyncio.Lock()
        self._releases: set[asyncio.Task[None]] = set()

    @property
    def watchers(self) -> int:
        return sum(len(events) for events in self._waiters.values())

    async def ensure_listening(self) -> None:
        """Listen (again, if the connection was lost); harmless when already listening."""
        if self._conn is not None and not self._conn.is_closed():
            return
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed():
                return
            if self._conn is not None:
                await self._release()
            conn = await self._pool.acquire()
            await conn.add_listener(CHANNEL, self._on_notify)
            self._conn = conn

    @contextlib.contextmanager
    def watch(self, onboarding_id: str) -> Iterator[asyncio.Event]:
        event = asyncio.Event()
        self._waiters[onboarding_id].add(event)
        try:
            yield event
        finally:
            events = self._waiters.get(onboarding_id)
            if events is not None:
                events.discard(event)
                if not events:
                    del self._waiters[onboarding_id]

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: object) -> None:
        onboarding_id, *carried = str(payload).split(" ")
        for event in self._waiters.get(onboarding_id, ()):
            event.set()
        if self._room is not None and len(carried) == 2:
            self._take(*carried)

    def _take(self, sample_s: str, release_ticket: str) -> None:
        assert self._room is not None
        with contextlib.suppress(ValueError):
            self._room.observe(float(sample_s))
        if release_ticket != _NO_TICKET:
            task = asyncio.get_running_loop().create_task(self._room.release(release_ticket))
            self._releases.add(task)
            task.add_done_callback(self._releases.discard)

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        with contextlib.suppress(Exception):
            await conn.remove_listener(CHANNEL, self._on_notify)
        with contextlib.suppress(Exception):
            await self._pool.release(conn)

    async def aclose(self) -> None:
        if self._conn is not None:
            await self._release()
        for events in self._waiters.values():
            for event in events:
                event.set()  # let waiters answer now rather than at their timeout
