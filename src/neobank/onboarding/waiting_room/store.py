"""Where the queue lives: the protocol both stores (in-process, Redis) keep, and its rules.

A store does one atomic step per call. `take` and `poll` first free the slots whose TTL ran
out, drop waiting tickets nobody polled for `ticket_idle_s`, then admit the oldest waiting
tickets into the free slots (`floor(limit) - active`), and answer the ticket as it stands.
A `cap` (the calling process's own limit, process_limit.py) lowers the limit for that step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from neobank.onboarding.waiting_room.limiter import LIMIT_INITIAL, LimiterState
from neobank.onboarding.waiting_room.rate import RATE_WINDOW_S, RateSample

__all__ = [
    "SLOT_TTL_S",
    "SWEEP_BATCH_MAX",
    "TICKET_IDLE_S",
    "WAITING_MAX",
    "RoomPolicy",
    "RoomView",
    "StoreStats",
    "StoredTicket",
    "WaitingRoomStore",
]

# An admitted session that is never released (the client went away) gives its slot back after
# this long; the admission token itself lasts 15 minutes, the onboarding that follows longer.
SLOT_TTL_S = 30 * 60
# A waiting ticket not polled for this long is dropped (clients poll every 1 to 10 s).
TICKET_IDLE_S = 5 * 60
WAITING_MAX = 1_000_000
# Idle tickets dropped per step at most, so that one step stays short.
SWEEP_BATCH_MAX = 1_000


@dataclass(frozen=True)
class RoomPolicy:
    slot_ttl_s: float = SLOT_TTL_S
    ticket_idle_s: float = TICKET_IDLE_S
    waiting_max: int = WAITING_MAX
    sweep_batch_max: int = SWEEP_BATCH_MAX
    rate_window_s: int = RATE_WINDOW_S
    limit_initial: int = LIMIT_INITIAL


@dataclass(frozen=True)
class StoredTicket:
    ticket_id: str
    flow: str
    jti: str
    issued_at: float
    admitted_at: float | None


@dataclass(frozen=True)
class RoomView:
    """One ticket as a take or a poll left it, and the room around it."""

    ticket: StoredTicket
    position: int  # waiting tickets ahead of it; 0 once admitted
    admitted_now: int  # tickets (any) this step admitted
    rate: RateSample
    waiting: int
    active: int
    limit: int


@dataclass(frozen=True)
class StoreStats:
    waiting: int
    active: int
    limit: int
    admitted_total: int
    tickets_total: int
    rate: RateSample


class WaitingRoomStore(Protocol):
    async def take(
        self, ticket_id: str, flow: str, jti: str, now: float, *, cap: int | None = None
    ) -> RoomView:
        """Queues a new ticket at the back (raises WaitingRoomFull past `waiting_max`)."""
        ...

    async def poll(self, ticket_id: str, now: float, *, cap: int | None = None) -> RoomView | None:
        """The ticket, after this step's admissions; None if unknown or dropped."""
        ...

    async def release(self, ticket_id: str, now: float) -> None:
        """Frees the ticket's slot (or its place in the queue) and forgets it."""
        ...

    async def stats(self, now: float) -> StoreStats: ...

    async def limiter_state(self, now: float) -> tuple[LimiterState, int]:
        """The shared limiter state and the slots in use now."""
        ...

    async def save_limiter_state(self, state: LimiterState, expected_version: int) -> bool:
        """Writes the state if nobody wrote since `expected_version` was read."""
        ...

    async def aclose(self) -> None: ...
