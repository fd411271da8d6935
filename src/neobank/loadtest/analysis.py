"""From the people's records and the once-a-second samples to the launch day's figures: rates,
losses, 5xx, admission order, ETA accuracy, latency per endpoint, agency throughput."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from neobank.loadtest.records import AGENCY_ENDPOINTS, PersonRecord
from neobank.loadtest.sampler import Sample
from neobank.loadtest.stats import count_inversions, per_second, percentile, sustained_rate_per_s

__all__ = ["EndpointLatency", "Figures", "analyse", "eta_within_2x"]

# Waits shorter than this are below what polling can resolve: 0.3 s against a 0 s ETA is right.
eta_floor_s = 1.0
eta_ratio_max = 2.0
failure_kinds_max = 10
signups_target = 100_000
seconds_per_hour = 3600


@dataclass(frozen=True)
class EndpointLatency:
    endpoint: str
    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    status_5xx: int
    no_answer: int


@dataclass
class Figures:
    people: int
    completed: int
    failed: int
    unfinished: int
    failures: dict[str, int]
    arrival_rate_per_s: float
    admission_rate_per_s: float
    completion_rate_per_s: float
    signups_per_hour: float
    minutes_per_100k: float | None
    bank_5xx: int
    bank_5xx_by_status: dict[str, int]
    bank_no_answer: int
    order_basis: str
    admission_inversions: int
    eta_pairs: int
    eta_within_2x_share: float
    wait_s: dict[str, float]
    signup_s: dict[str, float]
    endpoints: list[EndpointLatency]
    agencies: dict[str, dict[str, float]]
    series: dict[str, list[float]] = field(default_factory=dict)
    eta_points: list[tuple[float, float]] = field(default_factory=list)

    @property
    def lost(self) -> int:
        """People who arrived and never completed their sign-up."""
        return self.people - self.completed

    def agency_throttled_share(self, agency: str) -> float:
        return self.agencies.get(agency, {}).get("throttled_share", 0.0)


def eta_within_2x(predicted_s: float, actual_s: float) -> bool:
    """Within 2x either way, both floored at :data:`eta_floor_s`."""
    ratio = max(actual_s, eta_floor_s) / max(predicted_s, eta_floor_s)
    return 1 / eta_ratio_max <= ratio <= eta_ratio_max


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {f"p{p}": percentile(values, p) for p in (50, 90, 99)} | {
        "max": max(values, default=0.0)
    }


def _endpoints(records: Sequence[PersonRecord]) -> list[EndpointLatency]:
    by_name: dict[str, list[tuple[float, int]]] = {}
    for record in records:
        for request in record.requests:
            by_name.setdefault(request.endpoint, []).append((request.latency_ms, request.status))
    rows = []
    for name, seen in sorted(by_name.items()):
        answered = [ms for ms, status in seen if status]
        rows.append(
            EndpointLatency(
                endpoint=name,
                count=len(seen),
                p50_ms=percentile(answered, 50),
                p90_ms=percentile(answered, 90),
                p99_ms=percentile(answered, 99),
                max_ms=max(answered, default=0.0),
                status_5xx=sum(1 for _, status in seen if status >= 500),
                no_answer=sum(1 for _, status in seen if status == 0),
            )
        )
    return rows


def _admission_order(records: Sequence[PersonRecord]) -> tuple[str, int]:
    """Inversions of the admission times when people are put in ticket order."""
    admitted = [r for r in records if r.admitted_at is not None or r.admitted_seen_at is not None]
    server = all(r.issued_at is not None and r.admitted_at is not None for r in admitted)
    if server:
        ordered = sorted(admitted, key=lambda r: (r.issued_at or 0.0, r.arrived_at))
        return "server", count_inversions([r.admitted_at or 0.0 for r in ordered])
    ordered = sorted(admitted, key=lambda r: r.arrived_at)
    return "observed", count_inversions([r.admitted_seen_at or 0.0 for r in ordered])


def _agency_totals(samples: Sequence[Sample]) -> dict[str, dict[str, float]]:
    """Each agency's counters over the run: the last sample less the first."""
    read = [s.agencies for s in samples if s.agencies is not None]
    if not read:
        return {}
    first, last = read[0], read[-1]
    totals: dict[str, dict[str, float]] = {}
    for agency, counters in last.items():
        delta = {
            name: float(counters.get(name, 0) - first.get(agency, {}).get(name, 0))
            for name in ("requests", "ok", "errors", "throttled")
        }
        delta["throttled_share"] = (
            delta["throttled"] / delta["requests"] if delta["requests"] else 0.0
        )
        totals[agency] = delta
    return totals


