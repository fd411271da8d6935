"""Job queue errors: a job that could not be queued is a domain error like any other."""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = ["JobAlreadyQueued", "JobQueueError", "NotInTransaction", "UnknownTask"]


class JobQueueError(NeobankError):
    """Base of the job queue's errors."""

    status = 500
    code = "job_queue_error"
    title = "The job could not be queued"


class JobAlreadyQueued(JobQueueError):
    """A job with the same queueing lock is already waiting; the caller's transaction is
    still usable (the failed insert was rolled back to a savepoint)."""

    status = 409
    code = "job_already_queued"
    title = "The same work is already queued"


class UnknownTask(JobQueueError):
    """No listed blueprint declares this task: the job would fail on every worker."""

    code = "unknown_task"
    title = "No such task"


class NotInTransaction(JobQueueError):
    """defer_in_transaction was called outside a transaction: the job would not follow the
    state change it belongs to."""

    code = "not_in_transaction"
    title = "Jobs are deferred inside the transaction that needs them"
