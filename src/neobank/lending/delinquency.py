"""Delinquency buckets by days past due: close of business moves overdue loans through them."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["BUCKETS", "Bucket", "bucket"]

Bucket = Literal["current", "1-30", "31-60", "61-90", "90+"]
BUCKETS: tuple[Bucket, ...] = get_args(Bucket)

# (highest days past due in the bucket, bucket); above the last: "90+" (91 days and more).
_UPPER_BOUNDS_DAYS: tuple[tuple[int, Bucket], ...] = (
    (0, "current"),
    (30, "1-30"),
    (60, "31-60"),
    (90, "61-90"),
)


def bucket(days_past_due: int) -> Bucket:
    """The bucket for a loan whose oldest unpaid installment is ``days_past_due`` days late;
    zero or negative (not yet due) is "current"."""
    for upper_days, name in _UPPER_BOUNDS_DAYS:
        if days_past_due <= upper_days:
            return name
    return "90+"
