"""Background work: durable jobs (procrastinate) and the periodic maintenance, run by a
JobWorker in `neobank serve` or in `neobank worker`."""

from neobank.workers.errors import JobAlreadyQueued, JobQueueError, NotInTransaction, UnknownTask

__all__ = ["JobAlreadyQueued", "JobQueueError", "NotInTransaction", "UnknownTask"]
