"""The load generator: client processes that post transfers closed-loop (fixed concurrency)
or open-loop (fixed arrival rate) over keep-alive HTTP/1.1 connections.

The client shares the machine's two cores with the server and PostgreSQL, so it is kept as
lean as a Python client can be: uvloop, one raw asyncio stream per connection, requests
written as bytes, responses read by Content-Length. Every byte it saves is CPU the bank gets.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from urllib.parse import urlsplit

import orjson
import uvloop

__all__ = ["LoadResult", "LoadSpec", "run_load"]

AMOUNT_MAX_MINOR = 100


@dataclass(frozen=True)
class LoadSpec:
    base_url: str
    token: str
    accounts: tuple[str, ...]
    kind: str  # "single" | "batch"
    connections: int
    duration_s: float
    warmup_s: float = 2.0
    batch_items: int = 8190
    hot_account: str | None = None  # every transfer credits this account
    rate_per_s: float | None = None  # open loop when set


@dataclass
class LoadResult:
    requests: int = 0
    failures: dict[str, int] = field(default_factory=dict)
    transfers_posted: int = 0
    transfers_refused: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    elapsed_s: float = 0.0

    def merge(self, other: LoadResult) -> None:
        self.requests += other.requests
        for key, count in other.failures.items():
            self.failures[key] = self.failures.get(key, 0) + count
        self.transfers_posted += other.transfers_posted
        self.transfers_refused += other.transfers_refused
        self.latencies_ms.extend(other.latencies_ms)
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)


def _pair(rng: random.Random, spec: LoadSpec) -> tuple[str, str]:
    source = rng.choice(spec.accounts)
    target = spec.hot_account or rng.choice(spec.accounts)
    while target == source:
        target = rng.choice(spec.accounts)
    return source, target


def _single_body(rng: random.Random, spec: LoadSpec) -> bytes:
    source, target = _pair(rng, spec)
    return orjson.dumps(
        {
            "from_account_id": source,
            "to_account_id": target,
            "amount": rng.randint(1, AMOUNT_MAX_MINOR),
            "currency": "KRW",
        }
    )


def _batch_body(rng: random.Random, spec: LoadSpec) -> bytes:
    items = []
    for _ in range(spec.batch_items):
        source, target = _pair(rng, spec)
        items.append(
            {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "from_account_id": source,
                "to_account_id": target,
                "amount": rng.randint(1, AMOUNT_MAX_MINOR),
                "currency": "KRW",
            }
        )
    return orjson.dumps({"transfers": items})


class _Connection:
    """One keep-alive HTTP/1.1 connection: write the request, read the answer by length."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        try:
            self.writer.write(head + str(len(body)).encode() + b"\r\n\r\n" + body)
            header = await self.reader.readuntil(b"\r\n\r\n")
            status = int(header[9:12])
            lowered = header.lower()
            at = lowered.index(b"content-length:") + 15
            length = int(lowered[at : lowered.index(b"\r\n", at)])
            payload = await self.reader.readexactly(length)
            if b"connection: close" in lowered:
                self.close()
            return status, payload
        except (OSError, asyncio.IncompleteReadError, ValueError):
            self.close()
            raise

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class _Client:
    def __init__(self, spec: LoadSpec, seed: int) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.result = LoadResult()
        self.measure_from = 0.0
        self.stop_at = 0.0
        url = urlsplit(spec.base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        path = "/v1/transfers/batch" if spec.kind == "batch" else "/v1/transfers"
        self.head_prefix = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {spec.token}\r\nIdempotency-Key: "
        ).encode()

    async def one(self, connection: _Connection, scheduled: float) -> None:
        body = (
            _batch_body(self.rng, self.spec)
            if self.spec.kind == "batch"
            else _single_body(self.rng, self.spec)
        )
        head = self.head_prefix + uuid.uuid4().hex.encode() + b"\r\nContent-Length: "
        try:
            status, payload = await connection.post(head, body)
        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
            status, payload = 0, type(exc).__name__.encode()
        done = time.perf_counter()
        # Throughput counts completions inside the window, whenever the request started: a
        # batch of 8190 may take longer than the warm-up.
        if not self.measure_from <= done <= self.stop_at:
            return
        self.result.requests += 1
        self.result.latencies_ms.append((done - scheduled) * 1000)
        self._count(status, payload)

    def _count(self, status: int, payload: bytes) -> None:
        if status == 201:
            self.result.transfers_posted += 1
        elif status == 200 and self.spec.kind == "batch":
            for item in orjson.loads(payload)["results"]:
                if item["status"] == "posted":
                    self.result.transfers_posted += 1
                else:
                    self.result.transfers_refused += 1
        elif status == 422:
            self.result.transfers_refused += 1
        else:
            key = str(status) if status else payload.decode()
            self.result.failures[key] = self.result.failures.get(key, 0) + 1

    async def closed_loop(self) -> None:
        connection = _Connection(self.host, self.port)
        while time.perf_counter() < self.stop_at:
            await self.one(connection, time.perf_counter())
        connection.close()

    async def open_loop(self, rate_per_s: float, connections: int) -> None:
        """Requests at a fixed rate; latency counts from the scheduled time, so waiting for a
        free connection is part of it (no coordinated omission)."""
        idle: asyncio.Queue[_Connection] = asyncio.Queue()
        for _ in range(connections):
            idle.put_nowait(_Connection(self.host, self.port))
        interval_s = 1.0 / rate_per_s
        tasks: set[asyncio.Task[None]] = set()
        next_at = time.perf_counter()

        async def fire(scheduled: float) -> None:
            connection = await idle.get()
            try:
                await self.one(connection, scheduled)
            finally:
                idle.put_nowait(connection)

        while next_at < self.stop_at:
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(fire(next_at))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            next_at += interval_s
        await asyncio.gather(*tasks)
        while not idle.empty():
            idle.get_nowait().close()


