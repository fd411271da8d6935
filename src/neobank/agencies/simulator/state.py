"""The simulator's run-time state: current knobs, token buckets, counters, and the agencies'
memories (the bureau's inquiries, the clearing house's credits)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from neobank.agencies.bureau import InquiryBook
from neobank.agencies.clearing import ClearingHouse
from neobank.agencies.simulator.capacity import TokenBucket
from neobank.agencies.simulator.config import (
    AGENCIES,
    AgencyKnobs,
    AgencyName,
    ConfigPatch,
    SimulatorConfig,
)

__all__ = ["AgencyStats", "SimulatorState"]


@dataclass(slots=True)
class AgencyStats:
    """``requests`` = ``ok`` + ``errors`` (simulated 503) + ``throttled`` (429) + ``invalid``
    (requests the agency refused as malformed or conflicting, 4xx)."""

    requests: int = 0
    ok: int = 0
    errors: int = 0
    throttled: int = 0
    invalid: int = 0


class SimulatorState:
    def __init__(
        self,
        config: SimulatorConfig,
        seed: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.rng = random.Random(seed)
        self.knobs: dict[AgencyName, AgencyKnobs] = {a: config.knobs(a) for a in AGENCIES}
        self.buckets = {a: TokenBucket(k.capacity_rps, clock) for a, k in self.knobs.items()}
        self.stats = {a: AgencyStats() for a in AGENCIES}
        self.inquiries = InquiryBook(config.bureau_inquiries_max)
        self.clearing = ClearingHouse(
            config.clearing_accounts_max, config.clearing_credits_per_account_max
        )

    def apply(self, patch: ConfigPatch) -> None:
        for agency in AGENCIES:
            change = getattr(patch, agency)
            if change is None:
                continue
            self.knobs[agency] = change.applied_to(self.knobs[agency])
            self.buckets[agency].set_rate(self.knobs[agency].capacity_rps)

    def config_document(self) -> dict[str, dict[str, float]]:
        return {agency: knobs.model_dump() for agency, knobs in self.knobs.items()}

    def stats_document(self) -> dict[str, dict[str, int]]:
        document: dict[str, dict[str, int]] = {a: asdict(s) for a, s in self.stats.items()}
        document["bureau"]["inquiries"] = self.inquiries.inquiries
        document["bureau"]["distinct_inquiry_keys"] = self.inquiries.distinct_inquiry_keys
        return document
