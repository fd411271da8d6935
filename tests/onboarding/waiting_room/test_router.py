"""The waiting room over HTTP, through the real app."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from neobank.onboarding.waiting_room import (
    Gradient2Config,
    RoomPolicy,
    WaitingRoom,
    build_waiting_room,
)
from tests.api.problems import assert_problem

TICKETS = "/v1/waiting-room/tickets"


def small_room(app: Any, *, limit: int, **policy: Any) -> WaitingRoom:
    """Swaps the app's room for one with a small limit, signing with the app's own key."""
    services = app.state.services
    room = build_waiting_room(
        redis_url=None,
        signing_key=services.tokens.signing_key,
        policy=RoomPolicy(**policy),
        limiter=Gradient2Config(limit_initial=limit, limit_min=1),
    )
    services.waiting_room = room
    return room


async def test_a_ticket_is_taken_admitted_and_polled(app: Any, client: httpx.AsyncClient) -> None:
    response = await client.post(TICKETS, json={"flow": "signup"})
    assert response.status_code == 201, response.text
    ticket = response.json()
    assert ticket["status"] == "admitted" and ticket["position"] == 0
    assert {"issued_at", "admitted_at", "admission_token", "poll_after_ms"} <= set(ticket)
    admission = app.state.services.waiting_room.verify_admission(ticket["admission_token"])
    assert admission.ticket_id == ticket["ticket_id"] and admission.flow == "signup"
    again = await client.get(f"{TICKETS}/{ticket['ticket_id']}")
    assert again.status_code == 200 and again.json() == ticket


async def test_tickets_wait_in_order_and_the_ops_view_counts_them(
    app: Any, client: httpx.AsyncClient
) -> None:
    small_room(app, limit=1)
    taken = [(await client.post(TICKETS, json={"flow": "signup"})).json() for _ in range(4)]
    assert [t["status"] for t in taken] == ["admitted", "waiting", "waiting", "waiting"]
    assert [t["position"] for t in taken] == [0, 0, 1, 2]
    assert all("admission_token" not in t for t in taken[1:])
    assert all(t["poll_after_ms"] >= 1_000 for t in taken[1:])
    stats = await client.get("/v1/waiting-room")
    assert stats.status_code == 200
    assert stats.json() == {
        "waiting": 3,
        "active": 1,
        "limit": 1,
        "shared_limit": 1,
        "process_limit": None,  # no onboarding request served yet
        "admitted_total": 1,
        "tickets_total": 4,
        "admission_rate_per_s": 1.0,
    }
    anonymous = await client.get("/v1/waiting-room", headers={"Authorization": ""})
    assert_problem(anonymous, 401, "unauthorized")
    exposed = (await client.get("/metrics")).text
    assert "neobank_waiting_room_waiting 3.0" in exposed
    assert "neobank_waiting_room_active 1.0" in exposed
    assert "neobank_waiting_room_limit 1.0" in exposed
    for name in ("admissions_total", "tickets_total", "refused_total"):
        assert f"neobank_waiting_room_{name} " in exposed
    assert "neobank_shed_requests_total" in exposed


async def test_a_full_room_answers_503_with_retry_after(
    app: Any, client: httpx.AsyncClient
) -> None:
    small_room(app, limit=1, waiting_max=1)
    for _ in range(2):
        assert (await client.post(TICKETS, json={"flow": "signup"})).status_code == 201
    response = await client.post(TICKETS, json={"flow": "signup"})
    assert_problem(response, 503, "waiting_room_full")
    assert int(response.headers["retry-after"]) > 0


async def test_bad_requests_are_problems(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get(f"{TICKETS}/{'x' * 22}"), 404, "ticket_not_found")
    assert_problem(await client.get(f"{TICKETS}/{'x' * 500}"), 404, "ticket_not_found")
    assert_problem(await client.post(TICKETS, json={"flow": "loan"}), 422, "validation_error")
    assert_problem(await client.post(TICKETS, json={}), 422, "validation_error")
    assert_problem(
        await client.post(TICKETS, json={"flow": "signup", "extra": 1}), 422, "validation_error"
    )
    broken = await client.post(TICKETS, content=b"{", headers={"Content-Type": "application/json"})
    assert_problem(broken, 422, "malformed_json")
    assert (await client.get("/v1/waiting-room")).json()["tickets_total"] == 0


async def test_the_routes_are_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert {"post"} <= set(paths[TICKETS])
    assert "get" in paths[TICKETS + "/{ticket_id}"] and "get" in paths["/v1/waiting-room"]


async def test_the_ops_view_shows_the_process_limit_once_onboarding_requests_were_timed(
    app: Any, client: httpx.AsyncClient
) -> None:
    small_room(app, limit=20)
    # A window of the onboarding requests' latency needs a second and 10 requests.
    for _ in range(10):
        refused = await client.post("/v1/onboarding", json={})
        assert refused.status_code == 400  # answered (no idempotency key), and timed
    assert (await client.get("/v1/waiting-room")).json()["process_limit"] is None
    await asyncio.sleep(1.05)
    await client.post("/v1/onboarding", json={})
    stats = (await client.get("/v1/waiting-room")).json()
    # Idle (no slot in use), so the process limit starts at the shared one and stays there.
    assert stats["process_limit"] == stats["shared_limit"] == stats["limit"] == 20
    exposed = (await client.get("/metrics")).text
    assert "neobank_waiting_room_process_limit 20.0" in exposed
