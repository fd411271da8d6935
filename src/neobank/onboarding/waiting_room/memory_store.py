"""The in-process store: one process, no Redis (development, tests, a single-process bank).

Each step runs under one asyncio lock (and never awaits inside it), so a take or a poll and
the admissions it makes are atomic, as the Redis store's Lua scripts are.
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections import OrderedDict
from dataclasses import dataclass, replace

from neobank.onboarding.waiting_room.errors import WaitingRoomFull
from neobank.onboarding.waiting_room.limiter import LimiterState
from neobank.onboarding.waiting_room.rate import AdmissionCounter
from neobank.onboarding.waiting_room.store import RoomPolicy, RoomView, StoredTicket, StoreStats

__all__ = ["MemoryStore"]

FULL_RETRY_AFTER_S = 60


@dataclass
class _Record:
    ticket: StoredTicket
    seq: int


class MemoryStore:
    def __init__(self, policy: RoomPolicy | None = None) -> None:
        self._policy = policy or RoomPolicy()
        self._lock = asyncio.Lock()
        self._tickets: dict[str, _Record] = {}
        # Waiting tickets in FIFO order: their sequence numbers, sorted, read from `_head`
        # (popping the front is then O(1); the list is compacted now and then).
        self._order: list[int] = []
        self._head = 0
        self._by_seq: dict[int, str] = {}
        self._seen: OrderedDict[str, float] = OrderedDict()  # least recently polled first
        self._active: OrderedDict[str, float] = OrderedDict()  # slot expiry; one TTL: FIFO
        self._rate = AdmissionCounter(self._policy.rate_window_s)
        self._limiter = LimiterState(float(self._policy.limit_initial), 0.0, 0)
        self._tickets_total = 0
        self._admitted_total = 0

    async def take(
        self, ticket_id: str, flow: str, jti: str, now: float, *, cap: int | None = None
    ) -> RoomView:
        async with self._lock:
            self._expire(now)
            if self._waiting() >= self._policy.waiting_max:
                raise WaitingRoomFull(FULL_RETRY_AFTER_S)
            self._tickets_total += 1
            seq = self._tickets_total
            self._tickets[ticket_id] = _Record(StoredTicket(ticket_id, flow, jti, now, None), seq)
            self._order.append(seq)
            self._by_seq[seq] = ticket_id
            self._seen[ticket_id] = now
            return self._view(ticket_id, self._admit(now, cap), now)

    async def poll(self, ticket_id: str, now: float, *, cap: int | None = None) -> RoomView | None:
        async with self._lock:
            self._expire(now)
            if ticket_id not in self._tickets:
                return None
            if ticket_id in self._seen:
                self._seen[ticket_id] = now
                self._seen.move_to_end(ticket_id)
            return self._view(ticket_id, self._admit(now, cap), now)

    async def release(self, ticket_id: str, now: float) -> None:
        async with self._lock:
            self._active.pop(ticket_id, None)
            self._forget(ticket_id)

    async def stats(self, now: float) -> StoreStats:
        async with self._lock:
            self._expire(now)
            return StoreStats(
                waiting=self._waiting(),
                active=len(self._active),
                limit=math.floor(self._limiter.limit),
                admitted_total=self._admitted_total,
                tickets_total=self._tickets_total,
                rate=self._rate.sample(now),
            )

    async def limiter_state(self, now: float) -> tuple[LimiterState, int]:
        async with self._lock:
            self._expire(now)
            return self._limiter, len(self._active)

    async def save_limiter_state(self, state: LimiterState, expected_version: int) -> bool:
        async with self._lock:
            if self._limiter.version != expected_version:
                return False
            self._limiter = replace(state, version=expected_version + 1)
            return True

    async def aclose(self) -> None:
        return None

    def _waiting(self) -> int:
        return len(self._order) - self._head

    def _expire(self, now: float) -> None:
        """Frees slots past their TTL and drops tickets nobody polled for a while."""
        while self._active:
            ticket_id, expires_at = next(iter(self._active.items()))
            if expires_at > now:
                break
            del self._active[ticket_id]
            self._forget(ticket_id)
        cutoff = now - self._policy.ticket_idle_s
        for _ in range(self._policy.sweep_batch_max):
            if not self._seen:
                break
            ticket_id, last_seen = next(iter(self._seen.items()))
            if last_seen > cutoff:
                break
            self._forget(ticket_id)

    def _admit(self, now: float, cap: int | None) -> int:
        limit = math.floor(self._limiter.limit)
        free = (limit if cap is None else min(limit, cap)) - len(self._active)
        admitted = 0
        while admitted < free and self._waiting():
            seq = self._order[self._head]
            self._head += 1
            ticket_id = self._by_seq.pop(seq)
            self._seen.pop(ticket_id, None)
            record = self._tickets[ticket_id]
            record.ticket = replace(record.ticket, admitted_at=now)
            self._active[ticket_id] = now + self._policy.slot_ttl_s
            admitted += 1
        if self._head > len(self._order) // 2:
            del self._order[: self._head]
            self._head = 0
        if admitted:
            self._admitted_total += admitted
            self._rate.add(now, admitted)
        return admitted

    def _forget(self, ticket_id: str) -> None:
        record = self._tickets.pop(ticket_id, None)
        self._seen.pop(ticket_id, None)
        if record is None or self._by_seq.pop(record.seq, None) is None:
            return
        index = bisect.bisect_left(self._order, record.seq, self._head)
        del self._order[index]

    def _view(self, ticket_id: str, admitted_now: int, now: float) -> RoomView:
        record = self._tickets[ticket_id]
        position = 0
        if record.ticket.admitted_at is None:
            position = bisect.bisect_left(self._order, record.seq, self._head) - self._head
        return RoomView(
            ticket=record.ticket,
            position=position,
            admitted_now=admitted_now,
            rate=self._rate.sample(now),
            waiting=self._waiting(),
            active=len(self._active),
            limit=math.floor(self._limiter.limit),
        )
