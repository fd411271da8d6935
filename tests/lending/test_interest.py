"""Daily accrual (Actual/365, a millionth of a won), whole-won booking, the late rate."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neobank.lending.interest import accrue, bookable_minor, late_rate_bps

PROPERTY_EXAMPLES_MAX = 200


def test_one_day_of_interest() -> None:
    # 10,000,000 * 500 / 10,000 / 365 = 500,000 / 365 = 1,369.8630136986... -> 1,369.863014
    assert accrue(10_000_000, 500) == Decimal("1369.863014")
    # 30 days: 500,000 * 30 / 365 = 41,095.890410958... -> 41,095.890411
    assert accrue(10_000_000, 500, days=30) == Decimal("41095.890411")
    assert accrue(10_000_000, 500, days=0) == 0
    assert accrue(0, 500) == 0


def test_rounds_to_a_millionth_half_even() -> None:
    # 1 * 1 / 10,000 / 365 = 0.000000273... -> 0.000000
    assert accrue(1, 1) == Decimal("0.000000")
    # 2 * 1 / 3,650,000 = 0.000000547... -> 0.000001
    assert accrue(2, 1) == Decimal("0.000001")


def test_a_year_of_daily_bookings_loses_nothing() -> None:
    # 365 days * 1,369.863014 = 500,000.000110: 500,000 won booked over the year, exactly the
    # yearly interest at 5 % on 10,000,000, although no single day is a whole number of won.
    accrued, booked = Decimal(0), 0
    for _ in range(365):
        accrued += accrue(10_000_000, 500)
        booked += bookable_minor(accrued, booked)
    assert booked == 500_000


def test_bookable_keeps_the_fraction_for_later() -> None:
    assert bookable_minor(Decimal("1369.863014"), 0) == 1_369
    assert bookable_minor(Decimal("2739.726028"), 1_369) == 1_370
    assert bookable_minor(Decimal("0.999999"), 0) == 0


def test_booking_more_than_accrued_is_a_bug() -> None:
    with pytest.raises(ValueError):
        bookable_minor(Decimal("10.5"), 11)


def test_negative_inputs_are_refused() -> None:
    for args in ((-1, 500, 1), (1, -1, 1), (1, 500, -1)):
        with pytest.raises(ValueError):
            accrue(*args)


def test_late_rate_is_contract_plus_three_points_capped_at_twenty_percent() -> None:
    assert late_rate_bps(1_300, 300, 2_000) == 1_600
    assert late_rate_bps(1_700, 300, 2_000) == 2_000
    assert late_rate_bps(1_900, 300, 2_000) == 2_000


@settings(max_examples=PROPERTY_EXAMPLES_MAX, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 100_000_000), st.integers(0, 2_000)), min_size=1, max_size=60)
)
def test_daily_bookings_add_up_to_the_accrued_whole_won(days: list[tuple[int, int]]) -> None:
    accrued, booked = Decimal(0), 0
    for balance, rate in days:
        accrued += accrue(balance, rate)
        today = bookable_minor(accrued, booked)
        assert today >= 0
        booked += today
        assert 0 <= accrued - booked < 1
