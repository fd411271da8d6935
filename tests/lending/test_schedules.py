"""Schedules against worked examples computed by hand (arithmetic in the comments), and
properties over many loans: principal sums exactly, no negative part, level annuity
payments, due dates clamped to the month's end."""

from __future__ import annotations

import calendar
from datetime import date
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neobank.lending.schedules import (
    METHODS,
    Installment,
    annuity_payment_minor,
    build_schedule,
    due_date,
    period_interest_minor,
    remaining_schedule,
)

PROPERTY_EXAMPLES_MAX = 200


def rows(schedule: list[Installment]) -> list[tuple[int, int]]:
    return [(i.principal_minor, i.interest_minor) for i in schedule]


def test_annuity_12_million_12_months_6_percent() -> None:
    # r = 600 / 10,000 / 12 = 0.005; (1.005)^12 = 1.0616778; 1 - 1.005^-12 = 0.0580947
    # payment = 12,000,000 * 0.005 / 0.0580947 = 1,032,797.156 -> 1,032,797 (half-up)
    # each row: interest = outstanding * 0.005 half-up; principal = 1,032,797 - interest
    expected = [
        (972_797, 60_000),  # 12,000,000 * 0.005 = 60,000
        (977_661, 55_136),  # 11,027,203 * 0.005 = 55,136.015 -> 55,136
        (982_549, 50_248),  # 10,049,542 * 0.005 = 50,247.71 -> 50,248
        (987_462, 45_335),  # 9,066,993 * 0.005 = 45,334.965 -> 45,335 (half-up)
        (992_399, 40_398),  # 8,079,531 * 0.005 = 40,397.655 -> 40,398
        (997_361, 35_436),  # 7,087,132 * 0.005 = 35,435.66 -> 35,436
        (1_002_348, 30_449),  # 6,089,771 * 0.005 = 30,448.855 -> 30,449
        (1_007_360, 25_437),  # 5,087,423 * 0.005 = 25,437.115 -> 25,437
        (1_012_397, 20_400),  # 4,080,063 * 0.005 = 20,400.315 -> 20,400
        (1_017_459, 15_338),  # 3,067,666 * 0.005 = 15,338.33 -> 15,338
        (1_022_546, 10_251),  # 2,050,207 * 0.005 = 10,251.035 -> 10,251
        # last: principal = what is left, 1,027,661; interest 5,138.305 -> 5,138;
        # total 1,032,799: the last installment absorbs the rounding (+2 won).
        (1_027_661, 5_138),
    ]
    assert annuity_payment_minor(12_000_000, 600, 12) == 1_032_797
    schedule = build_schedule("annuity", 12_000_000, 600, 12, date(2026, 1, 15))
    assert rows(schedule) == expected
    assert [i.total_minor for i in schedule] == [1_032_797] * 11 + [1_032_799]
    assert [i.number for i in schedule] == list(range(1, 13))
    assert schedule[0].due_date == date(2026, 2, 15)
    assert schedule[-1].due_date == date(2027, 1, 15)
    assert sum(i.principal_minor for i in schedule) == 12_000_000


def test_annuity_1_million_3_months_12_percent() -> None:
    # r = 0.01; 1.01^3 = 1.030301; 1 - 1/1.030301 = 0.0294099
    # payment = 10,000 / 0.0294099 = 340,022.11 -> 340,022
    # 1: interest 10,000; principal 330,022; left 669,978
    # 2: interest 6,699.78 -> 6,700; principal 333,322; left 336,656
    # 3: interest 3,366.56 -> 3,367; principal 336,656 (all that is left); total 340,023
    schedule = build_schedule("annuity", 1_000_000, 1_200, 3, date(2026, 3, 1))
    assert rows(schedule) == [(330_022, 10_000), (333_322, 6_700), (336_656, 3_367)]


