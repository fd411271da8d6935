"""Priority load shedding in the real app: sign-up traffic is refused first when the process is
busy, while existing customers' transfers keep going.

Requests are held in flight deterministically: their bodies are streamed and stop half-way
until the test opens a gate, so the middleware counts them for as long as the test wants.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from neobank.api.shedding import WATCH_INFLIGHT_MAX, LoadShedder, Traffic, classify
from tests.api.problems import assert_problem
from tests.conftest import BankDriver
from tests.onboarding.waiting_room.test_router import small_room

TICKETS = "/v1/waiting-room/tickets"
JSON = {"Content-Type": "application/json"}


def shed_total(traffic: str) -> float:
    value = REGISTRY.get_sample_value("neobank_shed_requests_total", {"traffic": traffic})
    return value or 0.0


def held(body: dict[str, Any], gate: asyncio.Event) -> Callable[[], AsyncIterator[bytes]]:
    """A request body sent in two halves, the second once `gate` opens."""
    raw = orjson.dumps(body)

    async def chunks() -> AsyncIterator[bytes]:
        yield raw[:5]
        await gate.wait()
        yield raw[5:]

    return chunks


async def until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not condition():
            await asyncio.sleep(0.005)


def shedder_of(app: Any, *, wait_s: float = 0.0) -> LoadShedder:
    """The app's shedder; refusing at once unless told to let requests wait."""
    shedder = app.state.shedder
    assert isinstance(shedder, LoadShedder)
    shedder.signup_wait_s = wait_s
    return shedder


async def test_a_sign_up_burst_is_shed_while_transfers_all_go_through(
    app: Any, client: httpx.AsyncClient, bank: BankDriver
) -> None:
    shedder = shedder_of(app)
    shedder.signup_inflight_max = 4
    source = await bank.account(funded=1_000_000)
    target = await bank.account()
    shed_before, other_before = shed_total("signup"), shed_total("other")
    gate = asyncio.Event()

    burst = [
        asyncio.create_task(
            client.post(TICKETS, content=held({"flow": "signup"}, gate)(), headers=JSON)
        )
        for _ in range(12)
    ]
    # Four get in and hold (their bodies wait at the gate); the other eight are answered.
    await until(lambda: sum(t.done() for t in burst) == 8)
    assert shedder.inflight_by_traffic[Traffic.SIGNUP] == 4
    for task in burst:
        if task.done():
            body = assert_problem(task.result(), 503, "overloaded")
            assert task.result().headers["retry-after"] == str(shedder.signup_retry_after_s)
            assert "try again" in str(body["detail"])
    assert shed_total("signup") - shed_before == 8

    # With sign-up at its threshold, a burst of existing customers' transfers all succeed.
    transfers = await asyncio.gather(
        *(bank.transfer(source["id"], target["id"], 1_000) for _ in range(24))
    )
    assert [r.status_code for r in transfers] == [201] * 24
    assert await bank.balance(target["id"]) == 24_000
    assert shed_total("other") == other_before

    gate.set()
    answered = await asyncio.gather(*(t for t in burst if not t.done()))
    assert [r.status_code for r in answered] == [201] * 4
    assert shedder.inflight == 0
    # The load has passed: sign-up is served again.
    again = await client.post(TICKETS, json={"flow": "signup"})
    assert again.status_code == 201, again.text


async def test_below_its_threshold_the_same_burst_is_not_shed(
    app: Any, client: httpx.AsyncClient
) -> None:
    shedder = shedder_of(app)
    shedder.signup_inflight_max = 12
    gate = asyncio.Event()
    burst = [
        asyncio.create_task(
            client.post(TICKETS, content=held({"flow": "signup"}, gate)(), headers=JSON)
        )
        for _ in range(12)
    ]
    await until(lambda: shedder.inflight_by_traffic[Traffic.SIGNUP] == 12)
    assert not any(t.done() for t in burst)
    gate.set()
    assert [r.status_code for r in await asyncio.gather(*burst)] == [201] * 12


async def test_ticket_polls_get_through_after_new_sign_ups_are_refused(
    app: Any, client: httpx.AsyncClient
) -> None:
    shedder = shedder_of(app)
    shedder.signup_inflight_max, shedder.poll_inflight_max = 2, 3
    ticket = (await client.post(TICKETS, json={"flow": "signup"})).json()
    gate = asyncio.Event()
    holding = [
        asyncio.create_task(
            client.post(TICKETS, content=held({"flow": "signup"}, gate)(), headers=JSON)
        )
        for _ in range(2)
    ]
    await until(lambda: shedder.inflight == 2)
    assert_problem(await client.post(TICKETS, json={"flow": "signup"}), 503, "overloaded")
    assert (await client.get(f"{TICKETS}/{ticket['ticket_id']}")).status_code == 200
    assert (await client.get("/v1/waiting-room")).status_code == 200
    gate.set()
    assert [r.status_code for r in await asyncio.gather(*holding)] == [201, 201]


