"""The load generator: client processes that post transfers closed-loop (fixed concurrency)
or open-loop (fixed arrival rate) over keep-alive HTTP/1.1 connections.

The client shares the machine's two cores with the server and PostgreSQL, so it is kept as
lean as a Python client can be: uvloop, requests written as bytes, answers read by
Content-Length, callbacks instead of a task or stream per request
(`neobank.benchmark.client`), and batch bodies made from templates with fresh ids. Every
cycle it saves is CPU the bank gets.
"""

from __future__ import annotations

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

from neobank.benchmark.client import ClosedLoop, OpenLoop

__all__ = ["LoadResult", "LoadSpec", "batch_outcomes", "run_load"]

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


# A batch body is one of a few templates drawn at start, with ids of its own: every item id
# is the template's placeholder prefix and the item's index, and a request replaces the
# prefix with a random one (one `bytes.replace`, ~1 ms for 8,190 items). Drawing and encoding
# a fresh body took ~100 ms, and parsing its answer ~20 ms: a quarter of a core at 17,000
# transfers/s, taken from the server on the same two cores.
BATCH_TEMPLATES = 4
_ID_PLACEHOLDER = b"00000000-0000-4000-8000-"


def _batch_template(rng: random.Random, spec: LoadSpec) -> bytes:
    items = []
    for index in range(spec.batch_items):
        source, target = _pair(rng, spec)
        items.append(
            {
                "id": f"{_ID_PLACEHOLDER.decode()}{index:012x}",
                "from_account_id": source,
                "to_account_id": target,
                "amount": rng.randint(1, AMOUNT_MAX_MINOR),
                "currency": "KRW",
            }
        )
    return orjson.dumps({"transfers": items})


def _id_prefix(rng: random.Random) -> bytes:
    """A random UUID's first 24 characters, version 4 and variant bits in place."""
    h = f"{rng.getrandbits(72):018x}"
    return f"{h[:8]}-{h[8:12]}-4{h[12:15]}-{'89ab'[rng.getrandbits(2)]}{h[15:18]}-".encode()


def batch_outcomes(payload: bytes) -> tuple[int, int]:
    """(posted, refused) in a batch answer, counted in the bytes the bank writes (orjson's,
    without spaces) instead of parsed (tests/benchmark/test_load.py checks them against a real
    answer): every item that is not posted is refused, whether failed or there before."""
    posted = payload.count(b'"status":"posted"')
    return posted, payload.count(b'"status":') - posted


class _Client:
    """One client process's requests and what it counts of their answers."""

    def __init__(self, spec: LoadSpec, seed: int) -> None:
        self.spec = spec
        self.rng = random.Random(seed)
        self.result = LoadResult()
        self.measure_from = 0.0
        self.stop_at = 0.0
        url = urlsplit(spec.base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        path = "/v1/transfers/batch" if spec.kind == "batch" else "/v1/transfers"
        self.templates = (
            [_batch_template(self.rng, spec) for _ in range(BATCH_TEMPLATES)]
            if spec.kind == "batch"
            else []
        )
        self.head_prefix = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Type: application/json\r\n"
            f"Authorization: Bearer {spec.token}\r\nIdempotency-Key: "
        ).encode()

    def request(self) -> bytes:
        if self.templates:
            template = self.templates[self.rng.randrange(len(self.templates))]
            body = template.replace(_ID_PLACEHOLDER, _id_prefix(self.rng))
        else:
            body = _single_body(self.rng, self.spec)
        key = uuid.uuid4().hex.encode()
        length = str(len(body)).encode()
        return self.head_prefix + key + b"\r\nContent-Length: " + length + b"\r\n\r\n" + body

    def outcome(self, status: int, payload: bytes, latency_s: float) -> None:
        # Throughput counts completions inside the window, whenever the request started: a
        # batch of 8190 may take longer than the warm-up.
        if not self.measure_from <= time.perf_counter() <= self.stop_at:
            return
        self.result.requests += 1
        self.result.latencies_ms.append(latency_s * 1000)
        if status == 201:
            self.result.transfers_posted += 1
        elif status == 200 and self.spec.kind == "batch":
            posted, refused = batch_outcomes(payload)
            self.result.transfers_posted += posted
            self.result.transfers_refused += refused
        elif status == 422:
            self.result.transfers_refused += 1
        else:
            key = str(status) if status else payload.decode()
            self.result.failures[key] = self.result.failures.get(key, 0) + 1


async def _run_process(spec: LoadSpec, connections: int, seed: int) -> LoadResult:
    client = _Client(spec, seed)
    started = time.perf_counter()
    client.measure_from = started + spec.warmup_s
    client.stop_at = started + spec.warmup_s + spec.duration_s
    if spec.rate_per_s is None:
        closed = ClosedLoop(client.host, client.port, client.request, client.outcome)
        await closed.run(connections, client.stop_at)
    else:
        opened = OpenLoop(client.host, client.port, client.request, client.outcome)
        await opened.run(connections, spec.rate_per_s, client.stop_at)
    client.result.elapsed_s = spec.duration_s
    return client.result


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
