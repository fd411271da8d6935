"""Loan products: the defaults as specified, the rate grid, and data that round-trips."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neobank.lending.products import DEFAULT_PRODUCTS, LoanProduct, RateBand

PROPERTY_EXAMPLES_MAX = 200


@pytest.mark.parametrize("code", sorted(DEFAULT_PRODUCTS))
def test_defaults_round_trip_through_json(code: str) -> None:
    product = DEFAULT_PRODUCTS[code]
    body = json.loads(json.dumps(product.to_data()))
    assert "code" not in body and "version" not in body
    assert LoanProduct.from_data(code, 1, body) == product


def test_the_three_default_products() -> None:
    credit, line, emergency = (
        DEFAULT_PRODUCTS[c] for c in ("credit_loan", "overdraft_line", "emergency_loan")
    )
    assert (credit.kind, credit.repayment_method) == ("installment", "annuity")
    assert (credit.amount_min, credit.amount_max) == (1_000_000, 50_000_000)
    assert (credit.term_months_min, credit.term_months_max) == (6, 60)
    assert (line.kind, line.term_months_min, line.term_months_max) == ("revolving", 12, 12)
    assert (emergency.guarantee_required, emergency.guarantee_product) == (True, "personal_loan")
    assert emergency.repayment_method == "equal_principal"
    assert (emergency.amount_min, emergency.amount_max) == (500_000, 3_000_000)
    for product in DEFAULT_PRODUCTS.values():
        assert product.version == 1
        assert product.currency == "KRW"
        assert (product.late_rate_add_bps, product.late_rate_max_bps) == (300, 2_000)
        assert product.offer_ttl_s == 7 * 24 * 3600


@pytest.mark.parametrize(
    ("code", "score", "rate_bps"),
    [
        ("credit_loan", 950, 450),
        ("credit_loan", 850, 450),
        ("credit_loan", 849, 650),
        ("credit_loan", 750, 650),
        ("credit_loan", 650, 900),
        ("credit_loan", 600, 1_300),
        ("credit_loan", 599, None),
        ("overdraft_line", 850, 550),
        ("overdraft_line", 700, 1_000),
        ("overdraft_line", 649, None),
        ("emergency_loan", 600, 900),
        ("emergency_loan", 300, 1_200),
        ("emergency_loan", 299, None),
    ],
)
def test_rate_for_takes_the_highest_band_reached(
    code: str, score: int, rate_bps: int | None
) -> None:
    assert DEFAULT_PRODUCTS[code].rate_for(score) == rate_bps


def test_rate_for_does_not_depend_on_the_grid_order() -> None:
    product = DEFAULT_PRODUCTS["credit_loan"]
    shuffled = dataclasses.replace(product, rate_grid=tuple(reversed(product.rate_grid)))
    assert [shuffled.rate_for(s) for s in (600, 700, 800, 900)] == [1_300, 900, 650, 450]


def test_listing_is_the_api_item() -> None:
    assert DEFAULT_PRODUCTS["emergency_loan"].listing() == {
        "code": "emergency_loan",
        "name": "Emergency loan",
        "currency": "KRW",
        "amount_min": 500_000,
        "amount_max": 3_000_000,
        "term_months_min": 1,
        "term_months_max": 12,
        "guarantee_required": True,
    }


def test_terms_in_range() -> None:
    credit = DEFAULT_PRODUCTS["credit_loan"]
    assert credit.terms_in_range(1_000_000, 6)
    assert credit.terms_in_range(50_000_000, 60)
    assert not credit.terms_in_range(999_999, 12)
    assert not credit.terms_in_range(50_000_001, 12)
    assert not credit.terms_in_range(10_000_000, 5)
    assert not credit.terms_in_range(10_000_000, 61)


def test_from_data_refuses_unknown_and_missing_keys() -> None:
    body = DEFAULT_PRODUCTS["credit_loan"].to_data()
    with pytest.raises(ValueError, match="unknown"):
        LoanProduct.from_data("credit_loan", 2, {**body, "colour": "blue"})
    with pytest.raises(ValueError):
        LoanProduct.from_data("credit_loan", 2, {k: v for k, v in body.items() if k != "name"})
    # Late-rate terms and the offer's lifetime have defaults.
    trimmed = {k: v for k, v in body.items() if k != "offer_ttl_s"}
    assert LoanProduct.from_data("credit_loan", 2, trimmed).offer_ttl_s == 7 * 24 * 3600


@pytest.mark.parametrize(
    "change",
    [
        {"amount_min": 0},
        {"amount_min": 60_000_000},
        {"term_months_min": 0},
        {"term_months_max": 3},
        {"kind": "mortgage"},
        {"repayment_method": "balloon"},
        {"guarantee_required": True},
        {"rate_grid": []},
        {"rate_grid": [{"score_min": 600, "rate_bps": 900}, {"score_min": 600, "rate_bps": 800}]},
        {"rate_grid": [{"score_min": 600, "rate_bps": -1}]},
        {"rate_grid": [{"score_min": 600, "rate_bps": 2_001}]},
        {"offer_ttl_s": 0},
        {"offer_ttl_s": 10**12},  # a date past year 9999: the decision job would overflow
        {"amount_min": "1000000"},
        {"amount_max": 5.5},
        {"term_months_min": True},
        {"guarantee_required": 1},
        {"name": None},
        {"rate_grid": "600:900"},
        {"rate_grid": [{"score_min": 600}]},
        {"rate_grid": [{"score_min": 600, "rate_bps": 900, "note": "x"}]},
        {"rate_grid": [{"score_min": "600", "rate_bps": 900}]},
        {"rate_grid": [[600, 900]]},
    ],
)
def test_a_bad_version_is_refused(change: dict[str, object]) -> None:
    body = {**DEFAULT_PRODUCTS["credit_loan"].to_data(), **change}
    with pytest.raises(ValueError):
        LoanProduct.from_data("credit_loan", 2, body)


grids = st.lists(
    st.builds(RateBand, st.integers(0, 1_000), st.integers(0, 2_000)),
    min_size=1,
    max_size=8,
    unique_by=lambda band: band.score_min,
).map(tuple)


@settings(max_examples=PROPERTY_EXAMPLES_MAX, deadline=None)
@given(
    grids, st.integers(1, 10**9), st.integers(0, 10**9), st.integers(1, 120), st.integers(0, 119)
)
def test_any_valid_product_round_trips(
    grid: tuple[RateBand, ...], amount_min: int, amount_span: int, term_max: int, term_less: int
) -> None:
    product = dataclasses.replace(
        DEFAULT_PRODUCTS["emergency_loan"],
        version=7,
        rate_grid=grid,
        amount_min=amount_min,
        amount_max=amount_min + amount_span,
        term_months_min=max(1, term_max - term_less),
        term_months_max=term_max,
    )
    body = json.loads(json.dumps(product.to_data()))
    assert LoanProduct.from_data(product.code, 7, body) == product