async def test_past_the_hard_cap_everything_but_health_is_shed(
    app: Any, client: httpx.AsyncClient, bank: BankDriver
) -> None:
    shedder = shedder_of(app)
    source = await bank.account(funded=100_000)
    target = await bank.account()
    shedder.signup_inflight_max, shedder.poll_inflight_max, shedder.inflight_max = 1, 2, 3
    gate = asyncio.Event()
    transfer = {
        "from_account_id": source["id"],
        "to_account_id": target["id"],
        "amount": 100,
        "currency": "KRW",
    }
    holding = [
        asyncio.create_task(
            client.post(
                "/v1/transfers",
                content=held(transfer, gate)(),
                headers={**JSON, "Idempotency-Key": f"held-{i}"},
            )
        )
        for i in range(3)
    ]
    await until(lambda: shedder.inflight_by_traffic[Traffic.OTHER] == 3)
    refused = await bank.transfer(source["id"], target["id"], 100)
    assert_problem(refused, 503, "overloaded")
    assert refused.headers["retry-after"] == str(shedder.retry_after_s)
    for path in ("/healthz", "/readyz", "/metrics"):
        assert (await client.get(path)).status_code == 200
    gate.set()
    assert [r.status_code for r in await asyncio.gather(*holding)] == [201] * 3
    assert await bank.balance(target["id"]) == 300


@pytest.mark.parametrize(
    ("method", "path", "traffic"),
    [
        ("POST", "/v1/waiting-room/tickets", Traffic.SIGNUP),
        ("POST", "/v1/onboarding", Traffic.SIGNUP),
        ("POST", "/v1/onboarding/3f1c/id-verification", Traffic.SIGNUP),
        ("GET", "/v1/onboarding/3f1c", Traffic.POLL),
        ("GET", "/v1/waiting-room/tickets/abc", Traffic.POLL),
        ("GET", "/v1/waiting-room", Traffic.POLL),
        ("POST", "/v1/auth/token", Traffic.OTHER),
        ("POST", "/v1/transfers", Traffic.OTHER),
        ("GET", "/v1/accounts/1", Traffic.OTHER),
        ("GET", "/healthz", None),
        ("GET", "/metrics", None),
    ],
)
def test_requests_are_classified_by_path(method: str, path: str, traffic: Traffic | None) -> None:
    assert classify(method, path) is traffic


@pytest.mark.parametrize(
    ("query", "traffic"),
    [
        (b"wait_ms=20000", Traffic.WATCH),
        (b"x=1&wait_ms=5", Traffic.WATCH),
        (b"wait_ms=0", Traffic.POLL),
        (b"wait_ms=000", Traffic.POLL),
        (b"no_wait_ms=5", Traffic.POLL),
        (b"", Traffic.POLL),
    ],
)
def test_long_polls_are_watches(query: bytes, traffic: Traffic) -> None:
    assert classify("GET", "/v1/onboarding/3f1c", query) is traffic
    assert classify("GET", "/v1/waiting-room/tickets/abc", query) is traffic
    assert classify("POST", "/v1/onboarding/3f1c/complete", query) is Traffic.SIGNUP
    # Nothing else long-polls: a wait_ms there would be a way around the poll threshold.
    assert classify("GET", "/v1/waiting-room", query) is Traffic.POLL


async def test_past_the_long_polls_cap_a_ticket_long_poll_is_answered_at_once(
    app: Any, client: httpx.AsyncClient
) -> None:
    small_room(app, limit=1)
    shedder = shedder_of(app)
    await client.post(TICKETS, json={"flow": "signup"})
    waiting = (await client.post(TICKETS, json={"flow": "signup"})).json()
    shedder.watch_inflight_max = 0
    try:
        response = await asyncio.wait_for(
            client.get(f"{TICKETS}/{waiting['ticket_id']}?wait_ms=20000"), 5.0
        )
    finally:
        shedder.watch_inflight_max = WATCH_INFLIGHT_MAX
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "waiting" and response.json()["position"] == 0


def test_watches_do_not_take_the_places_of_sign_ups() -> None:
    shedder = LoadShedder(signup_inflight_max=2, poll_inflight_max=4, inflight_max=8)
    shedder.watch_inflight_max = 3
    assert all(shedder.try_enter(Traffic.WATCH) for _ in range(3))
    assert not shedder.try_enter(Traffic.WATCH)  # their own cap
    assert shedder.inflight == 0
    assert shedder.try_enter(Traffic.SIGNUP) and shedder.try_enter(Traffic.SIGNUP)
    assert not shedder.try_enter(Traffic.SIGNUP)
    shedder.leave(Traffic.WATCH)
    assert shedder.inflight == 2 and shedder.inflight_by_traffic[Traffic.WATCH] == 2
    assert shedder.try_enter(Traffic.WATCH)


