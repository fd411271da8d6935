"""How a repayment is split: fees first, then interest, then principal; the rest is unapplied
(the service refuses or refunds it)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Allocation", "allocate"]


@dataclass(frozen=True, slots=True)
class Allocation:
    fees_minor: int
    interest_minor: int
    principal_minor: int
    unapplied_minor: int

    @property
    def applied_minor(self) -> int:
        return self.fees_minor + self.interest_minor + self.principal_minor


def allocate(
    amount_minor: int, *, fees_due_minor: int, interest_due_minor: int, principal_due_minor: int
) -> Allocation:
    """Split ``amount_minor`` in the order fees → interest → principal, each up to what is due.
    For an early repayment pass the whole outstanding principal as principal_due_minor."""
    if min(amount_minor, fees_due_minor, interest_due_minor, principal_due_minor) < 0:
        raise ValueError("amounts must be >= 0")
    left = amount_minor
    fees = min(left, fees_due_minor)
    left -= fees
    interest = min(left, interest_due_minor)
    left -= interest
    principal = min(left, principal_due_minor)
    left -= principal
    return Allocation(fees, interest, principal, left)
