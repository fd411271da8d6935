"""A new-job wake-up that a fetch cannot lose (a fix around procrastinate's worker loop).

procrastinate's worker clears its new-job event after every fetch. A job whose NOTIFY arrives
while a fetch is in flight, too late for that fetch's snapshot, is then forgotten: the worker
finds nothing, clears the wake-up the NOTIFY set, and sleeps until another job's NOTIFY (here
the expiry voider's, every second) or the polling interval (5 s) with the job waiting. The
busier the event loop, the longer each fetch and the likelier the race. procrastinate 3.10 has
the same loop upstream. `tests/workers/test_wakeup.py` makes the race certain.

`NewJobWakeup` keeps a wake-up that arrived since the previous clear: the worker fetches once
more before it sleeps, so at most one fetch per burst of notifications finds nothing.
"""

from __future__ import annotations

import asyncio

from procrastinate.worker import Worker

__all__ = ["NewJobWakeup", "install_wakeup"]


class NewJobWakeup(asyncio.Event):
    def __init__(self) -> None:
        super().__init__()
        self._set_since_clear = False

    def set(self) -> None:
        self._set_since_clear = True
        super().set()

    def clear(self) -> None:
        if self._set_since_clear:
            # A notification came after the previous clear, perhaps during the fetch that
            # just ended: stay set so that the worker looks once more.
            self._set_since_clear = False
            return
        super().clear()


def install_wakeup(worker: Worker) -> None:
    """Give a procrastinate worker the wake-up above (before it runs)."""
    if not isinstance(getattr(worker, "_new_job_event", None), asyncio.Event):
        raise RuntimeError("procrastinate's Worker no longer has _new_job_event: recheck wakeup")
    worker._new_job_event = NewJobWakeup()
