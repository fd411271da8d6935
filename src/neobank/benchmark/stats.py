"""Percentiles and the figures one workload run reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from neobank.benchmark.load import LoadResult

__all__ = ["RunFigures", "percentile"]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


@dataclass(frozen=True)
class RunFigures:
    workload: str
    api_processes: int
    offered_per_s: float | None
    requests_per_s: float
    transfers_per_s: float
    refused_per_s: float
    p50_ms: float
    p99_ms: float
    failures: dict[str, int]

    @classmethod
    def of(
        cls, workload: str, processes: int, result: LoadResult, offered: float | None
    ) -> RunFigures:
        seconds = result.elapsed_s or 1.0
        return cls(
            workload=workload,
            api_processes=processes,
            offered_per_s=offered,
            requests_per_s=result.requests / seconds,
            transfers_per_s=result.transfers_posted / seconds,
            refused_per_s=result.transfers_refused / seconds,
            p50_ms=percentile(result.latencies_ms, 0.50),
            p99_ms=percentile(result.latencies_ms, 0.99),
            failures=result.failures,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
