"""The benchmark's load generator, against a minimal HTTP server that records what it gets."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator

import orjson
import pytest

from neobank.benchmark.load import LoadSpec, _Client, batch_outcomes, run_load
from tests.conftest import BankDriver


class RecordingServer:
    """Answers every batch with all its transfers posted, and every single transfer 201;
    keeps every transfer id seen. With `drop_every` n, it closes the connection instead of
    answering every n-th request."""

    def __init__(self, drop_every: int = 0) -> None:
        self.ids: list[str] = []
        self.requests = 0
        self.drop_every = drop_every
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RecordingServer:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lowered = head.lower()
                at = lowered.index(b"content-length:") + 15
                length = int(lowered[at : lowered.index(b"\r\n", at)])
                body = orjson.loads(await reader.readexactly(length))
                self.requests += 1
                if self.drop_every and self.requests % self.drop_every == 0:
                    writer.close()
                    return
                if "transfers" not in body:
                    writer.write(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")
                    continue
                ids = [t["id"] for t in body["transfers"]]
                self.ids.extend(ids)
                answer = orjson.dumps({"results": [{"id": i, "status": "posted"} for i in ids]})
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(answer)).encode()
                    + b"\r\n\r\n"
                    + answer
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()


@pytest.fixture
def server() -> Iterator[RecordingServer]:
    with RecordingServer() as recording:
        yield recording


def test_each_run_sends_transfer_ids_no_earlier_run_sent(server: RecordingServer) -> None:
    """Workloads run one after another against one ledger: a repeated id would be refused as
    a conflicting reuse (the hot-account figure once lost 10% of its transfers that way)."""
    spec = LoadSpec(
        base_url=f"http://127.0.0.1:{server.port}",
        token="t",
        accounts=("a", "b", "c"),
        kind="batch",
        connections=2,
        duration_s=0.3,
        warmup_s=0.0,
        batch_items=20,
    )
    first = run_load(spec, processes=2)
    sent_first = set(server.ids)
    second = run_load(spec, processes=2)
    sent_second = set(server.ids) - sent_first
    assert first.transfers_posted > 0 and second.transfers_posted > 0
    assert len(set(server.ids)) == len(server.ids), "an id was sent twice"
    assert sent_second and not sent_second & sent_first


def single(port: int, **overrides: object) -> LoadSpec:
    fields: dict[str, object] = {
        "base_url": f"http://127.0.0.1:{port}",
        "token": "t",
        "accounts": ("a", "b", "c"),
        "kind": "single",
        "connections": 4,
        "duration_s": 0.5,
        "warmup_s": 0.0,
    }
    return LoadSpec(**{**fields, **overrides})  # type: ignore[arg-type]


def test_an_open_loop_sends_at_its_rate(server: RecordingServer) -> None:
    result = run_load(single(server.port, rate_per_s=200.0), processes=1)
    # 100 fall due in the half second; those answered after its end are not counted.
    assert 90 <= result.transfers_posted <= 101
    assert result.failures == {}
    assert len(result.latencies_ms) == result.requests == result.transfers_posted
    assert all(0 <= latency < 1000 for latency in result.latencies_ms)


def test_a_closed_loop_keeps_its_connections_busy(server: RecordingServer) -> None:
    result = run_load(single(server.port), processes=2)
    assert result.transfers_posted > 100 and result.failures == {}
    assert server.requests >= result.requests


def test_a_dropped_connection_counts_as_a_failure_and_the_client_reconnects() -> None:
    with RecordingServer(drop_every=10) as dropping:
        closed = run_load(single(dropping.port), processes=1)
        opened = run_load(single(dropping.port, rate_per_s=200.0), processes=1)
    for result in (closed, opened):
        failed = sum(result.failures.values())
        assert set(result.failures) == {"ConnectionClosed"}
        assert result.transfers_posted > 5 * failed > 0


async def test_a_batch_answer_is_counted_as_the_bank_writes_it(bank: BankDriver) -> None:
    """The load generator counts statuses in the answer's bytes instead of parsing it."""
    source, target = await bank.account(funded=1_000), await bank.account()
    items = [
        {"id": str(uuid.uuid4()), "from_account_id": source["id"], "to_account_id": target["id"]}
        | {"amount": amount, "currency": "KRW"}
        for amount in (600, 600, 300)  # the second is refused: insufficient funds
    ]
    response = await bank.post("/v1/transfers/batch", {"transfers": items})
    assert response.status_code == 200, response.text
    statuses = [r["status"] for r in response.json()["results"]]
    assert statuses == ["posted", "failed", "posted"]
    assert batch_outcomes(response.content) == (2, 1)


def test_batch_bodies_differ_in_every_id_and_keep_their_shape() -> None:
    spec = LoadSpec(
        base_url="http://127.0.0.1:1",
        token="t",
        accounts=tuple(str(uuid.uuid4()) for _ in range(10)),
        kind="batch",
        connections=1,
        duration_s=1.0,
        batch_items=50,
    )
    client = _Client(spec, seed=1)
    bodies = [orjson.loads(client.request().split(b"\r\n\r\n", 1)[1]) for _ in range(8)]
    ids = [uuid.UUID(t["id"]) for body in bodies for t in body["transfers"]]
    assert len(set(ids)) == len(ids) == 400
    assert {i.version for i in ids} == {4}
    assert all(t["from_account_id"] != t["to_account_id"] for b in bodies for t in b["transfers"])
