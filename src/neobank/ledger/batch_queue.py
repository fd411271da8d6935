"""The engine's queue: submissions waiting for a batch, and what the next batch takes.

A batch takes everything queued, up to a bound: the longer a commit takes, the more requests
the next batch carries. While another batch is in flight, the next one starts only once it
would carry `overlap_transfers_min` transfers; a smaller one waits for the batch in flight
to end, gathering what arrives meanwhile (see `OVERLAP_TRANSFERS_MIN` in
`neobank.ledger.engine`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sized

from neobank.ledger.submission import Submission
from neobank.observability import metrics

__all__ = ["BatchQueue"]

# At most this many submissions wait in the queue; beyond it requests are refused (503).
QUEUE_DEPTH_MAX = 100_000


class BatchQueue:
    def __init__(self, *, batch_transfers_max: int, overlap_transfers_min: int) -> None:
        self._queue: asyncio.Queue[Submission] = asyncio.Queue(maxsize=QUEUE_DEPTH_MAX)
        self._batch_transfers_max = batch_transfers_max
        self._overlap_transfers_min = overlap_transfers_min
        self._queued_transfers = 0
        # Set when a batch ends or the queue grows: a batch waiting to overlap looks again.
        self._changed = asyncio.Event()

    def put(self, submission: Submission) -> None:
        """Queue a submission; `asyncio.QueueFull` when the queue is full."""
        self._queue.put_nowait(submission)
        self._queued_transfers += submission.transfer_count
        if self._queued_transfers >= self._overlap_transfers_min:
            self._changed.set()
        metrics.LEDGER_QUEUE_DEPTH.set(self._queue.qsize())

    def batch_ended(self) -> None:
        self._changed.set()

    async def take(self, in_flight: Sized) -> list[Submission]:
        """The next batch, once one may start beside the `in_flight` batches."""
        while in_flight and self._queued_transfers < self._overlap_transfers_min:
            self._changed.clear()
            await self._changed.wait()
        batch = [await self._queue.get()]
        count = batch[0].transfer_count
        while not self._queue.empty() and count < self._batch_transfers_max:
            nxt = self._queue.get_nowait()
            batch.append(nxt)
            count += nxt.transfer_count
        self._queued_transfers -= count
        metrics.LEDGER_QUEUE_DEPTH.set(self._queue.qsize())
        return batch

    def drain(self) -> list[Submission]:
        """Everything still queued (the engine is stopping)."""
        pending = []
        while not self._queue.empty():
            pending.append(self._queue.get_nowait())
        self._queued_transfers = 0
        return pending
