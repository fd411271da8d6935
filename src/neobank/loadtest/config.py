"""The launch-day run's settings (the CLI's options), with the issue's targets as defaults."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LaunchDayConfig", "unlimited_capacity_rps"]

# Far beyond anything one node sends: the agencies do not limit.
unlimited_capacity_rps = 1_000_000.0


@dataclass(frozen=True)
class LaunchDayConfig:
    out_dir: Path
    arrival_rate_per_s: float = 100.0
    duration_s: float = 60.0
    identity_capacity_rps: float = 50.0
    identity_latency_ms: float = 300.0
    identity_error_rate: float = 0.02
    unlimited: bool = False
    workers: int = 1
    # Jobs in this many `neobank worker` processes (0: inside the API processes). One apart
    # leaves the API process's CPU to HTTP: 45-46/s against 37-39/s on one machine (BENCHMARKS).
    job_processes: int = 1
    drain_timeout_s: float = 600.0
    database_url: str | None = None
    bank_url: str | None = None
    agencies_url: str | None = None
    admin_token: str | None = None
    poisson: bool = False
    seed: int | None = None

    @property
    def identity_limiting(self) -> bool:
        """Whether the identity agency, not the bank, is meant to be the bottleneck."""
        return not self.unlimited and self.identity_capacity_rps < self.arrival_rate_per_s

    def simulator_patch(self) -> dict[str, dict[str, float]]:
        """The body of the simulator's ``PUT /_sim/config`` for this run."""
        if self.unlimited:
            open_gate = {"capacity_rps": unlimited_capacity_rps, "error_rate": 0.0}
            return {
                "identity": {**open_gate, "latency_ms": self.identity_latency_ms},
                "clearing": open_gate,
            }
        return {
            "identity": {
                "capacity_rps": self.identity_capacity_rps,
                "latency_ms": self.identity_latency_ms,
                "error_rate": self.identity_error_rate,
            }
        }

    def as_document(self) -> dict[str, Any]:
        document = {k: v for k, v in self.__dict__.items() if k not in ("admin_token",)}
        document["out_dir"] = str(self.out_dir)
        if self.database_url:
            document["database_url"] = "(given)"
        return document
