"""Synthetic people and samples with known figures, for the analysis and report tests."""

from __future__ import annotations

from neobank.loadtest.records import PersonRecord, RequestRecord
from neobank.loadtest.sampler import Sample

t0 = 1000.0
admitted_at = [1010, 1011, 1012, 1014, 1013, 1015, 1016, 1017, 1018, 1019]  # 3 and 4 swapped


def flawed_people() -> list[PersonRecord]:
    people = []
    for k in range(10):
        arrived = t0 + 0.5 * k
        issued = arrived + 0.01
        wait = admitted_at[k] - issued
        eta = {1: 2.0, 2: 50.0}.get(k, round(wait))  # people 1 and 2 were told wrong
        record = PersonRecord(
            person=k,
            arrived_at=arrived,
            ticket_id=f"t{k}",
            issued_at=issued,
            first_position=k,
            first_eta_s=eta,
            admitted_at=float(admitted_at[k]),
            admitted_seen_at=admitted_at[k] + 0.3,
            requests=[RequestRecord("POST /v1/waiting-room/tickets", arrived, 201, float(k + 1))],
        )
        if k < 8:
            record.outcome, record.completed_at = "completed", 1020 + 0.25 * k
        people.append(record)
    people[8].outcome, people[8].failure = "failed", "POST /v1/onboarding: 500 internal"
    people[8].requests += [
        RequestRecord("POST /v1/onboarding", 1019.0, 500, 3.0, "internal"),
        RequestRecord("POST /v1/onboarding", 1019.5, 500, 3.0, "internal"),
        RequestRecord("POST /v1/onboarding", 1020.0, 0, 60_000.0),
    ]
    people[9].outcome, people[9].failure = "unfinished", "GreenletExit"
    people[0].requests.append(RequestRecord("GET /_sim/clearing/credits", 1020.0, 503, 1.0))
    return people


def flawed_samples() -> list[Sample]:
    def agencies(requests: int, throttled: int) -> dict[str, dict[str, int]]:
        return {"identity": {"requests": requests, "ok": 0, "errors": 0, "throttled": throttled}}

    def room(waiting: int) -> dict[str, float]:
        return {"waiting": waiting, "active": 2, "limit": 8, "admission_rate_per_s": 1.0}

    return [
        Sample(t0, room(0), agencies(10, 0), 0),
        Sample(t0 + 1, room(5), agencies(60, 2), 0),
        Sample(t0 + 2, None, agencies(110, 4), 1),
    ]


def perfect_run(
    people: int = 200, arrival_rate_per_s: float = 100, completion_rate_per_s: float = 46
) -> tuple[list[PersonRecord], list[Sample]]:
    """Everyone admitted in order at the completion rate, told the exact wait, completed a
    second after admission; the identity agency throttled 1% of its requests."""
    records = []
    for k in range(people):
        arrived = t0 + k / arrival_rate_per_s
        admitted = t0 + k / completion_rate_per_s
        records.append(
            PersonRecord(
                person=k,
                arrived_at=arrived,
                outcome="completed",
                ticket_id=f"t{k}",
                issued_at=arrived,
                first_position=k,
                first_eta_s=admitted - arrived,
                admitted_at=admitted,
                admitted_seen_at=admitted + 0.1,
                completed_at=admitted + 1,
                requests=[RequestRecord("POST /v1/waiting-room/tickets", arrived, 201, 2.0)],
            )
        )
    identity = [
        {"identity": {"requests": n, "ok": n, "errors": 0, "throttled": n // 100}} for n in (0, 500)
    ]
    room = {"waiting": 0, "active": 0, "limit": 10, "admission_rate_per_s": 46.0}
    samples = [Sample(t0, room, identity[0], 0), Sample(t0 + 6, room, identity[1], people)]
    return records, samples