def test_annuity_at_zero_rate_gives_the_remainder_to_the_last() -> None:
    # 1,000,000 / 3 = 333,333.33: 333,333 twice, then 1,000,000 - 666,666 = 333,334
    schedule = build_schedule("annuity", 1_000_000, 0, 3, date(2026, 3, 1))
    assert rows(schedule) == [(333_333, 0), (333_333, 0), (333_334, 0)]


def test_equal_principal_3_million_12_months_12_percent() -> None:
    # principal 3,000,000 / 12 = 250,000 each; r = 0.01 on what is left:
    # 30,000, 27,500, 25,000, ..., 2,500 (250,000 * 0.01 * k for k = 12..1)
    schedule = build_schedule("equal_principal", 3_000_000, 1_200, 12, date(2026, 1, 10))
    assert [i.principal_minor for i in schedule] == [250_000] * 12
    assert [i.interest_minor for i in schedule] == [2_500 * k for k in range(12, 0, -1)]
    # 2,500 * (12 + 11 + ... + 1) = 2,500 * 78
    assert sum(i.interest_minor for i in schedule) == 195_000


def test_equal_principal_remainder_goes_to_the_last() -> None:
    # floor(1,000,000 / 3) = 333,333; last = 1,000,000 - 666,666 = 333,334; r = 0.0075
    # interest: 1,000,000 * 0.0075 = 7,500; 666,667 * 0.0075 = 5,000.0025 -> 5,000;
    # 333,334 * 0.0075 = 2,500.005 -> 2,500
    schedule = build_schedule("equal_principal", 1_000_000, 900, 3, date(2026, 1, 10))
    assert rows(schedule) == [(333_333, 7_500), (333_333, 5_000), (333_334, 2_500)]


def test_bullet_pays_interest_only_then_everything() -> None:
    # 10,000,000 * 1,000 / 10,000 / 12 = 83,333.33 -> 83,333 each month
    schedule = build_schedule("bullet", 10_000_000, 1_000, 3, date(2026, 1, 10))
    assert rows(schedule) == [(0, 83_333), (0, 83_333), (10_000_000, 83_333)]


def test_period_interest_rounds_half_up() -> None:
    # 100 * 600 / 120,000 = 0.5 -> 1 (half-even would give 0); 500 * 600 / 120,000 = 2.5 -> 3
    assert period_interest_minor(100, 600) == 1
    assert period_interest_minor(500, 600) == 3
    # 99 * 600 / 120,000 = 0.495 -> 0
    assert period_interest_minor(99, 600) == 0


def test_due_dates_clamp_from_the_start_not_chained() -> None:
    start = date(2024, 1, 31)  # 2024 is a leap year
    assert [due_date(start, n) for n in (1, 2, 3, 13)] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2025, 2, 28),
    ]
    schedule = build_schedule("annuity", 1_000_000, 500, 3, date(2025, 11, 30))
    assert [i.due_date for i in schedule] == [
        date(2025, 12, 30),
        date(2026, 1, 30),
        date(2026, 2, 28),
    ]


def test_remaining_schedule_re_amortizes_after_a_prepayment() -> None:
    # 3 of 6 installments are done; 600,000 left at 1,200 bps over the 3 still to come.
    # Same as a 3-month loan of 600,000: r = 0.01, payment = 6,000 / 0.0294099 = 204,013.27
    # -> 204,013. 1: interest 6,000; principal 198,013; left 401,987
    # 2: interest 4,019.87 -> 4,020; principal 199,993; left 201,994
    # 3: interest 2,019.94 -> 2,020; principal 201,994 (all that is left)
    schedule = remaining_schedule("annuity", 600_000, 1_200, 6, date(2026, 1, 31), 3)
    assert [i.number for i in schedule] == [4, 5, 6]
    assert [i.due_date for i in schedule] == [
        date(2026, 5, 31),
        date(2026, 6, 30),
        date(2026, 7, 31),
    ]
    assert rows(schedule) == [(198_013, 6_000), (199_993, 4_020), (201_994, 2_020)]