def test_thresholds_must_be_ordered() -> None:
    with pytest.raises(ValueError):
        LoadShedder(signup_inflight_max=10, poll_inflight_max=5)
    with pytest.raises(ValueError):
        LoadShedder(poll_inflight_max=2_000, inflight_max=1_000)


async def test_a_short_burst_waits_for_a_place_instead_of_being_shed(
    app: Any, client: httpx.AsyncClient
) -> None:
    shedder = shedder_of(app, wait_s=5.0)
    shedder.signup_inflight_max = 4
    shed_before = shed_total("signup")
    gate = asyncio.Event()
    burst = [
        asyncio.create_task(
            client.post(TICKETS, content=held({"flow": "signup"}, gate)(), headers=JSON)
        )
        for _ in range(12)
    ]
    # Four hold their place, eight are parked: nobody is answered yet.
    await until(lambda: shedder.parked == 8)
    assert shedder.inflight_by_traffic[Traffic.SIGNUP] == 4
    assert not any(t.done() for t in burst)
    gate.set()
    answered = await asyncio.gather(*burst)
    assert [r.status_code for r in answered] == [201] * 12
    assert shed_total("signup") == shed_before
    assert shedder.inflight == 0 and shedder.parked == 0


async def test_a_parked_request_is_refused_when_its_wait_runs_out(
    app: Any, client: httpx.AsyncClient
) -> None:
    shedder = shedder_of(app, wait_s=0.2)
    shedder.signup_inflight_max = 1
    gate = asyncio.Event()
    holder = asyncio.create_task(
        client.post(TICKETS, content=held({"flow": "signup"}, gate)(), headers=JSON)
    )
    await until(lambda: shedder.inflight == 1)
    refused = await client.post(TICKETS, json={"flow": "signup"})
    assert_problem(refused, 503, "overloaded")
    assert shedder.parked == 0
    gate.set()
    assert (await holder).status_code == 201


async def test_onboarding_requests_are_timed_from_arrival_for_the_waiting_room(
    app: Any, client: httpx.AsyncClient
) -> None:
    shedder = shedder_of(app, wait_s=0.2)
    timed: list[float] = []
    shedder.on_onboarding_request = timed.append
    shedder.signup_inflight_max = 1
    gate = asyncio.Event()
    holder = asyncio.create_task(
        client.post(TICKETS, content=held({"flow": "signup"}, gate)(), headers=JSON)
    )
    await until(lambda: shedder.inflight == 1)
    # Parked for its 0.2 s, then refused: the time it waited is what the room learns.
    refused = await client.post("/v1/onboarding", json={})
    assert_problem(refused, 503, "overloaded")
    assert len(timed) == 1 and timed[0] >= 0.2
    gate.set()
    assert (await holder).status_code == 201  # a ticket: not admitted work, not timed
    answered = await client.post("/v1/onboarding", json={})
    assert_problem(answered, 400, "idempotency_key_required")  # answered, so timed too
    await client.get("/v1/onboarding/00000000-0000-0000-0000-000000000000")  # a poll
    await client.get("/healthz")
    assert len(timed) == 2 and timed[1] < 0.2


async def test_parked_requests_get_freed_places_in_arrival_order() -> None:
    shedder = LoadShedder(signup_inflight_max=1, poll_inflight_max=2, inflight_max=4)
    shedder.signup_wait_s = 5.0
    assert shedder.try_enter(Traffic.SIGNUP)
    served: list[int] = []

    async def sign_up(n: int) -> None:
        assert await shedder.enter(Traffic.SIGNUP)
        served.append(n)

    waiting = []
    for n in range(3):
        waiting.append(asyncio.create_task(sign_up(n)))
        await until(lambda n=n: shedder.parked == n + 1)  # type: ignore[misc]
    # A poll passes parked sign-ups (its threshold is higher) ...
    assert shedder.try_enter(Traffic.POLL)
    shedder.leave(Traffic.POLL)
    for n in range(3):
        shedder.leave(Traffic.SIGNUP)
        # ... but a sign-up arriving as a place frees does not take it from the parked ones.
        assert not shedder.try_enter(Traffic.SIGNUP)
        await until(lambda n=n: served == list(range(n + 1)))  # type: ignore[misc]
    await asyncio.gather(*waiting)
    shedder.leave(Traffic.SIGNUP)
    assert shedder.inflight == 0 and shedder.parked == 0


async def test_a_parked_request_that_goes_away_gives_its_place_back() -> None:
    shedder = LoadShedder(signup_inflight_max=1, poll_inflight_max=2, inflight_max=4)
    shedder.signup_wait_s = 5.0
    assert shedder.try_enter(Traffic.SIGNUP)
    gone = asyncio.create_task(shedder.enter(Traffic.SIGNUP))
    await until(lambda: shedder.parked == 1)
    gone.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert shedder.parked == 0
    shedder.leave(Traffic.SIGNUP)
    assert shedder.inflight == 0 and shedder.try_enter(Traffic.SIGNUP)
