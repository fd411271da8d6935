"""The queue on both stores: FIFO places, admissions up to the limit, slots freed by release or
by their TTL, idle tickets dropped, the bound on waiting tickets, and ETAs from the rate."""

from __future__ import annotations

import asyncio
import math

import pytest

from neobank.onboarding.waiting_room import (
    TicketNotFound,
    UnknownFlow,
    WaitingRoomFull,
)
from neobank.onboarding.waiting_room.rate import ADMISSION_RATE_ASSUMED_PER_S
from tests.onboarding.waiting_room.conftest import FakeClock, RoomFactory


async def test_tickets_wait_in_fifo_order_behind_the_admitted(make_room: RoomFactory) -> None:
    room = make_room(limit=2)
    tickets = [await room.take_ticket("signup") for _ in range(6)]
    assert [t.status for t in tickets] == ["admitted"] * 2 + ["waiting"] * 4
    assert [t.position for t in tickets] == [0, 0, 0, 1, 2, 3]
    assert all(t.admission_token for t in tickets[:2])
    assert not any(t.admission_token or t.admitted_at for t in tickets[2:])
    polled = [await room.ticket(t.ticket_id) for t in tickets[2:]]
    assert [t.position for t in polled] == [0, 1, 2, 3]
    stats = await room.stats()
    assert (stats.waiting, stats.active, stats.limit) == (4, 2, 2)
    assert (stats.tickets_total, stats.admitted_total) == (6, 2)


async def test_a_release_admits_the_head_of_the_queue_whoever_polls(
    make_room: RoomFactory,
) -> None:
    room = make_room(limit=3)
    tickets = [await room.take_ticket("signup") for _ in range(5)]
    fourth, fifth = tickets[3], tickets[4]
    assert (await room.ticket(fifth.ticket_id)).position == 1
    await room.release(tickets[0].ticket_id)
    # The fifth polls first, but the fourth was ahead: it is the one let in.
    assert (await room.ticket(fifth.ticket_id)).position == 0
    admitted = await room.ticket(fourth.ticket_id)
    assert admitted.status == "admitted" and admitted.admission_token
    assert (await room.stats()).active == 3
    await room.release(tickets[1].ticket_id)
    assert (await room.ticket(fifth.ticket_id)).status == "admitted"
    with pytest.raises(TicketNotFound):
        await room.ticket(tickets[0].ticket_id)  # released: the session is over


async def test_concurrent_takes_never_admit_past_the_limit(make_room: RoomFactory) -> None:
    room = make_room(limit=10)
    tickets = await asyncio.gather(*(room.take_ticket("signup") for _ in range(40)))
    assert sum(t.status == "admitted" for t in tickets) == 10
    waiting = sorted(t.position for t in tickets if t.status == "waiting")
    assert waiting == list(range(30))
    assert len({t.ticket_id for t in tickets}) == 40


async def test_a_slot_is_freed_when_its_ttl_runs_out(
    make_room: RoomFactory, clock: FakeClock
) -> None:
    room = make_room(limit=1, slot_ttl_s=60, ticket_idle_s=600)
    first = await room.take_ticket("signup")
    second = await room.take_ticket("signup")
    clock.advance(59)
    assert (await room.ticket(second.ticket_id)).status == "waiting"
    clock.advance(2)
    assert (await room.ticket(second.ticket_id)).status == "admitted"
    with pytest.raises(TicketNotFound):
        await room.ticket(first.ticket_id)
    assert (await room.stats()).active == 1


async def test_a_ticket_nobody_polls_is_dropped_and_no_longer_counted(
    make_room: RoomFactory, clock: FakeClock
) -> None:
    room = make_room(limit=1, ticket_idle_s=30)
    await room.take_ticket("signup")
    gone = await room.take_ticket("signup")
    kept = await room.take_ticket("signup")
    assert kept.position == 1
    clock.advance(20)
    await room.ticket(kept.ticket_id)
    clock.advance(15)
    assert (await room.ticket(kept.ticket_id)).position == 0
    with pytest.raises(TicketNotFound):
        await room.ticket(gone.ticket_id)
    assert (await room.stats()).waiting == 1


async def test_the_queue_is_bounded(make_room: RoomFactory) -> None:
    room = make_room(limit=1, waiting_max=2)
    for _ in range(3):
        await room.take_ticket("signup")
    with pytest.raises(WaitingRoomFull) as raised:
        await room.take_ticket("signup")
    assert raised.value.status == 503 and raised.value.code == "waiting_room_full"
    assert raised.value.retry_after_s > 0
    assert (await room.stats()).tickets_total == 3


async def test_unknown_flows_and_tickets_are_refused(make_room: RoomFactory) -> None:
    room = make_room()
    with pytest.raises(UnknownFlow):
        await room.take_ticket("loan")
    assert (await room.stats()).tickets_total == 0
    await room.take_ticket("signup")
    for ticket_id in ("x" * 22, "", "../../etc", "a" * 200, "bad id with spaces"):
        with pytest.raises(TicketNotFound):
            await room.ticket(ticket_id)
    await room.release("never-issued-ticket-id")  # harmless


async def test_eta_uses_the_assumed_rate_before_there_is_a_measurement(
    make_room: RoomFactory,
) -> None:
    room = make_room(limit=1)
    await room.take_ticket("signup")
    tickets = [await room.take_ticket("signup") for _ in range(4)]
    assert tickets[-1].position == 3
    assert tickets[-1].eta_seconds == math.ceil(3 / ADMISSION_RATE_ASSUMED_PER_S)
    assert (await room.stats()).admission_rate_per_s == 1.0  # one admission, one second


async def test_eta_follows_the_measured_admission_rate(
    make_room: RoomFactory, clock: FakeClock
) -> None:
    room = make_room(limit=5, ticket_idle_s=600)
    first = [await room.take_ticket("signup") for _ in range(5)]
    clock.advance(5)
    for ticket in first:
        await room.release(ticket.ticket_id)
    second = [await room.take_ticket("signup") for _ in range(5)]
    assert all(t.status == "admitted" for t in second)
    waiting = [await room.take_ticket("signup") for _ in range(30)]
    # Ten admissions over five seconds: 2 per second.
    assert (await room.stats()).admission_rate_per_s == 2.0
    assert [waiting[i].eta_seconds for i in (0, 1, 10, 29)] == [0, 1, 5, 15]
    assert waiting[0].poll_after_ms == 1_000  # next in line: poll soon
    assert waiting[29].poll_after_ms == 7_500  # half the ETA
    clock.advance(200)
    far = await room.ticket(waiting[29].ticket_id)
    assert (far.eta_seconds, far.poll_after_ms) == (29, 14_500)  # rate forgotten: assumed


async def test_ticket_ids_are_random_and_the_json_is_the_api_s(make_room: RoomFactory) -> None:
    room = make_room(limit=1)
    admitted = await room.take_ticket("signup")
    waiting = await room.take_ticket("signup")
    assert len(admitted.ticket_id) >= 22 and admitted.ticket_id != waiting.ticket_id
    assert set(admitted.to_json()) == {
        "ticket_id",
        "status",
        "position",
        "eta_seconds",
        "poll_after_ms",
        "issued_at",
        "admitted_at",
        "admission_token",
    }
    assert set(waiting.to_json()) == set(admitted.to_json()) - {"admitted_at", "admission_token"}
    assert admitted.to_json()["issued_at"].endswith("+00:00")
    again = await room.ticket(admitted.ticket_id)
    assert again.admission_token == admitted.admission_token  # the same token on every poll
