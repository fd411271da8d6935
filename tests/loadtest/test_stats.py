"""The report's small statistics, against answers worked out by hand or by brute force."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from neobank.loadtest.stats import count_inversions, per_second, percentile, sustained_rate_per_s


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 1..100, unsorted
    assert percentile(values, 50) == 50
    assert percentile(values, 90) == 90
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 50) == 0.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.0


@given(st.lists(st.integers(min_value=0, max_value=20), max_size=60))
def test_inversions_match_brute_force(values: list[int]) -> None:
    brute = sum(
        1 for i in range(len(values)) for j in range(i + 1, len(values)) if values[i] > values[j]
    )
    assert count_inversions([float(v) for v in values]) == brute


def test_inversions_of_known_orders() -> None:
    assert count_inversions([1, 2, 3, 4]) == 0
    assert count_inversions([1, 3, 2, 4]) == 1
    assert count_inversions([4, 3, 2, 1]) == 6
    assert count_inversions([2, 2, 2]) == 0  # ties are in order


def test_sustained_rate_leaves_out_ramp_and_tail() -> None:
    steady = [1000 + k * 0.1 for k in range(100)]  # 10/s
    # A slow start and a long tail do not move the middle 80%.
    assert abs(sustained_rate_per_s([*steady, 1100.0, 1200.0]) - 10.0) < 0.5
    assert abs(sustained_rate_per_s(steady) - 10.0) < 1e-9
    assert sustained_rate_per_s([5.0, 6.0, 7.0]) == 1.0  # few events: first to last
    assert sustained_rate_per_s([5.0]) == 0.0
    assert sustained_rate_per_s([5.0, 5.0]) == 0.0


def test_per_second_counts_each_whole_second() -> None:
    times = [10.0, 10.5, 10.99, 11.0, 13.2, 9.9, 14.0]
    assert per_second(times, start=10.0, seconds=4) == [3, 1, 0, 1]
