"""Small exact statistics for the report: nearest-rank percentiles, inversions (pairs out of
order), a sustained rate, and counts per second."""

from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["count_inversions", "per_second", "percentile", "sustained_rate_per_s"]

# The middle of a run of events: the rate between the 10th and 90th percentile times leaves out
# the ramp-up and the tail.
sustained_low = 0.1
sustained_high = 0.9
sustained_events_min = 10


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank percentile (the smallest value with at least p% at or below it);
    0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def count_inversions(values: Sequence[float]) -> int:
    """Pairs i < j with values[i] > values[j] (ties are not inversions); O(n log n)."""

    def sort(items: list[float]) -> tuple[list[float], int]:
        if len(items) <= 1:
            return items, 0
        middle = len(items) // 2
        left, a = sort(items[:middle])
        right, b = sort(items[middle:])
        merged: list[float] = []
        inversions = a + b
        i = j = 0
        while i < len(left) and j < len(right):
            if right[j] < left[i]:
                merged.append(right[j])
                inversions += len(left) - i
                j += 1
            else:
                merged.append(left[i])
                i += 1
        merged.extend(left[i:])
        merged.extend(right[j:])
        return merged, inversions

    return sort(list(values))[1]


def sustained_rate_per_s(times: Sequence[float]) -> float:
    """Events per second between the 10th and 90th percentile event times (all events per
    second from the first to the last when there are fewer than 10); 0.0 when undefined."""
    ordered = sorted(times)
    n = len(ordered)
    if n < 2:
        return 0.0
    if n < sustained_events_min:
        span = ordered[-1] - ordered[0]
        return (n - 1) / span if span > 0 else 0.0
    low = math.floor(sustained_low * (n - 1))
    high = math.ceil(sustained_high * (n - 1))
    span = ordered[high] - ordered[low]
    return (high - low) / span if span > 0 else 0.0


def per_second(times: Sequence[float], start: float, seconds: int) -> list[int]:
    """How many of ``times`` fall in each whole second ``[start + s, start + s + 1)``."""
    counts = [0] * seconds
    for at in times:
        index = math.floor(at - start)
        if 0 <= index < seconds:
            counts[index] += 1
    return counts