def _series(
    records: Sequence[PersonRecord], samples: Sequence[Sample], start: float
) -> dict[str, list[float]]:
    events = [r.arrived_at for r in records]
    events += [r.completed_at for r in records if r.completed_at is not None]
    events += [s.at for s in samples]
    seconds = max(1, math.ceil(max(events, default=start) - start) + 1)
    admitted = [r.admitted_at or r.admitted_seen_at for r in records]
    series: dict[str, list[float]] = {
        "second": [float(s) for s in range(seconds)],
        "arrivals": [float(c) for c in per_second([r.arrived_at for r in records], start, seconds)],
        "admitted": [float(c) for c in per_second([a for a in admitted if a], start, seconds)],
        "completed": [
            float(c)
            for c in per_second([r.completed_at for r in records if r.completed_at], start, seconds)
        ],
    }
    rooms = [s for s in samples if s.room is not None]
    series["room_at"] = [s.at - start for s in rooms]
    for name in ("waiting", "active", "limit", "admission_rate_per_s"):
        series[f"room_{name}"] = [float((s.room or {}).get(name) or 0) for s in rooms]
    read = [s for s in samples if s.agencies is not None]
    series["agency_at"] = [b.at - start for b in read[1:]]
    for agency in ("identity", "clearing"):
        for name in ("requests", "ok", "errors", "throttled"):

            def count(sample: Sample, agency: str = agency, name: str = name) -> float:
                return float((sample.agencies or {}).get(agency, {}).get(name, 0))

            series[f"{agency}_{name}_per_s"] = [
                (count(b) - count(a)) / (b.at - a.at) if b.at > a.at else 0.0
                for a, b in itertools.pairwise(read)
            ]
    return series


def analyse(records: Sequence[PersonRecord], samples: Sequence[Sample]) -> Figures:
    start = min((r.arrived_at for r in records), default=samples[0].at if samples else 0.0)
    completed = [r for r in records if r.outcome == "completed"]
    done_at = [r.completed_at for r in completed if r.completed_at is not None]
    rate = sustained_rate_per_s(done_at)
    bank = [q for r in records for q in r.requests if q.endpoint not in AGENCY_ENDPOINTS]
    order_basis, inversions = _admission_order(records)
    eta = [(r.first_eta_s, r.wait_s) for r in records if r.first_eta_s is not None]
    eta_points = [(float(p), float(a)) for p, a in eta if a is not None]
    admitted = [r.admitted_at or r.admitted_seen_at for r in records]
    return Figures(
        people=len(records),
        completed=len(completed),
        failed=sum(1 for r in records if r.outcome == "failed"),
        unfinished=sum(1 for r in records if r.outcome == "unfinished"),
        failures=dict(
            Counter(r.failure or "?" for r in records if r.outcome != "completed").most_common(
                failure_kinds_max
            )
        ),
        arrival_rate_per_s=sustained_rate_per_s([r.arrived_at for r in records]),
        admission_rate_per_s=sustained_rate_per_s([a for a in admitted if a is not None]),
        completion_rate_per_s=rate,
        signups_per_hour=rate * seconds_per_hour,
        minutes_per_100k=signups_target / rate / 60 if rate else None,
        bank_5xx=sum(1 for q in bank if q.status >= 500),
        bank_5xx_by_status=dict(Counter(str(q.status) for q in bank if q.status >= 500)),
        bank_no_answer=sum(1 for q in bank if q.status == 0),
        order_basis=order_basis,
        admission_inversions=inversions,
        eta_pairs=len(eta_points),
        eta_within_2x_share=(
            sum(1 for p, a in eta_points if eta_within_2x(p, a)) / len(eta_points)
            if eta_points
            else 0.0
        ),
        wait_s=_spread([w for r in records if (w := r.wait_s) is not None]),
        signup_s=_spread([r.completed_at - r.arrived_at for r in completed if r.completed_at]),
        endpoints=_endpoints(records),
        agencies=_agency_totals(samples),
        series=_series(records, samples, start),
        eta_points=eta_points,
    )
