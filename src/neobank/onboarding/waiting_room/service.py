"""The waiting room: FIFO tickets in front of sign-up, admitted as fast as an adaptive
concurrency limit allows, each admission proven by a signed token.

The limit's state lives in the store, so that in Redis mode every process shares it: a process
gathers its own latency samples into windows (`observe`), and folds each finished window into
the shared state by read, compute (Gradient2, limiter.py), compare-and-set; on a conflict it
reads again. All processes' samples thus drive one limit, and admissions read that limit.
Each process also caps it by a limit of its own, driven by the latency of the onboarding
requests it serves (`observe_onboarding_request`, process_limit.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace

import structlog

from neobank.onboarding.waiting_room import metrics
from neobank.onboarding.waiting_room.errors import (
    TicketNotFound,
    UnknownFlow,
    WaitingRoomFull,
    WaitingRoomUnavailable,
)
from neobank.onboarding.waiting_room.limiter import Gradient2Config, SampleWindow, gradient2
from neobank.onboarding.waiting_room.memory_store import MemoryStore
from neobank.onboarding.waiting_room.process_limit import ProcessLimit
from neobank.onboarding.waiting_room.rate import (
    POLL_AFTER_MAX_MS,
    eta_seconds,
    poll_after_ms,
    recheck_after_s,
)
from neobank.onboarding.waiting_room.redis_store import KEY_PREFIX, RedisStore
from neobank.onboarding.waiting_room.schemas import Admission, Ticket, WaitingRoomStats
from neobank.onboarding.waiting_room.store import RoomPolicy, RoomView, WaitingRoomStore
from neobank.onboarding.waiting_room.tokens import AdmissionSigner

__all__ = ["FLOWS", "WaitingRoom", "build_waiting_room"]

log = structlog.get_logger(__name__)

FLOWS = frozenset({"signup"})
TICKET_ID_BYTES = 16  # 128 random bits: a ticket id cannot be guessed
_TICKET_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")
LIMITER_CAS_ATTEMPTS_MAX = 5
# A long-polled ticket this close to the front (ETA in seconds) is also read again at once when
# this process frees a slot; farther back it only sleeps (waking 3,000 waiters per release
# would cost more than it saves).
NEAR_HEAD_ETA_S = 2
# Finished windows waiting to be folded into the shared limit; older ones are dropped.
PENDING_WINDOWS_MAX = 16

Clock = Callable[[], float]


class WaitingRoom:
    def __init__(
        self,
        store: WaitingRoomStore,
        signing_key: str,
        *,
        limiter: Gradient2Config | None = None,
        clock: Clock = time.time,
    ) -> None:
        self.store = store
        self._signer = AdmissionSigner(signing_key)
        self._config = limiter or Gradient2Config()
        self._clock = clock
        self._window = SampleWindow(self._config)
        self._pending: deque[float] = deque(maxlen=PENDING_WINDOWS_MAX)
        self._flush_task: asyncio.Task[None] | None = None
        # Set (and replaced) each time this process frees a slot: wakes the near-head waits.
        self._slot_freed = asyncio.Event()
        self._process_limit = ProcessLimit(self._config, clock)
        # The room as the last take or poll saw it (for the process limit's windows).
        self._seen_active = 0
        self._seen_limit = self._config.limit_initial

    @property
    def shared(self) -> bool:
        """Whether other processes see this room (Redis), or it lives in this process only."""
        return not isinstance(self.store, MemoryStore)

    async def take_ticket(self, flow: str) -> Ticket:
        if flow not in FLOWS:
            raise UnknownFlow(f"unknown flow {flow!r}: the waiting room queues {sorted(FLOWS)}")
        ticket_id = secrets.token_urlsafe(TICKET_ID_BYTES)
        jti = secrets.token_urlsafe(TICKET_ID_BYTES)
        try:
            view = await self.store.take(
                ticket_id, flow, jti, self._clock(), cap=self._process_limit.cap()
            )
        except WaitingRoomFull:
            metrics.REFUSED_FULL.inc()
            raise
        metrics.TICKETS.inc()
        return self._ticket(view)

    async def ticket(self, ticket_id: str) -> Ticket:
        """The ticket as it stands now; polling it is also what admits the queue's head."""
        if not _TICKET_ID.fullmatch(ticket_id):
            raise TicketNotFound()
        view = await self.store.poll(ticket_id, self._clock(), cap=self._process_limit.cap())
        if view is None:
            raise TicketNotFound()
        return self._ticket(view)

    async def wait(self, ticket_id: str, wait_s: float) -> Ticket:
        """A long poll: the ticket as soon as it is admitted, or as it stands after `wait_s`.

        Meanwhile the ticket is read again in this process (`recheck_after_s` of its ETA
        apart, and at once near the head when this process frees a slot); each read is a poll,
        so it also admits the head into free slots, as a client's poll would."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait_s
        ticket = await self.ticket(ticket_id)
        while ticket.status == "waiting":
            left_s = deadline - loop.time()
            if left_s <= 0:
                break
            pause_s = min(left_s, recheck_after_s(ticket.eta_seconds))
            if ticket.eta_seconds <= NEAR_HEAD_ETA_S:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._slot_freed.wait(), pause_s)
            else:
                await asyncio.sleep(pause_s)
            ticket = await self.ticket(ticket_id)
        return ticket

    def verify_admission(self, token: str) -> Admission:
        return self._signer.verify(token, self._clock())

    async def release(self, ticket_id: str) -> None:
        """The admitted session is over (finished or failed): its slot is free for the next."""
        if _TICKET_ID.fullmatch(ticket_id):
            await self.store.release(ticket_id, self._clock())
            freed, self._slot_freed = self._slot_freed, asyncio.Event()
            freed.set()

    def observe(self, latency_s: float) -> None:
        """A latency sample of admitted work (the identity check's turnaround)."""
        if not math.isfinite(latency_s) or latency_s < 0:
            log.warning("waiting_room.bad_sample", latency_s=latency_s)
            return
        mean_s = self._window.add(latency_s, self._clock())
        if mean_s is None:
            return
        self._pending.append(mean_s)
        if self._flush_task is not None and not self._flush_task.done():
            return  # the running flush picks this window up before it ends
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop here: `flush_samples()` folds it in later
        self._flush_task = loop.create_task(self._drain())

    def observe_onboarding_request(self, latency_s: float) -> None:
        """The latency of an onboarding request this process served (or refused), from its
        arrival: it drives this process's own cap on admissions."""
        self._process_limit.observe(
            latency_s, active=self._seen_active, shared_limit=self._seen_limit
        )
        cap = self._process_limit.cap()
        metrics.PROCESS_LIMIT.set(-1 if cap is None else cap)

    async def flush_samples(self) -> None:
        """Folds the finished sample windows into the shared limit (after any fold running)."""
        if self._flush_task is not None:
            await asyncio.gather(self._flush_task, return_exceptions=True)
        await self._drain()

    async def _drain(self) -> None:
        while self._pending:
            windows = list(self._pending)
            self._pending.clear()
            try:
                await self._fold(windows)
            except WaitingRoomUnavailable as exc:
                log.warning("waiting_room.limit_not_updated", error=str(exc))

    async def stats(self) -> WaitingRoomStats:
        stats = await self.store.stats(self._clock())
        metrics.WAITING.set(stats.waiting)
        metrics.ACTIVE.set(stats.active)
        cap = self._process_limit.cap()
        limit = self._in_force(stats.limit)
        metrics.LIMIT.set(limit)
        return WaitingRoomStats(
            waiting=stats.waiting,
            active=stats.active,
            limit=limit,
            shared_limit=stats.limit,
            process_limit=cap,
            admitted_total=stats.admitted_total,
            tickets_total=stats.tickets_total,
            admission_rate_per_s=round(stats.rate.measured_per_s, 3),
        )

    async def aclose(self) -> None:
        if self._flush_task is not None:
            await asyncio.gather(self._flush_task, return_exceptions=True)
        await self.store.aclose()

    async def _fold(self, windows: list[float]) -> None:
        """Read, compute, compare-and-set; a conflict means another process just wrote, so
        read its state and fold these windows into that one."""
        for _ in range(LIMITER_CAS_ATTEMPTS_MAX):
            state, active = await self.store.limiter_state(self._clock())
            updated = state
            for rtt_s in windows:
                updated = gradient2(updated, rtt_s, active, self._config)
            if await self.store.save_limiter_state(updated, state.version):
                metrics.LIMIT.set(math.floor(updated.limit))
                return
        log.warning(
            "waiting_room.limit_contended", attempts=LIMITER_CAS_ATTEMPTS_MAX, windows=len(windows)
        )

    def _in_force(self, shared_limit: int) -> int:
        """The limit admissions in this process use: the shared one, capped by this one's."""
        cap = self._process_limit.cap()
        return shared_limit if cap is None else min(shared_limit, cap)

    def _ticket(self, view: RoomView) -> Ticket:
        self._seen_active, self._seen_limit = view.active, view.limit
        metrics.WAITING.set(view.waiting)
        metrics.ACTIVE.set(view.active)
        metrics.LIMIT.set(self._in_force(view.limit))
        if view.admitted_now:
            metrics.ADMISSIONS.inc(view.admitted_now)
        stored = view.ticket
        if stored.admitted_at is not None:
            token = self._signer.sign(
                ticket_id=stored.ticket_id,
                jti=stored.jti,
                flow=stored.flow,
                admitted_at=stored.admitted_at,
            )
            return Ticket(
                ticket_id=stored.ticket_id,
                status="admitted",
                position=0,
                eta_seconds=0,
                poll_after_ms=POLL_AFTER_MAX_MS,
                issued_at=stored.issued_at,
                admitted_at=stored.admitted_at,
                admission_token=token,
            )
        eta_s = eta_seconds(view.position, view.rate)
        return Ticket(
            ticket_id=stored.ticket_id,
            status="waiting",
            position=view.position,
            eta_seconds=eta_s,
            poll_after_ms=poll_after_ms(eta_s),
            issued_at=stored.issued_at,
        )


def build_waiting_room(
    *,
    redis_url: str | None,
    signing_key: str,
    policy: RoomPolicy | None = None,
    limiter: Gradient2Config | None = None,
    key_prefix: str = KEY_PREFIX,
    clock: Clock = time.time,
) -> WaitingRoom:
    """An in-process room without `redis_url`; with it, a room shared by every process that
    uses the same Redis and `key_prefix`. Nothing connects until the first call."""
    config = limiter or Gradient2Config()
    policy = replace(policy or RoomPolicy(), limit_initial=config.limit_initial)
    store: WaitingRoomStore
    if redis_url is None:
        store = MemoryStore(policy)
    else:
        store = RedisStore(
            redis_url, policy, key_prefix=key_prefix, server_clock=clock is time.time
        )
    return WaitingRoom(store, signing_key, limiter=config, clock=clock)
