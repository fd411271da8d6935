"""What can go wrong when the bank calls an agency, as one error tree with stable codes.

    AgencyError
    ├── AgencyUnavailable   agency_unavailable    timeouts, connection errors, 5xx, after retries
    ├── AgencyThrottled     agency_throttled      429 still after retries, or our own limiter's
    │                                             queue was too long to wait in
    ├── CircuitOpen         agency_circuit_open   the breaker is open: nothing was sent
    └── AgencyRejected      agency_rejected       another 4xx: our request is wrong; never retried
        └── InquiryKeyConflict  inquiry_key_conflict  the bureau saw this key for another person

Each carries the ``agency`` it concerns; the ones worth waiting out carry ``retry_after_s``.
They are answered 503 (or 502 for a rejection) if they ever reach an HTTP answer, but agency
calls run in background jobs, which retry them.
"""

from __future__ import annotations

from typing import Any

from neobank.errors import NeobankError

__all__ = [
    "AgencyError",
    "AgencyRejected",
    "AgencyThrottled",
    "AgencyUnavailable",
    "CircuitOpen",
    "InquiryKeyConflict",
]


class AgencyError(NeobankError):
    """Base of the agency adapters' errors."""

    status = 503
    code = "agency_error"
    title = "An outside agency could not be used"

    def __init__(self, agency: str, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail, agency=agency, **extra)
        self.agency = agency


class AgencyUnavailable(AgencyError):
    code = "agency_unavailable"
    title = "The agency did not answer in time or failed"


class AgencyThrottled(AgencyError):
    code = "agency_throttled"
    title = "The agency is at its capacity"

    def __init__(self, agency: str, detail: str | None = None, *, retry_after_s: float) -> None:
        super().__init__(agency, detail, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class CircuitOpen(AgencyError):
    code = "agency_circuit_open"
    title = "The agency is failing: calls are paused"

    def __init__(self, agency: str, detail: str | None = None, *, retry_after_s: float) -> None:
        super().__init__(agency, detail, retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class AgencyRejected(AgencyError):
    status = 502
    code = "agency_rejected"
    title = "The agency refused the bank's request"

    def __init__(
        self, agency: str, detail: str | None = None, *, agency_status: int, agency_code: str
    ) -> None:
        super().__init__(agency, detail, agency_status=agency_status, agency_code=agency_code)
        self.agency_status = agency_status
        self.agency_code = agency_code


class InquiryKeyConflict(AgencyRejected):
    status = 409
    code = "inquiry_key_conflict"
    title = "The inquiry key was already used for another resident id"
