"""The surge's plan as the Locust subprocess receives it (environment variables, since Locust
owns the command line), and the arrival schedule: when each person arrives."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SurgePlan", "arrival_offsets"]

_prefix = "NEOBANK_LOADTEST_"
arrivals_per_run_max = 10_000_000


@dataclass(frozen=True)
class SurgePlan:
    """``records_dir``: where each Locust process appends one JSON line per person."""

    agencies_url: str
    records_dir: Path
    arrival_rate_per_s: float
    duration_s: float
    drain_timeout_s: float
    run_salt: int
    poisson: bool = False
    seed: int | None = None

    def to_env(self) -> dict[str, str]:
        values = {
            "AGENCIES_URL": self.agencies_url,
            "RECORDS_DIR": str(self.records_dir),
            "ARRIVAL_RATE_PER_S": repr(self.arrival_rate_per_s),
            "DURATION_S": repr(self.duration_s),
            "DRAIN_TIMEOUT_S": repr(self.drain_timeout_s),
            "RUN_SALT": str(self.run_salt),
            "POISSON": "1" if self.poisson else "0",
            "SEED": "" if self.seed is None else str(self.seed),
        }
        return {_prefix + name: value for name, value in values.items()}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SurgePlan:
        def get(name: str) -> str:
            return env[_prefix + name]

        seed = get("SEED")
        return cls(
            agencies_url=get("AGENCIES_URL"),
            records_dir=Path(get("RECORDS_DIR")),
            arrival_rate_per_s=float(get("ARRIVAL_RATE_PER_S")),
            duration_s=float(get("DURATION_S")),
            drain_timeout_s=float(get("DRAIN_TIMEOUT_S")),
            run_salt=int(get("RUN_SALT")),
            poisson=get("POISSON") == "1",
            seed=int(seed) if seed else None,
        )

    @property
    def expected_arrivals(self) -> int:
        return round(self.arrival_rate_per_s * self.duration_s)


def arrival_offsets(
    rate_per_s: float, duration_s: float, *, poisson: bool = False, seed: int | None = None
) -> list[float]:
    """Seconds after the start at which each person arrives, within ``[0, duration_s)``: evenly
    spaced (exactly ``rate x duration`` people), or a Poisson process of that rate."""
    if rate_per_s <= 0 or duration_s <= 0:
        return []
    if rate_per_s * duration_s > arrivals_per_run_max:
        raise ValueError(f"more than {arrivals_per_run_max} arrivals in one run")
    if not poisson:
        return [k / rate_per_s for k in range(round(rate_per_s * duration_s))]
    rng = random.Random(seed)
    offsets: list[float] = []
    at = rng.expovariate(rate_per_s)
    while at < duration_s:
        offsets.append(at)
        at += rng.expovariate(rate_per_s)
    return offsets
