"""The waiting room's errors, each with a stable code (mapped to problem+json in one place)."""

from __future__ import annotations

from neobank.errors import NeobankError

__all__ = [
    "AdmissionTokenExpired",
    "AdmissionTokenInvalid",
    "TicketNotFound",
    "UnknownFlow",
    "WaitingRoomError",
    "WaitingRoomFull",
    "WaitingRoomUnavailable",
]


class WaitingRoomError(NeobankError):
    """Base of the waiting room's errors."""


class TicketNotFound(WaitingRoomError):
    status = 404
    code = "ticket_not_found"
    title = "No such ticket (unknown, released, or dropped after it was not polled for a while)"


class UnknownFlow(WaitingRoomError):
    status = 422
    code = "unknown_flow"
    title = "The waiting room only queues the flows it knows (signup)"


class AdmissionTokenInvalid(WaitingRoomError):
    status = 401
    code = "admission_token_invalid"
    title = "The admission token is not one the waiting room signed"


class AdmissionTokenExpired(WaitingRoomError):
    status = 401
    code = "admission_token_expired"
    title = "The admission token has expired: take a new ticket"


class WaitingRoomFull(WaitingRoomError):
    status = 503
    code = "waiting_room_full"
    title = "The waiting room is full: try again later"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(retry_after_s=retry_after_s)
        self.retry_after_s = retry_after_s


class WaitingRoomUnavailable(WaitingRoomError):
    status = 503
    code = "waiting_room_unavailable"
    title = "The waiting room's store does not answer: try again shortly"
