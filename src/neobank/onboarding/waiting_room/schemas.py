"""What the waiting room answers: tickets, admissions and statistics, as plain values and as
the HTTP bodies that describe them in the OpenAPI document."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Admission",
    "Ticket",
    "TicketIn",
    "TicketOut",
    "TicketStatus",
    "WaitingRoomStats",
    "WaitingRoomStatsOut",
]

TicketStatus = Literal["waiting", "admitted"]


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


@dataclass(frozen=True)
class Ticket:
    """A place in the queue. `position` counts the waiting tickets ahead (0 once admitted)."""

    ticket_id: str
    status: TicketStatus
    position: int
    eta_seconds: int
    poll_after_ms: int
    issued_at: float
    admitted_at: float | None = None
    admission_token: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ticket_id": self.ticket_id,
            "status": self.status,
            "position": self.position,
            "eta_seconds": self.eta_seconds,
            "poll_after_ms": self.poll_after_ms,
            "issued_at": _iso(self.issued_at),
        }
        if self.admitted_at is not None:
            body["admitted_at"] = _iso(self.admitted_at)
        if self.admission_token is not None:
            body["admission_token"] = self.admission_token
        return body


@dataclass(frozen=True)
class Admission:
    """What a verified admission token says."""

    ticket_id: str
    flow: str
    expires_at: datetime


@dataclass(frozen=True)
class WaitingRoomStats:
    """`limit` is what admissions use: the shared limit (the identity check's turnaround
    drives it), capped by this process's own (its onboarding requests' latency; None until
    it has one)."""

    waiting: int
    active: int
    limit: int
    admitted_total: int
    tickets_total: int
    admission_rate_per_s: float
    shared_limit: int
    process_limit: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
            "active": self.active,
            "limit": self.limit,
            "shared_limit": self.shared_limit,
            "process_limit": self.process_limit,
            "admitted_total": self.admitted_total,
            "tickets_total": self.tickets_total,
            "admission_rate_per_s": self.admission_rate_per_s,
        }


class TicketIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    flow: Literal["signup"]


class TicketOut(BaseModel):
    ticket_id: str
    status: TicketStatus
    position: int
    eta_seconds: int
    poll_after_ms: int
    issued_at: datetime
    admitted_at: datetime | None = None
    admission_token: str | None = None


class WaitingRoomStatsOut(BaseModel):
    waiting: int
    active: int
    limit: int
    shared_limit: int
    process_limit: int | None
    admitted_total: int
    tickets_total: int
    admission_rate_per_s: float
