"""Priority load shedding: when this process has too many requests in flight, sign-up traffic
is refused first (503 `overloaded`, Retry-After), so that the customers the bank already has
keep logging in and moving money on launch day.

Every request counts towards one in-flight total; each class of traffic may start only while
the total is under its own threshold: new sign-up work (POST a ticket, the onboarding steps)
the lowest, ticket polls (cheap, and what keeps a queue moving) higher, everything else up
to the hard cap. Health, readiness and metrics are never shed. Long polls (a read of an
onboarding or a ticket with `wait_ms`) spend their time idle, waiting for a change: they do
not count towards the in-flight total (else 150 people watching their identity checks, or
thousands waiting in the queue, would shed every new sign-up) and have a cap of their own.

The time each onboarding request (sign-up work of an admitted person) takes from its arrival
here, parking included, to its answer or refusal goes to `shedder.on_onboarding_request`: the
app hands it to the waiting room, whose admissions in this process follow it
(waiting_room/process_limit.py), so that the room admits fewer people before requests are shed.

Sign-up traffic and polls first *wait* (parked, not counted as in flight) up to
`signup_wait_s` for a place before they are refused: a surge's momentary bursts then cost a
little latency instead of a 503 (a launch-day run shed 83 requests at the threshold when
they were refused at once). They get places in arrival order: a freed place is handed to the
longest-parked request of its class, and a newcomer queues behind the parked ones (a woken
request that had to try again could be overtaken by newcomers and sent to the back). The wait
is 5 s at most: a launch-day surge parks ticket requests for up to ~2 s while the process is
at full CPU (docs/BENCHMARKS.md), and a parked request costs a future, not CPU. Other traffic
is never parked.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import Callable
from enum import StrEnum

import orjson
from prometheus_client import Counter
from starlette.types import ASGIApp, Receive, Scope, Send

from neobank.errors import problem_document

__all__ = [
    "INFLIGHT_MAX",
    "POLL_INFLIGHT_MAX",
    "SIGNUP_INFLIGHT_MAX",
    "WATCH_INFLIGHT_MAX",
    "LoadShedder",
    "PriorityShedding",
    "Traffic",
    "classify",
]

SIGNUP_INFLIGHT_MAX = 64
POLL_INFLIGHT_MAX = 256
INFLIGHT_MAX = 1_024
WATCH_INFLIGHT_MAX = 4_096  # idle long polls: a coroutine and a socket each
SIGNUP_RETRY_AFTER_S = 5
SIGNUP_WAIT_MAX_S = 5.0
PARKED_MAX = 1_024  # requests waiting for a place; beyond it they are refused at once
RETRY_AFTER_S = 1

_ONBOARDING_PREFIX = "/v1/onboarding"
_SIGNUP_PREFIXES = ("/v1/waiting-room", _ONBOARDING_PREFIX)
_EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})
_WATCH = re.compile(rb"(?:^|&)wait_ms=0*[1-9]")
_WATCHED_PREFIXES = ("/v1/onboarding/", "/v1/waiting-room/tickets/")

SHED_REQUESTS = Counter(
    "neobank_shed_requests_total", "Requests refused as overload (503)", ["traffic"]
)


class Traffic(StrEnum):
    SIGNUP = "signup"
    POLL = "poll"
    WATCH = "watch"
    OTHER = "other"


def classify(method: str, path: str, query_string: bytes = b"") -> Traffic | None:
    """The class of a request; None for what is never shed."""
    if path in _EXEMPT:
        return None
    if not path.startswith(_SIGNUP_PREFIXES):
        return Traffic.OTHER
    # Reads of a ticket or an onboarding are polls: cheap, and shedding them only brings the
    # same person back sooner (a launch-day surge shed 27 status polls at the sign-up
    # threshold while nothing else was overloaded).
    if method in ("GET", "HEAD"):
        # Only an onboarding's or a ticket's read long-polls; elsewhere `wait_ms` would be a
        # way around the poll threshold.
        watch = path.startswith(_WATCHED_PREFIXES) and _WATCH.search(query_string)
        return Traffic.WATCH if watch else Traffic.POLL
    return Traffic.SIGNUP


class LoadShedder:
    """The in-flight counts of one process and the thresholds. The thresholds may be changed
    while serving (the app keeps its shedder at `app.state.shedder`)."""

    def __init__(
        self,
        *,
        signup_inflight_max: int = SIGNUP_INFLIGHT_MAX,
        poll_inflight_max: int = POLL_INFLIGHT_MAX,
        inflight_max: int = INFLIGHT_MAX,
        signup_retry_after_s: int = SIGNUP_RETRY_AFTER_S,
        retry_after_s: int = RETRY_AFTER_S,
    ) -> None:
        if not 0 <= signup_inflight_max <= poll_inflight_max <= inflight_max:
            raise ValueError("need signup_inflight_max <= poll_inflight_max <= inflight_max")
        self.signup_inflight_max = signup_inflight_max
        self.poll_inflight_max = poll_inflight_max
        self.inflight_max = inflight_max
        self.watch_inflight_max = WATCH_INFLIGHT_MAX
        self.signup_retry_after_s = signup_retry_after_s
        self.retry_after_s = retry_after_s
        self.inflight = 0
        self.inflight_by_traffic = dict.fromkeys(Traffic, 0)
        self.signup_wait_s = SIGNUP_WAIT_MAX_S
        self.parked_max = PARKED_MAX
        # Requests waiting for a place, per class, in arrival order (see `leave`).
        self._parked: dict[Traffic, deque[asyncio.Future[None]]] = {
            Traffic.POLL: deque(),
            Traffic.SIGNUP: deque(),
        }
        # Told each onboarding request's latency in seconds, from arrival (see the docstring).
        self.on_onboarding_request: Callable[[float], None] | None = None

    @property
    def parked(self) -> int:
        return sum(len(queue) for queue in self._parked.values())

    def threshold(self, traffic: Traffic) -> int:
        if traffic is Traffic.SIGNUP:
            return self.signup_inflight_max
        if traffic is Traffic.POLL:
            return self.poll_inflight_max
        if traffic is Traffic.WATCH:
            return self.watch_inflight_max
        return self.inflight_max

    def retry_after(self, traffic: Traffic) -> int:
        return self.retry_after_s if traffic is Traffic.OTHER else self.signup_retry_after_s

    def try_enter(self, traffic: Traffic) -> bool:
        if traffic is Traffic.WATCH:
            if self.inflight_by_traffic[traffic] >= self.watch_inflight_max:
                return False
            self.inflight_by_traffic[traffic] += 1
            return True
        # A newcomer does not pass the requests of its class already waiting for a place.
        if self.inflight >= self.threshold(traffic) or self._parked.get(traffic):
            return False
        self._take(traffic)
        return True

    def _take(self, traffic: Traffic) -> None:
        self.inflight += 1
        self.inflight_by_traffic[traffic] += 1

    async def enter(self, traffic: Traffic) -> bool:
        """Take a place, waiting for one (sign-up and polls only) up to `signup_wait_s`."""
        if self.try_enter(traffic):
            return True
        if traffic not in self._parked or self.signup_wait_s <= 0:
            return False
        if self.parked >= self.parked_max:
            return False
        place: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._parked[traffic]
        queue.append(place)
        try:
            async with asyncio.timeout(self.signup_wait_s):
                await place
        except BaseException as stopped:
            if place.done() and not place.cancelled():
                # Handed a place just as the wait ran out (keep it) or the request went away
                # (give it back).
                if isinstance(stopped, TimeoutError):
                    return True
                self.leave(traffic)
                raise
            with contextlib.suppress(ValueError):
                queue.remove(place)
            if isinstance(stopped, TimeoutError):
                return False
            raise
        return True  # `leave` handed this request its place

    def leave(self, traffic: Traffic) -> None:
        self.inflight_by_traffic[traffic] -= 1
        if traffic is Traffic.WATCH:
            return
        self.inflight -= 1
        # Hand the freed places straight to the longest-parked requests (polls before sign-ups,
        # as their thresholds rank them), so that a newcomer cannot take one first and send a
        # woken request to the back of the queue: parked requests are served in arrival order.
        for parked in (Traffic.POLL, Traffic.SIGNUP):
            queue = self._parked[parked]
            while queue and self.inflight < self.threshold(parked):
                place = queue.popleft()
                if not place.done():
                    self._take(parked)
                    place.set_result(None)


class PriorityShedding:
    """The ASGI middleware; add it last so that it runs first and a refusal costs little."""

    def __init__(self, app: ASGIApp, *, shedder: LoadShedder | None = None) -> None:
        self.app = app
        self.shedder = shedder or LoadShedder()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        traffic = classify(scope["method"], scope["path"], scope.get("query_string", b""))
        if traffic is None:
            await self.app(scope, receive, send)
            return
        if traffic is Traffic.WATCH:
            if self.shedder.try_enter(traffic):
                await self._serve(traffic, scope, receive, send)
                return
            # Past the long polls' cap: served as a plain poll (answered at once), not refused.
            traffic = Traffic.POLL
            scope = {**scope, "query_string": _without_wait(scope["query_string"])}
        timed = self.shedder.on_onboarding_request
        if (
            timed is None
            or traffic is not Traffic.SIGNUP
            or not scope["path"].startswith(_ONBOARDING_PREFIX)
        ):
            await self._enter_and_serve(traffic, scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self._enter_and_serve(traffic, scope, receive, send)
        finally:
            timed(time.perf_counter() - started)

    async def _enter_and_serve(
        self, traffic: Traffic, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Take a place (parked for one if need be) and serve, or refuse with 503."""
        if not await self.shedder.enter(traffic):
            SHED_REQUESTS.labels(traffic.value).inc()
            await _refuse(send, self.shedder.retry_after(traffic))
            return
        await self._serve(traffic, scope, receive, send)

    async def _serve(self, traffic: Traffic, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve a request that holds a place of `traffic`, and give the place back."""
        try:
            await self.app(scope, receive, send)
        finally:
            self.shedder.leave(traffic)


def _without_wait(query_string: bytes) -> bytes:
    return b"&".join(p for p in query_string.split(b"&") if not p.startswith(b"wait_ms="))


async def _refuse(send: Send, retry_after_s: int) -> None:
    body = orjson.dumps(
        problem_document(
            503,
            "overloaded",
            "The bank is busy",
            f"Too many requests in flight: try again in {retry_after_s} s",
        )
    )
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", str(retry_after_s).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
