"""Daily interest: accrued in fractions of a won (Actual/365 fixed, as Korean banks), booked in
whole won, and the late-interest rate."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

__all__ = ["ACCRUAL_QUANTUM", "DAYS_PER_YEAR", "accrue", "bookable_minor", "late_rate_bps"]

DAYS_PER_YEAR = 365  # Actual/365 fixed: a leap year's extra day earns a 365th too
ACCRUAL_QUANTUM = Decimal("0.000001")  # a millionth of a won
_BPS_PER_UNIT = 10_000
# Enough working digits that the quantize below is the only rounding.
_PRECISION_DIGITS = 50


def accrue(balance_minor: int, rate_bps: int, days: int = 1) -> Decimal:
    """Interest on ``balance_minor`` for ``days`` days: balance * rate_bps / 10,000 * days / 365,
    to a millionth of a won (ROUND_HALF_EVEN). Keep the running total as Decimal and book
    whole won with `bookable_minor`."""
    if balance_minor < 0 or rate_bps < 0 or days < 0:
        raise ValueError("balance, rate and days must be >= 0")
    with localcontext() as ctx:
        ctx.prec = _PRECISION_DIGITS
        exact = Decimal(balance_minor * rate_bps * days) / (_BPS_PER_UNIT * DAYS_PER_YEAR)
        return exact.quantize(ACCRUAL_QUANTUM, rounding=ROUND_HALF_EVEN)


def bookable_minor(accrued_total: Decimal, booked_minor: int) -> int:
    """Whole won to book now: floor(accrued_total) - booked_minor. The ledger books whole won;
    the fraction waits for the next day, so nothing is lost to rounding over a loan's life."""
    bookable = math.floor(accrued_total) - booked_minor
    if bookable < 0:
        # More booked than ever accrued: a bug upstream, not something to paper over.
        raise ValueError(f"booked {booked_minor} won but only {accrued_total} accrued")
    return bookable


def late_rate_bps(rate_bps: int, add_bps: int, max_bps: int) -> int:
    """The yearly rate on overdue amounts: the contract rate + add_bps, at most max_bps (Korean
    law: contract rate + 3 %p, never above the 20 % legal maximum)."""
    return min(rate_bps + add_bps, max_bps)
