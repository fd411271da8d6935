"""The load generator's HTTP/1.1 client, driven by callbacks.

Each keep-alive connection is an asyncio protocol: a request goes out as bytes, its answer is
parsed as it arrives (by Content-Length) and handed to the driver, which sends the next one
from the same callback. No task, future or stream per request: the client shares the
machine's two cores with the server and PostgreSQL, and the stream client it replaces spent
about 140 µs of CPU a request in an open loop at 1,600 requests/s (`docs/BENCHMARKS.md`).

`ClosedLoop` keeps every connection busy; `OpenLoop` sends at a fixed rate, and a request
that finds no idle connection waits for one, its latency counted from when it was due (no
coordinated omission).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import cast

__all__ = ["ClosedLoop", "Connection", "OpenLoop", "Outcome", "Request"]

# A request's bytes (built when it is sent), and what to do with its answer:
# (status, body, seconds since it was due); status 0 and the error's name when it failed.
Request = Callable[[], bytes]
Outcome = Callable[[int, bytes, float], None]
RECONNECT_DELAY_S = 0.01
# The open loop wakes at most once a millisecond and sends what fell due meanwhile: the event
# loop's timers have a millisecond's resolution, and a shorter wait spins it (a request's
# latency still counts from when it was due).
TICK_MIN_S = 0.001


class Connection(asyncio.Protocol):
    """One keep-alive connection; `answered` gets each answer, or status 0 if it is lost."""

    def __init__(self, answered: Callable[[Connection, int, bytes], None]) -> None:
        self.answered = answered
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due = 0.0  # when the request in flight was due (perf_counter)
        self.in_flight = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def send(self, request: bytes, due: float) -> None:
        assert self.transport is not None and not self.in_flight
        self.due, self.in_flight = due, True
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).lower()
        at = head.find(b"content-length:")
        line_end = head.find(b"\r\n", at)
        try:
            status = int(head[9:12])
            length = int(head[at + 15 : line_end if line_end >= 0 else len(head)])
        except ValueError:
            self._fail("ValueError")
            return
        if at < 0:
            self._fail("NoContentLength")
            return
        if len(self.buffer) < end + 4 + length:
            return
        body = bytes(self.buffer[end + 4 : end + 4 + length])
        del self.buffer[: end + 4 + length]
        self.in_flight = False
        if b"connection: close" in head:
            self.close()
        self.answered(self, status, body)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.in_flight:
            self._fail(type(exc).__name__ if exc else "ConnectionClosed")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        self.buffer.clear()

    def _fail(self, reason: str) -> None:
        self.in_flight = False
        self.close()
        self.answered(self, 0, reason.encode())


class _Driver:
    """What both loops share: connecting, reconnecting, and the end of the run."""

    def __init__(self, host: str, port: int, request: Request, outcome: Outcome) -> None:
        self.host, self.port = host, port
        self.request = request
        self.outcome = outcome
        self.loop = asyncio.get_running_loop()
        self.finished: asyncio.Future[None] = self.loop.create_future()
        self.stop_at = 0.0
        self.busy = 0  # connections with a request in flight or connecting

    async def connect(self, connection: Connection) -> bool:
        try:
            await self.loop.create_connection(lambda: connection, self.host, self.port)
        except OSError as exc:
            self.outcome(0, type(exc).__name__.encode(), 0.0)
            await asyncio.sleep(RECONNECT_DELAY_S)
            return False
        return True

    def answered(self, connection: Connection, status: int, body: bytes) -> None:
        self.outcome(status, body, time.perf_counter() - connection.due)
        if connection.transport is None:
            self.loop.create_task(self._reconnect(connection))
        else:
            self.next(connection)

    async def _reconnect(self, connection: Connection) -> None:
        while time.perf_counter() < self.stop_at and not await self.connect(connection):
            pass
        if connection.transport is None:
            self.idle(connection)
        else:
            self.next(connection)

    def next(self, connection: Connection) -> None:
        raise NotImplementedError

    def idle(self, connection: Connection) -> None:
        """A connection with nothing more to send."""
        connection.close()
        self.busy -= 1
        if self.busy == 0 and not self.finished.done():
            self.finished.set_result(None)


class ClosedLoop(_Driver):
    """Every connection sends its next request as soon as the last one is answered."""

    async def run(self, connections: int, stop_at: float) -> None:
        self.stop_at = stop_at
        self.busy = connections
        for _ in range(connections):
            self.loop.create_task(self._reconnect(Connection(self.answered)))
        await self.finished

    def next(self, connection: Connection) -> None:
        now = time.perf_counter()
        if now < self.stop_at:
            connection.send(self.request(), now)
        else:
            self.idle(connection)


class OpenLoop(_Driver):
    """Requests fall due at a fixed rate; each goes out on an idle connection as soon as one
    is free."""

    def __init__(self, host: str, port: int, request: Request, outcome: Outcome) -> None:
        super().__init__(host, port, request, outcome)
        self.waiting: deque[Connection] = deque()  # idle, connected
        self.due: deque[float] = deque()  # due, not sent yet
        self.interval_s = 0.0
        self.next_due = 0.0

    async def run(self, connections: int, rate_per_s: float, stop_at: float) -> None:
        self.stop_at = stop_at
        self.interval_s = 1.0 / rate_per_s
        opened = [Connection(self.answered) for _ in range(connections)]
        for connection in opened:
            while not await self.connect(connection):
                pass
        self.busy = connections
        self.waiting.extend(opened)
        self.next_due = time.perf_counter()
        self._tick()
        await self.finished

    def _tick(self) -> None:
        now = time.perf_counter()
        while self.next_due <= now and self.next_due < self.stop_at:
            self.due.append(self.next_due)
            self.next_due += self.interval_s
        while self.due and self.waiting:
            self.waiting.popleft().send(self.request(), self.due.popleft())
        if self.next_due < self.stop_at:
            wait_s = max(self.next_due - time.perf_counter(), TICK_MIN_S)
            self.loop.call_later(wait_s, self._tick)
        else:
            self._drain()

    def next(self, connection: Connection) -> None:
        if self.due:
            connection.send(self.request(), self.due.popleft())
        else:
            self.waiting.append(connection)
            if self.next_due >= self.stop_at:
                self._drain()

    def _drain(self) -> None:
        """After the last request fell due: close the connections that have nothing left."""
        if self.due:
            return
        while self.waiting:
            self.idle(self.waiting.popleft())
