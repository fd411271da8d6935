"""The arrival schedule and the plan handed to the Locust subprocess."""

from __future__ import annotations

from pathlib import Path

import pytest

from neobank.loadtest.plan import SurgePlan, arrival_offsets


def test_even_arrivals_are_exactly_the_rate() -> None:
    offsets = arrival_offsets(100, 60)
    assert len(offsets) == 6000
    assert offsets[:3] == [0.0, 0.01, 0.02] and offsets[-1] == pytest.approx(59.99)
    assert arrival_offsets(2.5, 2) == [0.0, 0.4, 0.8, 1.2, 1.6]


def test_poisson_arrivals_average_the_rate_and_repeat_with_a_seed() -> None:
    offsets = arrival_offsets(100, 60, poisson=True, seed=3)
    assert offsets == arrival_offsets(100, 60, poisson=True, seed=3)
    assert abs(len(offsets) - 6000) < 4 * 6000**0.5  # within four standard deviations
    assert offsets == sorted(offsets) and offsets[0] > 0 and offsets[-1] < 60


def test_no_rate_no_arrivals() -> None:
    assert arrival_offsets(0, 60) == [] and arrival_offsets(10, 0) == []


def test_the_plan_survives_the_environment() -> None:
    plan = SurgePlan(
        agencies_url="http://127.0.0.1:8100",
        records_dir=Path("/tmp/records"),
        arrival_rate_per_s=12.5,
        duration_s=60,
        drain_timeout_s=600,
        run_salt=123456789,
        poisson=True,
        seed=None,
    )
    env = plan.to_env()
    assert all(name.startswith("NEOBANK_LOADTEST_") for name in env)
    assert SurgePlan.from_env(env) == plan
    assert SurgePlan.from_env({**env, "NEOBANK_LOADTEST_SEED": "7"}).seed == 7
    assert plan.expected_arrivals == 750
