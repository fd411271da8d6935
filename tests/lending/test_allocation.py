"""Repayments go to fees, then interest, then principal; the rest is unapplied."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neobank.lending.allocation import Allocation, allocate

PROPERTY_EXAMPLES_MAX = 200


def test_fees_then_interest_then_principal() -> None:
    got = allocate(
        100_000, fees_due_minor=5_000, interest_due_minor=20_000, principal_due_minor=500_000
    )
    assert got == Allocation(5_000, 20_000, 75_000, 0)
    assert got.applied_minor == 100_000


def test_a_small_payment_only_reaches_the_fees_and_part_of_the_interest() -> None:
    got = allocate(
        8_000, fees_due_minor=5_000, interest_due_minor=20_000, principal_due_minor=500_000
    )
    assert got == Allocation(5_000, 3_000, 0, 0)


def test_more_than_owed_is_unapplied() -> None:
    got = allocate(
        600_000, fees_due_minor=0, interest_due_minor=20_000, principal_due_minor=500_000
    )
    assert got == Allocation(0, 20_000, 500_000, 80_000)


def test_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        allocate(-1, fees_due_minor=0, interest_due_minor=0, principal_due_minor=0)
    with pytest.raises(ValueError):
        allocate(1, fees_due_minor=0, interest_due_minor=-1, principal_due_minor=0)


amounts = st.integers(0, 10_000_000_000)


@settings(max_examples=PROPERTY_EXAMPLES_MAX, deadline=None)
@given(amounts, amounts, amounts, amounts)
def test_every_won_is_placed_in_order(
    amount: int, fees: int, interest: int, principal: int
) -> None:
    got = allocate(
        amount, fees_due_minor=fees, interest_due_minor=interest, principal_due_minor=principal
    )
    assert got.applied_minor + got.unapplied_minor == amount
    assert 0 <= got.fees_minor <= fees
    assert 0 <= got.interest_minor <= interest
    assert 0 <= got.principal_minor <= principal
    assert got.unapplied_minor >= 0
    # A later bucket only gets money once every earlier one is paid in full.
    if got.interest_minor > 0:
        assert got.fees_minor == fees
    if got.principal_minor > 0:
        assert got.interest_minor == interest
    if got.unapplied_minor > 0:
        assert got.principal_minor == principal