@pytest.mark.parametrize(
    "args",
    [
        ("annuity", -1, 600, 12),
        ("annuity", 1_000, -1, 12),
        ("annuity", 1_000, 600, 0),
        ("balloon", 1_000, 600, 12),
    ],
)
def test_bad_input_is_refused(args: tuple[str, int, int, int]) -> None:
    method, principal, rate, term = args
    with pytest.raises(ValueError):
        build_schedule(method, principal, rate, term, date(2026, 1, 1))  # type: ignore[arg-type]


def test_remaining_schedule_refuses_a_finished_loan() -> None:
    with pytest.raises(ValueError):
        remaining_schedule("annuity", 1_000, 600, 12, date(2026, 1, 1), 12)


loans = st.tuples(
    st.sampled_from(METHODS),
    st.integers(0, 10_000_000_000),
    st.integers(0, 3_000),
    st.integers(1, 120),
    st.dates(date(2000, 1, 1), date(2100, 12, 31)),
)


@settings(max_examples=PROPERTY_EXAMPLES_MAX, deadline=None)
@given(loans)
def test_principal_sums_exactly_and_no_part_is_negative(
    loan: tuple[str, int, int, int, date],
) -> None:
    method, principal, rate, term, start = loan
    schedule = build_schedule(method, principal, rate, term, start)  # type: ignore[arg-type]
    assert len(schedule) == term
    assert sum(i.principal_minor for i in schedule) == principal
    assert all(i.principal_minor >= 0 and i.interest_minor >= 0 for i in schedule)
    # Interest is charged on what is outstanding, never on more than the loan.
    assert all(i.interest_minor <= period_interest_minor(principal, rate) for i in schedule)


@settings(max_examples=PROPERTY_EXAMPLES_MAX, deadline=None)
@given(st.integers(100_000, 10_000_000_000), st.integers(0, 3_000), st.integers(1, 120))
def test_annuity_totals_are_level_except_the_last(principal: int, rate: int, term: int) -> None:
    schedule = build_schedule("annuity", principal, rate, term, date(2026, 1, 1))
    payment = annuity_payment_minor(principal, rate, term)
    assert all(abs(i.total_minor - payment) <= 1 for i in schedule[:-1])
    # Each month the rounded payment and the rounded interest move what is left by at most
    # 1 won from the exact annuity, and that error compounds at r: after n - 1 months it is
    # at most sum((1 + r)^j, j < n - 1) = ((1 + r)^(n - 1) - 1) / r; the last installment pays
    # it back with a month's interest, plus its own half-won roundings.
    r = Fraction(rate, 120_000)
    drift = term - 1 if r == 0 else ((1 + r) ** (term - 1) - 1) / r
    assert abs(schedule[-1].total_minor - payment) <= drift * (1 + r) + 1


@settings(max_examples=PROPERTY_EXAMPLES_MAX, deadline=None)
@given(st.dates(date(2000, 1, 1), date(2100, 12, 31)), st.integers(1, 480))
def test_due_dates_keep_the_day_or_clamp_to_the_month_end(start: date, number: int) -> None:
    due = due_date(start, number)
    assert (due.year - start.year) * 12 + due.month - start.month == number
    last_day = calendar.monthrange(due.year, due.month)[1]
    assert due.day == min(start.day, last_day)


@settings(max_examples=PROPERTY_EXAMPLES_MAX, deadline=None)
@given(loans, st.integers(0, 119), st.integers(0, 10_000_000_000))
def test_remaining_schedule_keeps_the_invariants(
    loan: tuple[str, int, int, int, date], done: int, outstanding: int
) -> None:
    method, principal, rate, term, start = loan
    done = done % term
    schedule = remaining_schedule(method, outstanding, rate, term, start, done)  # type: ignore[arg-type]
    full = build_schedule(method, principal, rate, term, start)  # type: ignore[arg-type]
    assert [i.number for i in schedule] == list(range(done + 1, term + 1))
    assert [i.due_date for i in schedule] == [i.due_date for i in full[done:]]
    assert sum(i.principal_minor for i in schedule) == outstanding
    assert all(i.principal_minor >= 0 and i.interest_minor >= 0 for i in schedule)
