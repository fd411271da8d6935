"""The simulator's knobs: per agency latency, error rate and capacity, changeable at run time."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "AGENCIES",
    "AgencyKnobs",
    "AgencyName",
    "ConfigPatch",
    "KnobsPatch",
    "SimulatorConfig",
]

AgencyName = Literal["identity", "bureau", "guarantee", "clearing"]
AGENCIES: tuple[AgencyName, ...] = get_args(AgencyName)

latency_ms_max = 60_000.0
capacity_rps_max = 1_000_000.0


class AgencyKnobs(BaseModel):
    """How one agency behaves. ``latency_ms`` is the *mean* of a lognormal distribution (see
    ``latency.py``); ``error_rate`` is the share of admitted requests answered 503;
    ``capacity_rps`` is a token bucket's refill rate (burst: one second's worth)."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float = Field(default=50.0, ge=0, le=latency_ms_max)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    capacity_rps: float = Field(default=500.0, gt=0, le=capacity_rps_max)


class KnobsPatch(BaseModel):
    """A partial update of one agency's knobs: absent fields keep their value."""

    model_config = ConfigDict(extra="forbid")

    latency_ms: float | None = Field(default=None, ge=0, le=latency_ms_max)
    error_rate: float | None = Field(default=None, ge=0, le=1)
    capacity_rps: float | None = Field(default=None, gt=0, le=capacity_rps_max)

    def applied_to(self, knobs: AgencyKnobs) -> AgencyKnobs:
        return knobs.model_copy(update=self.model_dump(exclude_none=True))


class ConfigPatch(BaseModel):
    """The body of ``PUT /_sim/config``: any subset of the agencies (unknown names: 422)."""

    model_config = ConfigDict(extra="forbid")

    identity: KnobsPatch | None = None
    bureau: KnobsPatch | None = None
    guarantee: KnobsPatch | None = None
    clearing: KnobsPatch | None = None


class SimulatorConfig(BaseModel):
    """Everything the simulator starts with."""

    model_config = ConfigDict(extra="forbid")

    identity: AgencyKnobs = Field(default_factory=AgencyKnobs)
    bureau: AgencyKnobs = Field(default_factory=AgencyKnobs)
    guarantee: AgencyKnobs = Field(default_factory=AgencyKnobs)
    clearing: AgencyKnobs = Field(default_factory=AgencyKnobs)
    # Resident ids the identity agency refuses as reported lost or stolen (digits only).
    stolen_resident_ids: frozenset[str] = frozenset()
    # Bounds on what the simulator keeps in memory.
    clearing_accounts_max: int = Field(default=100_000, gt=0)
    clearing_credits_per_account_max: int = Field(default=50, gt=0)
    bureau_inquiries_max: int = Field(default=200_000, gt=0)

    def knobs(self, agency: AgencyName) -> AgencyKnobs:
        knobs: AgencyKnobs = getattr(self, agency)
        return knobs
