"""HTTP routes of the waiting room: take a ticket, poll it, and the ops view of the queue."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from neobank.api.deps import Ops, Services, ServicesDep
from neobank.api.errors import problem_response
from neobank.api.json_body import JsonBody, Parsed
from neobank.api.limits import wait_ms_query
from neobank.api.responses import FastJSON
from neobank.onboarding.waiting_room.errors import WaitingRoomFull, WaitingRoomUnavailable
from neobank.onboarding.waiting_room.schemas import TicketIn, TicketOut, WaitingRoomStatsOut
from neobank.onboarding.waiting_room.service import WaitingRoom

__all__ = ["router"]

router = APIRouter(tags=["waiting room"])

_TICKET_BODY = JsonBody(TicketIn)
TicketBody = Annotated[Parsed[TicketIn], Depends(_TICKET_BODY)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "ticket_not_found"},
    503: {"description": "waiting_room_full (Retry-After), waiting_room_unavailable, overloaded"},
}


def _room(services: Services) -> WaitingRoom:
    if services.waiting_room is None:
        raise WaitingRoomUnavailable("this process has no waiting room")
    return services.waiting_room


@router.post(
    "/v1/waiting-room/tickets",
    status_code=201,
    response_model=TicketOut,
    responses=_ERRORS,
    openapi_extra=_TICKET_BODY.openapi,
)
async def take_ticket(body: TicketBody, services: ServicesDep) -> Response:
    """Join the queue for a flow (`signup`). Poll the ticket after `poll_after_ms`; once it is
    `admitted` its `admission_token` starts one onboarding within 15 minutes."""
    try:
        ticket = await _room(services).take_ticket(body.get().flow)
    except WaitingRoomFull as exc:
        return problem_response(exc.problem(), headers={"Retry-After": str(exc.retry_after_s)})
    return FastJSON(ticket.to_json(), status_code=201)


@router.get("/v1/waiting-room/tickets/{ticket_id}", response_model=TicketOut, responses=_ERRORS)
async def get_ticket(
    ticket_id: str,
    services: ServicesDep,
    wait_ms: Annotated[
        int,
        wait_ms_query(
            "While the ticket waits, answer as soon as it is admitted or after "
            "this many milliseconds, whichever comes first (long poll; the answer then has "
            "the fresh position and ETA); 0 answers at once"
        ),
    ] = 0,
) -> FastJSON:
    """The ticket now: its place in the queue and ETA, or its admission token. An app may
    poll after `poll_after_ms`, or long-poll with `wait_ms` and ask again at once."""
    room = _room(services)
    ticket = await (room.wait(ticket_id, wait_ms / 1000) if wait_ms else room.ticket(ticket_id))
    return FastJSON(ticket.to_json())


@router.get("/v1/waiting-room", response_model=WaitingRoomStatsOut, tags=["operations"])
async def waiting_room_stats(caller: Ops, services: ServicesDep) -> FastJSON:
    """Ops: the queue's length, the admitted sessions, the limit in force (`limit`: the
    `shared_limit` that the identity check's turnaround drives, capped by `process_limit`,
    this process's own from its onboarding requests' latency, null until it has one) and the
    admission rate."""
    return FastJSON((await _room(services).stats()).to_json())
