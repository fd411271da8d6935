"""The waiting room in front of sign-up: FIFO tickets, admissions paced by an adaptive
concurrency limit, and signed admission tokens.

    from neobank.onboarding.waiting_room import build_waiting_room
    room = build_waiting_room(redis_url=None, signing_key=key)  # or a Redis URL: shared
    ticket = await room.take_ticket("signup")       # Ticket(status="waiting", position=...)
    ticket = await room.ticket(ticket.ticket_id)    # polls; admits the head when slots free
    admission = room.verify_admission(token)        # AdmissionTokenInvalid / ...Expired
    room.observe(latency_s); await room.release(ticket_id)   # identity turnaround: shared limit
    room.observe_onboarding_request(latency_s)      # this process's own cap (process_limit.py)

Errors (WaitingRoomError): ticket_not_found 404, unknown_flow 422, admission_token_invalid 401,
admission_token_expired 401, waiting_room_full 503, waiting_room_unavailable 503.
"""

from neobank.onboarding.waiting_room.errors import (
    AdmissionTokenExpired,
    AdmissionTokenInvalid,
    TicketNotFound,
    UnknownFlow,
    WaitingRoomError,
    WaitingRoomFull,
    WaitingRoomUnavailable,
)
from neobank.onboarding.waiting_room.limiter import Gradient2Config, LimiterState
from neobank.onboarding.waiting_room.memory_store import MemoryStore
from neobank.onboarding.waiting_room.redis_store import RedisStore
from neobank.onboarding.waiting_room.schemas import Admission, Ticket, WaitingRoomStats
from neobank.onboarding.waiting_room.service import FLOWS, WaitingRoom, build_waiting_room
from neobank.onboarding.waiting_room.store import RoomPolicy, WaitingRoomStore

__all__ = [
    "FLOWS",
    "Admission",
    "AdmissionTokenExpired",
    "AdmissionTokenInvalid",
    "Gradient2Config",
    "LimiterState",
    "MemoryStore",
    "RedisStore",
    "RoomPolicy",
    "Ticket",
    "TicketNotFound",
    "UnknownFlow",
    "WaitingRoom",
    "WaitingRoomError",
    "WaitingRoomFull",
    "WaitingRoomStats",
    "WaitingRoomStore",
    "WaitingRoomUnavailable",
    "build_waiting_room",
]
