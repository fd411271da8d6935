"""Delinquency buckets by days past due, at their edges."""

from __future__ import annotations

import pytest

from neobank.lending.delinquency import BUCKETS, bucket


@pytest.mark.parametrize(
    ("days_past_due", "expected"),
    [
        (-3, "current"),
        (0, "current"),
        (1, "1-30"),
        (30, "1-30"),
        (31, "31-60"),
        (60, "31-60"),
        (61, "61-90"),
        (90, "61-90"),
        (91, "90+"),
        (5_000, "90+"),
    ],
)
def test_bucket_edges(days_past_due: int, expected: str) -> None:
    assert bucket(days_past_due) == expected


def test_buckets_in_order_of_severity() -> None:
    assert BUCKETS == ("current", "1-30", "31-60", "61-90", "90+")
    assert [bucket(d) for d in (0, 15, 45, 75, 120)] == list(BUCKETS)
