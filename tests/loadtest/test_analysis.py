"""Figures from synthetic people and samples whose answers are known."""

from __future__ import annotations

import pytest

from neobank.loadtest.analysis import analyse, eta_within_2x
from tests.loadtest.synthetic import flawed_people as _people
from tests.loadtest.synthetic import flawed_samples as _samples


def test_rates_losses_and_failures() -> None:
    f = analyse(_people(), _samples())
    assert (f.people, f.completed, f.failed, f.unfinished, f.lost) == (10, 8, 1, 1, 2)
    assert f.arrival_rate_per_s == pytest.approx(2.0)
    assert f.completion_rate_per_s == pytest.approx(4.0)  # 8 completions 0.25 s apart
    assert f.signups_per_hour == pytest.approx(4.0 * 3600)
    assert f.minutes_per_100k == pytest.approx(100_000 / 4.0 / 60)
    assert f.failures == {"POST /v1/onboarding: 500 internal": 1, "GreenletExit": 1}


def test_5xx_count_the_banks_answers_only() -> None:
    f = analyse(_people(), _samples())
    assert f.bank_5xx == 2 and f.bank_5xx_by_status == {"500": 2}
    assert f.bank_no_answer == 1
    agency = next(e for e in f.endpoints if e.endpoint == "GET /_sim/clearing/credits")
    assert agency.status_5xx == 1


def test_admission_order_and_eta_accuracy() -> None:
    f = analyse(_people(), _samples())
    assert (f.order_basis, f.admission_inversions) == ("server", 1)
    assert f.eta_pairs == 10
    assert f.eta_within_2x_share == pytest.approx(0.8)


def test_without_the_servers_times_order_is_judged_by_what_people_saw() -> None:
    people = _people()
    for record in people:
        record.issued_at = record.admitted_at = None
    f = analyse(people, _samples())
    assert (f.order_basis, f.admission_inversions) == ("observed", 1)


def test_latency_percentiles_per_endpoint() -> None:
    f = analyse(_people(), _samples())
    tickets = next(e for e in f.endpoints if e.endpoint == "POST /v1/waiting-room/tickets")
    assert (tickets.count, tickets.p50_ms, tickets.p90_ms, tickets.p99_ms) == (10, 5, 9, 10)
    start = next(e for e in f.endpoints if e.endpoint == "POST /v1/onboarding")
    # An unanswered request has no latency to count.
    assert (start.count, start.max_ms, start.no_answer) == (3, 3.0, 1)


def test_agency_throughput_and_throttling_from_the_samples() -> None:
    f = analyse(_people(), _samples())
    identity = f.agencies["identity"]
    assert (identity["requests"], identity["throttled"]) == (100, 4)
    assert f.agency_throttled_share("identity") == pytest.approx(0.04)
    assert f.series["identity_requests_per_s"] == [50.0, 50.0]
    assert f.series["identity_throttled_per_s"] == [2.0, 2.0]


def test_series_per_second() -> None:
    f = analyse(_people(), _samples())
    assert f.series["arrivals"][:6] == [2, 2, 2, 2, 2, 0]
    assert sum(f.series["completed"]) == 8 and f.series["completed"][20:22] == [4, 4]
    assert sum(f.series["admitted"]) == 10 and f.series["admitted"][10] == 1
    assert f.series["room_waiting"] == [0.0, 5.0]  # the failed read is left out


@pytest.mark.parametrize(
    ("predicted", "actual", "within"),
    [(10, 10, True), (10, 20, True), (10, 20.1, False), (10, 5, True), (10, 4.9, False),
     (0, 0.4, True), (0, 2.0, True), (0, 2.1, False), (3, 0, False)],
)  # fmt: skip
def test_eta_within_2x(predicted: float, actual: float, within: bool) -> None:
    assert eta_within_2x(predicted, actual) is within
