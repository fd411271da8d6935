"""Repayment schedules: equal installment (annuity), equal principal and bullet, in whole won.

Rounding rule: each period's interest is outstanding * rate_bps / 10,000 / 12, rounded half-up
to the won; the last installment's principal is whatever is still outstanding, so the
principal always sums exactly to the loan and the last installment absorbs all rounding.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Literal, get_args

__all__ = [
    "METHODS",
    "Installment",
    "Method",
    "annuity_payment_minor",
    "build_schedule",
    "due_date",
    "period_interest_minor",
    "remaining_schedule",
]

Method = Literal["annuity", "equal_principal", "bullet"]
METHODS: tuple[Method, ...] = get_args(Method)

_BPS_PER_UNIT = 10_000
_MONTHS_PER_YEAR = 12
# Working digits for the annuity factor (1 + r)^-n: the default 28 would do for today's
# amounts; 50 keeps the won exact near a half-won with a wide margin.
_ANNUITY_PRECISION_DIGITS = 50


@dataclass(frozen=True, slots=True)
class Installment:
    number: int  # 1-based
    due_date: date
    principal_minor: int
    interest_minor: int

    @property
    def total_minor(self) -> int:
        return self.principal_minor + self.interest_minor


def due_date(start_date: date, number: int) -> date:
    """Installment ``number``'s due date: start_date + number months, same day of month,
    clamped to the month's last day. Always counted from start_date, never chained, so a loan
    started on 31 Jan is due 28/29 Feb, then 31 Mar."""
    months = start_date.month - 1 + number
    year, month = start_date.year + months // _MONTHS_PER_YEAR, months % _MONTHS_PER_YEAR + 1
    day = min(start_date.day, calendar.monthrange(year, month)[1])
    return date(year, month, day)


def period_interest_minor(outstanding_minor: int, rate_bps: int) -> int:
    """One month's interest, outstanding * rate_bps / 10,000 / 12, rounded half-up to the won.

    Done in integers: the result equals Decimal's ROUND_HALF_UP exactly, with no context
    precision to worry about."""
    denominator = _BPS_PER_UNIT * _MONTHS_PER_YEAR
    return (2 * outstanding_minor * rate_bps + denominator) // (2 * denominator)


def annuity_payment_minor(principal_minor: int, rate_bps: int, term_months: int) -> int:
    """The level payment P*r / (1 - (1 + r)^-n), r = rate_bps / 10,000 / 12, rounded half-up
    to the won; with r = 0 it is floor(P / n) (the last installment takes the remainder)."""
    if rate_bps == 0:
        return principal_minor // term_months
    with localcontext() as ctx:
        ctx.prec = _ANNUITY_PRECISION_DIGITS
        r = Decimal(rate_bps) / (_BPS_PER_UNIT * _MONTHS_PER_YEAR)
        payment = Decimal(principal_minor) * r / (1 - (1 + r) ** -term_months)
        return int(payment.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def build_schedule(
    method: Method, principal_minor: int, rate_bps: int, term_months: int, start_date: date
) -> list[Installment]:
    """The whole schedule of a new loan, installments 1..term_months.

    Annuity: the level payment, interest first, the rest principal. Equal principal:
    floor(P / n) each month, interest on what is outstanding. Bullet: interest only, all
    principal in the last installment. In every method the last installment's principal is
    what is still outstanding, so sum(principal) == principal_minor exactly and no part is
    negative."""
    return _build(method, principal_minor, rate_bps, start_date, 0, term_months)


def remaining_schedule(
    method: Method,
    outstanding_minor: int,
    rate_bps: int,
    term_months: int,
    start_date: date,
    installments_done: int,
) -> list[Installment]:
    """Re-amortize after a partial prepayment: ``outstanding_minor`` spread over the
    installments still to come, numbered installments_done + 1 .. term_months.

    Pass the loan's original term and start date (due dates stay counted from the start, so
    the 31st stays the 31st) and how many installments have already fallen due. Equivalent to
    ``build_schedule(method, outstanding, rate_bps, term_months - installments_done, ...)``
    from the last due date, except for the clamped due dates and the numbering."""
    if not 0 <= installments_done < term_months:
        raise ValueError("installments_done must be in [0, term_months)")
    return _build(method, outstanding_minor, rate_bps, start_date, installments_done, term_months)


def _build(
    method: Method,
    principal_minor: int,
    rate_bps: int,
    start_date: date,
    installments_done: int,
    term_months: int,
) -> list[Installment]:
    if method not in METHODS:
        raise ValueError(f"unknown repayment method {method!r}")
    if principal_minor < 0 or rate_bps < 0 or term_months < 1:
        raise ValueError("principal and rate must be >= 0 and the term >= 1 month")
    count = term_months - installments_done
    if method == "annuity":
        level = annuity_payment_minor(principal_minor, rate_bps, count)
    elif method == "equal_principal":
        level = principal_minor // count
    else:
        level = 0
    schedule: list[Installment] = []
    outstanding = principal_minor
    for number in range(installments_done + 1, term_months + 1):
        interest = period_interest_minor(outstanding, rate_bps)
        if number == term_months:
            principal = outstanding
        elif method == "annuity":
            # A payment rounded up on a tiny loan can overshoot what is left: clamp, never
            # go negative.
            principal = min(max(level - interest, 0), outstanding)
        else:
            principal = min(level, outstanding)
        schedule.append(Installment(number, due_date(start_date, number), principal, interest))
        outstanding -= principal
    return schedule
