"""Long-polled tickets (`WaitingRoom.wait`, GET ...?wait_ms=): answered once admitted, else
after the wait with a fresh place; both stores."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from neobank.onboarding.waiting_room.rate import (
    RECHECK_MAX_S,
    RECHECK_MIN_S,
    recheck_after_s,
)
from tests.api.problems import assert_problem
from tests.onboarding.waiting_room.conftest import RoomFactory
from tests.onboarding.waiting_room.test_router import TICKETS, small_room

WAIT_S = 3.0


async def test_an_admitted_ticket_answers_at_once(make_room: RoomFactory) -> None:
    room = make_room(limit=1)
    ticket = await room.take_ticket("signup")
    started = time.monotonic()
    waited = await room.wait(ticket.ticket_id, WAIT_S)
    assert waited.status == "admitted" and waited.admission_token
    assert time.monotonic() - started < WAIT_S / 2


async def test_a_slot_freed_during_the_wait_admits_the_waiting_head(
    make_room: RoomFactory,
) -> None:
    room = make_room(limit=1)
    first = await room.take_ticket("signup")
    second = await room.take_ticket("signup")
    assert second.status == "waiting" and second.position == 0
    started = time.monotonic()
    waiting = asyncio.create_task(room.wait(second.ticket_id, WAIT_S))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    await room.release(first.ticket_id)
    admitted = await asyncio.wait_for(waiting, WAIT_S)
    assert admitted.status == "admitted" and admitted.admission_token
    assert time.monotonic() - started < WAIT_S / 2


async def test_a_slot_freed_by_another_process_is_seen_at_the_next_recheck(
    make_room: RoomFactory,
) -> None:
    """Freed in the store behind this room's back, as another process sharing the Redis
    queue would: no wake-up here, the recheck finds it."""
    here = make_room(limit=1)
    first = await here.take_ticket("signup")
    second = await here.take_ticket("signup")
    waiting = asyncio.create_task(here.wait(second.ticket_id, WAIT_S))
    await asyncio.sleep(0.2)
    # The store frees the slot without this room's knowledge (as another process would).
    await here.store.release(first.ticket_id, time.time())
    admitted = await asyncio.wait_for(waiting, WAIT_S)
    assert admitted.status == "admitted"


async def test_a_ticket_still_waiting_answers_after_the_wait_with_its_place(
    make_room: RoomFactory,
) -> None:
    room = make_room(limit=1)
    await room.take_ticket("signup")
    await room.take_ticket("signup")
    third = await room.take_ticket("signup")
    started = time.monotonic()
    waited = await room.wait(third.ticket_id, 0.5)
    elapsed = time.monotonic() - started
    assert waited.status == "waiting" and waited.position == 1
    assert 0.5 <= elapsed < 0.5 + RECHECK_MAX_S


def test_the_back_of_the_queue_is_read_less_often_than_the_head() -> None:
    assert recheck_after_s(0) == RECHECK_MIN_S
    assert recheck_after_s(8) == 2.0
    assert recheck_after_s(3600) == RECHECK_MAX_S


async def test_a_long_poll_over_http_answers_when_admitted(
    app: Any, client: httpx.AsyncClient
) -> None:
    room = small_room(app, limit=1)
    first = (await client.post(TICKETS, json={"flow": "signup"})).json()
    second = (await client.post(TICKETS, json={"flow": "signup"})).json()
    assert second["status"] == "waiting"
    poll = asyncio.create_task(client.get(f"{TICKETS}/{second['ticket_id']}?wait_ms=5000"))
    await asyncio.sleep(0.2)
    assert not poll.done()
    await room.release(first["ticket_id"])
    response = await asyncio.wait_for(poll, 5.0)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "admitted" and response.json()["admission_token"]


async def test_a_wait_past_the_bound_is_a_validation_problem(client: httpx.AsyncClient) -> None:
    ticket = (await client.post(TICKETS, json={"flow": "signup"})).json()
    for wait in ("25001", "-1", "soon"):
        response = await client.get(f"{TICKETS}/{ticket['ticket_id']}?wait_ms={wait}")
        assert_problem(response, 422, "validation_error")