async def _run_process(spec: LoadSpec, connections: int, seed: int) -> LoadResult:
    clients = [_Client(spec, seed * 1000 + i) for i in range(connections)]
    started = time.perf_counter()
    for client in clients:
        client.measure_from = started + spec.warmup_s
        client.stop_at = started + spec.warmup_s + spec.duration_s
    if spec.rate_per_s is None:
        await asyncio.gather(*(c.closed_loop() for c in clients))
    else:
        await clients[0].open_loop(spec.rate_per_s, connections)
    merged = LoadResult()
    for client in clients:
        merged.merge(client.result)
    merged.elapsed_s = spec.duration_s
    return merged


def _process_main(
    spec: LoadSpec, connections: int, seed: int, rate_share: float | None
) -> LoadResult:
    if rate_share is not None:
        spec = LoadSpec(**{**spec.__dict__, "rate_per_s": rate_share})
    return uvloop.run(_run_process(spec, connections, seed))


def run_load(spec: LoadSpec, processes: int) -> LoadResult:
    """Spread the connections (and an open loop's rate) over client processes."""
    processes = max(1, min(processes, spec.connections))
    shares = [
        spec.connections // processes + (i < spec.connections % processes) for i in range(processes)
    ]
    rate = spec.rate_per_s / processes if spec.rate_per_s else None
    # Transfer ids come from the clients' generators: a fresh base seed for every run, or a
    # workload would repeat an earlier one's ids and see them refused as conflicting reuse.
    run_seed = secrets.randbits(32) * 1000
    with ProcessPoolExecutor(max_workers=processes, mp_context=get_context("spawn")) as pool:
        futures = [
            pool.submit(_process_main, spec, share, run_seed + i, rate)
            for i, share in enumerate(shares)
        ]
        total = LoadResult()
        for future in futures:
            total.merge(future.result())
    total.elapsed_s = spec.duration_s
    return total
