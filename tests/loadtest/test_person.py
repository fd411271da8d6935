"""One person's sign-up over HTTP against the fake bank (the real agency simulator's clearing
house carries the memo), and the rules that pick the next step."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from typing import Any

import httpx
import pytest

from neobank.loadtest.person import Person, PersonPlan, Reply, retry_attempts_max
from neobank.loadtest.records import PersonRecord
from neobank.loadtest.steps import next_action
from tests.loadtest.conftest import served
from tests.loadtest.fake_bank import FakeBankKnobs, create_fake_bank


class ClientHttp:
    """The person's HTTP protocol over an httpx client."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        base = str(client.base_url).rstrip("/")
        self.plan = PersonPlan(base, base + "/_agencies", run_salt=99, today=date.today())

    def request(
        self,
        method: str,
        url: str,
        *,
        name: str,
        json: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        response = self.client.request(method, url, json=json, headers=dict(headers or {}))
        body = response.json() if response.content else None
        return Reply(
            response.status_code, body, {k.lower(): v for k, v in response.headers.items()}
        )


def _bank(knobs: FakeBankKnobs) -> Iterator[httpx.Client]:
    with served(create_fake_bank(knobs)) as url, httpx.Client(base_url=url) as client:
        yield client


@pytest.fixture
def queued_bank() -> Iterator[httpx.Client]:
    """Five people ahead, admitted at 10/s: the person waits up to 0.5 s."""
    knobs = FakeBankKnobs(admit_rate_per_s=10, id_check_s=0.2, poll_after_ms=100)
    for client in _bank(knobs):
        for _ in range(5):
            client.post("/v1/waiting-room/tickets", json={"flow": "signup"})
        yield client


def _person(client: httpx.Client, index: int, sleep: Callable[[float], None]) -> Person:
    http = ClientHttp(client)
    return Person(http.plan, index, http, sleep=sleep)


def _quick_sleep(slept: list[float]) -> Callable[[float], None]:
    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(min(seconds, 0.05))

    return sleep


def test_a_person_signs_up_end_to_end(queued_bank: httpx.Client) -> None:
    emitted: list[PersonRecord] = []
    slept: list[float] = []
    record = _person(queued_bank, 0, sleep=_quick_sleep(slept)).run(emitted.append)
    assert emitted == [record]
    assert record.outcome == "completed" and record.failure is None
    assert record.first_position is not None and record.first_position >= 1
    # The waiting room's own times: the wait it predicted, then the wait it gave.
    assert record.wait_s is not None and 0.1 < record.wait_s <= 0.5 + 0.01
    assert record.first_eta_s == pytest.approx(record.wait_s, abs=0.01)
    assert record.admitted_seen_at is not None and record.admitted_seen_at >= record.arrived_at
    assert record.completed_at is not None
    order = ["ticket", "admitted", "started", "id_verification", "account_verification"]
    order += ["checks_passed", "confirm", "complete"]
    assert list(record.steps) == order
    assert [record.steps[s] for s in order] == sorted(record.steps[s] for s in order)
    endpoints = [r.endpoint for r in record.requests]
    assert endpoints.count("GET /v1/waiting-room/tickets/{id}") >= 2  # it polled
    assert "GET /_sim/clearing/credits" in endpoints
    assert all(r.status < 300 for r in record.requests)
    assert 0.1 in slept  # poll_after_ms honoured


def test_5xx_are_retried_and_recorded() -> None:
    for bank in _bank(FakeBankKnobs(start_failures=2)):
        slept: list[float] = []
        record = _person(bank, 1, sleep=_quick_sleep(slept)).run(lambda r: None)
    assert record.outcome == "completed"
    starts = [r.status for r in record.requests if r.endpoint == "POST /v1/onboarding"]
    assert starts == [500, 500, 201]
    assert slept[:2] == [0.5, 1.0]  # backoff without Retry-After


def test_a_bank_that_keeps_failing_loses_the_application_on_record() -> None:
    for bank in _bank(FakeBankKnobs(start_failures=1000)):
        record = _person(bank, 2, sleep=lambda s: None).run(lambda r: None)
    assert record.outcome == "failed"
    assert record.failure == "POST /v1/onboarding: 500 internal"
    starts = [r for r in record.requests if r.endpoint == "POST /v1/onboarding"]
    assert len(starts) == retry_attempts_max and {r.code for r in starts} == {"internal"}


def test_a_code_the_bank_refuses_fails_the_person() -> None:
    for bank in _bank(FakeBankKnobs(wrong_code=True)):
        record = _person(bank, 3, sleep=lambda s: None).run(lambda r: None)
    assert record.outcome == "failed"
    assert "confirm: 422 verification_code_mismatch" in (record.failure or "")
    assert record.completed_at is None


class Killed(BaseException):
    pass


def test_a_person_killed_while_waiting_is_recorded_unfinished(queued_bank: httpx.Client) -> None:
    emitted: list[PersonRecord] = []

    def killed(seconds: float) -> None:
        raise Killed

    with pytest.raises(Killed):
        _person(queued_bank, 4, sleep=killed).run(emitted.append)
    assert [(r.outcome, r.failure) for r in emitted] == [("unfinished", "Killed")]
    assert emitted[0].ticket_id is not None and emitted[0].admitted_at is None


def _onboarding(status: str, identity: str, account: str, **extra: Any) -> dict[str, Any]:
    steps = {
        "id_verification": {"status": identity, **extra},
        "account_verification": {"status": account},
    }
    return {"status": status, "steps": steps}


@pytest.mark.parametrize(
    ("document", "action"),
    [
        (_onboarding("in_progress", "not_started", "not_started"), "id_verification"),
        (_onboarding("in_progress", "pending", "not_started"), "account_verification"),
        (_onboarding("in_progress", "pending", "pending"), "wait"),
        (_onboarding("in_progress", "pending", "sent"), "wait"),  # the code after the id check
        (_onboarding("in_progress", "passed", "sent"), "confirm"),
        (_onboarding("in_progress", "passed", "passed"), "complete"),
        (_onboarding("ready", "passed", "passed"), "complete"),
        (_onboarding("completed", "passed", "passed"), "done"),
        (_onboarding("expired", "pending", "sent"), "failed: onboarding expired"),
        (
            _onboarding("in_progress", "failed", "sent", reason="reported_stolen"),
            "failed: id_verification failed (reported_stolen)",
        ),
    ],
)
def test_next_action(document: dict[str, Any], action: str) -> None:
    assert next_action(document) == action
