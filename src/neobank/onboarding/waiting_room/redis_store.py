"""The Redis store: one queue shared by every bank process (redis.asyncio, Lua scripts).

One Redis instance, not a cluster: the scripts name ticket keys they build themselves. All keys
start with `key_prefix`, so tests and several rooms can share a server.
"""

from __future__ import annotations

import math
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from neobank.onboarding.waiting_room import redis_scripts
from neobank.onboarding.waiting_room.errors import WaitingRoomFull, WaitingRoomUnavailable
from neobank.onboarding.waiting_room.limiter import LimiterState
from neobank.onboarding.waiting_room.rate import RateSample, span_s
from neobank.onboarding.waiting_room.store import RoomPolicy, RoomView, StoredTicket, StoreStats

__all__ = ["KEY_PREFIX", "RedisStore"]

KEY_PREFIX = "neobank:wr:"
REDIS_CONNECTIONS_MAX = 32
REDIS_TIMEOUT_S = 2.0
FULL_RETRY_AFTER_S = 60
# A waiting ticket's hash outlives its idle limit, so the sweep (by score) always finds it.
_WAITING_TTL_FACTOR = 2


class RedisStore:
    def __init__(
        self,
        url: str,
        policy: RoomPolicy | None = None,
        *,
        key_prefix: str = KEY_PREFIX,
        server_clock: bool = False,
    ) -> None:
        self._policy = policy or RoomPolicy()
        # Redis's clock rather than each process's for queue times (tests pass a fake clock).
        self._server_clock = server_clock
        self._prefix = key_prefix
        pool = aioredis.BlockingConnectionPool.from_url(
            url,
            max_connections=REDIS_CONNECTIONS_MAX,
            timeout=REDIS_TIMEOUT_S,
            socket_timeout=REDIS_TIMEOUT_S,
            socket_connect_timeout=REDIS_TIMEOUT_S,
            decode_responses=True,
        )
        self._redis: aioredis.Redis = aioredis.Redis.from_pool(pool)  # closes the pool with it
        self._enter = self._redis.register_script(redis_scripts.ENTER)
        self._stats = self._redis.register_script(redis_scripts.STATS)
        self._release = self._redis.register_script(redis_scripts.RELEASE)
        self._save_limiter = self._redis.register_script(redis_scripts.SAVE_LIMITER)
        names = ("queue", "seen", "active", "limiter", "rate", "totals")
        self._keys = [key_prefix + name for name in names]

    @property
    def key_prefix(self) -> str:
        return self._prefix

    def _args(self, now: float) -> list[Any]:
        p = self._policy
        waiting_ttl_s = math.ceil(p.ticket_idle_s * _WAITING_TTL_FACTOR)
        return [
            "server" if self._server_clock else repr(now),
            repr(float(p.slot_ttl_s)),
            repr(float(p.ticket_idle_s)),
            p.sweep_batch_max,
            p.rate_window_s,
            p.limit_initial,
            self._prefix + "t:",
            waiting_ttl_s,
        ]

    async def _run(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except RedisError as exc:
            raise WaitingRoomUnavailable(str(exc)) from exc

    async def take(
        self, ticket_id: str, flow: str, jti: str, now: float, *, cap: int | None = None
    ) -> RoomView:
        args = [*self._args(now), "take", ticket_id, flow, jti, self._policy.waiting_max]
        args.append("" if cap is None else cap)
        reply = await self._run(self._enter, self._keys, args)
        if reply[0] == "full":
            raise WaitingRoomFull(FULL_RETRY_AFTER_S)
        return self._view(ticket_id, reply, now)

    async def poll(self, ticket_id: str, now: float, *, cap: int | None = None) -> RoomView | None:
        args = [*self._args(now), "poll", ticket_id, "", "", self._policy.waiting_max]
        args.append("" if cap is None else cap)
        reply = await self._run(self._enter, self._keys, args)
        return None if reply[0] == "missing" else self._view(ticket_id, reply, now)

    async def release(self, ticket_id: str, now: float) -> None:
        keys = [*self._keys[:3], f"{self._prefix}t:{ticket_id}"]
        await self._run(self._release, keys, [ticket_id])

    async def stats(self, now: float) -> StoreStats:
        reply = await self._run(self._stats, self._keys, self._args(now))
        waiting, active, limit, admitted_total, tickets_total, count, oldest = reply
        return StoreStats(
            waiting=int(waiting),
            active=int(active),
            limit=int(limit),
            admitted_total=int(admitted_total),
            tickets_total=int(tickets_total),
            rate=self._rate(count, oldest, now),
        )

    async def limiter_state(self, now: float) -> tuple[LimiterState, int]:
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hmget(self._keys[3], ["limit", "long_rtt_s", "samples", "version"])
                pipe.zcount(self._keys[2], f"({now!r}", "+inf")
                (limit, long_rtt_s, samples, version), active = await pipe.execute()
        except RedisError as exc:
            raise WaitingRoomUnavailable(str(exc)) from exc
        state = LimiterState(
            limit=float(limit) if limit is not None else float(self._policy.limit_initial),
            long_rtt_s=float(long_rtt_s or 0.0),
            samples=int(samples or 0),
            version=int(version or 0),
        )
        return state, int(active)

    async def save_limiter_state(self, state: LimiterState, expected_version: int) -> bool:
        args = [expected_version, repr(state.limit), repr(state.long_rtt_s), state.samples]
        return bool(await self._run(self._save_limiter, self._keys[3:4], args))

    async def delete_all(self) -> int:
        """Deletes every key under the prefix (tests, or resetting a room)."""
        deleted = 0
        async for key in self._redis.scan_iter(match=self._prefix + "*", count=1000):
            deleted += int(await self._redis.delete(key))
        return deleted

    async def aclose(self) -> None:
        await self._redis.aclose()

    def _rate(self, count: Any, oldest: str, now: float) -> RateSample:
        first = int(oldest) if oldest else None
        return RateSample(int(count), span_s(first, now, self._policy.rate_window_s))

    def _view(self, ticket_id: str, reply: list[Any], now: float) -> RoomView:
        _, flow, jti, issued_at, admitted_at, rank, admitted, count, oldest = reply[:9]
        waiting, active, limit = reply[9:12]
        ticket = StoredTicket(
            ticket_id=ticket_id,
            flow=flow,
            jti=jti,
            issued_at=float(issued_at),
            admitted_at=float(admitted_at) if admitted_at else None,
        )
        return RoomView(
            ticket=ticket,
            position=max(0, int(rank)),
            admitted_now=int(admitted),
            rate=self._rate(count, oldest, now),
            waiting=int(waiting),
            active=int(active),
            limit=int(limit),
        )
