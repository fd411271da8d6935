"""The credit decision: each reason, their order, at most four shown, counter-offers, and
cut-offs read from the policy's data."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neobank.lending.policy import (
    DEFAULT_POLICY,
    REASONS,
    ApplicationFacts,
    BureauFacts,
    CreditPolicy,
    Decision,
    GuaranteeFacts,
    decide,
)
from neobank.lending.products import DEFAULT_PRODUCTS

PROPERTY_EXAMPLES_MAX = 200

CREDIT = DEFAULT_PRODUCTS["credit_loan"]
EMERGENCY = DEFAULT_PRODUCTS["emergency_loan"]
COVERED = GuaranteeFacts(covered=True, reason=None, fee_rate_bps=120, coverage_bps=9_000)
NOT_COVERED = GuaranteeFacts(
    covered=False, reason="score_too_low", fee_rate_bps=None, coverage_bps=None
)

# A good applicant: score 800 (credit_loan rate 650 bps), no delinquencies, 1 open loan of
# 5,000,000, income 50,000,000 (DTI room 100,000,000 - 5,000,000), nothing owed to us.
GOOD = BureauFacts(score=800, grade=3, open_loans=1, delinquencies=0, total_debt=5_000_000)
ASK = ApplicationFacts(
    product_code="credit_loan",
    amount_minor=10_000_000,
    term_months=24,
    annual_income_minor=50_000_000,
    bank_exposure_minor=0,
)


def test_a_good_applicant_gets_what_they_asked_at_the_grid_rate() -> None:
    assert decide(CREDIT, DEFAULT_POLICY, ASK, GOOD, None) == Decision(True, (), 650, 10_000_000)


@pytest.mark.parametrize(
    ("bureau", "facts", "reason"),
    [
        (dataclasses.replace(GOOD, delinquencies=1), ASK, "recent_delinquencies"),
        # income 10,000,000 -> cap 20,000,000; 5,000,000 + 15,000,000 owed leaves 0
        (
            GOOD,
            dataclasses.replace(
                ASK, annual_income_minor=10_000_000, bank_exposure_minor=15_000_000
            ),
            "debt_to_income_too_high",
        ),
        # 100,000,000 - (5,000,000 + 94,500,000) = 500,000 < the minimum 1,000,000
        (
            GOOD,
            dataclasses.replace(
                ASK, annual_income_minor=1_000_000_000, bank_exposure_minor=94_500_000
            ),
            "exposure_too_high",
        ),
        (dataclasses.replace(GOOD, open_loans=5), ASK, "too_many_open_loans"),
    ],
)
def test_each_reason_alone(bureau: BureauFacts, facts: ApplicationFacts, reason: str) -> None:
    assert decide(CREDIT, DEFAULT_POLICY, facts, bureau, None) == Decision(
        False, (reason,), None, None
    )


def test_score_below_cutoff() -> None:
    stricter = dataclasses.replace(DEFAULT_POLICY, score_cutoffs={"credit_loan": 700})
    got = decide(CREDIT, stricter, ASK, dataclasses.replace(GOOD, score=699), None)
    assert got == Decision(False, ("score_below_cutoff",), None, None)
    # Under the default cut-off of 600 the grid (lowest band 600) has no rate either.
    got = decide(CREDIT, DEFAULT_POLICY, ASK, dataclasses.replace(GOOD, score=599), None)
    assert got.reasons == ("score_below_cutoff", "no_rate_for_score")


def test_guarantee_declined() -> None:
    facts = dataclasses.replace(
        ASK, product_code="emergency_loan", amount_minor=2_000_000, term_months=6
    )
    low = dataclasses.replace(GOOD, score=450)  # emergency_loan: 300 -> 1,200 bps
    assert decide(EMERGENCY, DEFAULT_POLICY, facts, low, COVERED) == Decision(
        True, (), 1_200, 2_000_000
    )
    declined = Decision(False, ("guarantee_declined",), None, None)
    assert decide(EMERGENCY, DEFAULT_POLICY, facts, low, NOT_COVERED) == declined
    # No answer from the insurer is no cover.
    assert decide(EMERGENCY, DEFAULT_POLICY, facts, low, None) == declined


def test_a_guarantee_is_ignored_where_the_product_needs_none() -> None:
    assert decide(CREDIT, DEFAULT_POLICY, ASK, GOOD, NOT_COVERED).approved


def test_no_rate_for_score_when_the_cutoff_is_below_the_grid() -> None:
    policy = dataclasses.replace(DEFAULT_POLICY, score_cutoffs={"credit_loan": 500})
    got = decide(CREDIT, policy, ASK, dataclasses.replace(GOOD, score=550), None)
    assert got == Decision(False, ("no_rate_for_score",), None, None)


def test_reasons_in_priority_order_and_at_most_four() -> None:
    # Everything fails: score 300 (< 600, and under the grid), 2 delinquencies, 6 open loans,
    # no income, 120,000,000 owed elsewhere.
    worst = BureauFacts(score=300, grade=10, open_loans=6, delinquencies=2, total_debt=120_000_000)
    broke = dataclasses.replace(ASK, annual_income_minor=0)
    got = decide(CREDIT, DEFAULT_POLICY, broke, worst, None)
    assert got == Decision(
        False,
        (
            "score_below_cutoff",
            "recent_delinquencies",
            "debt_to_income_too_high",
            "exposure_too_high",
        ),
        None,
        None,
    )
    # With a guarantee product, guarantee_declined takes the third place.
    policy = dataclasses.replace(DEFAULT_POLICY, score_cutoffs={"emergency_loan": 400})
    emergency = dataclasses.replace(
        broke, product_code="emergency_loan", amount_minor=1_000_000, term_months=6
    )
    got = decide(EMERGENCY, policy, emergency, worst, NOT_COVERED)
    assert got.reasons == (
        "score_below_cutoff",
        "recent_delinquencies",
        "guarantee_declined",
        "debt_to_income_too_high",
    )


def test_counter_offer_when_a_cap_leaves_less_than_asked() -> None:
    # income 20,000,000 -> DTI cap 40,000,000; owed 5,000,000 + 30,000,000 -> room 5,000,000
    facts = dataclasses.replace(ASK, annual_income_minor=20_000_000, bank_exposure_minor=30_000_000)
    assert decide(CREDIT, DEFAULT_POLICY, facts, GOOD, None) == Decision(True, (), 650, 5_000_000)
    # exposure: 100,000,000 - (5,000,000 + 92,000,000) = 3,000,000
    facts = dataclasses.replace(
        ASK, annual_income_minor=1_000_000_000, bank_exposure_minor=92_000_000
    )
    assert decide(CREDIT, DEFAULT_POLICY, facts, GOOD, None) == Decision(True, (), 650, 3_000_000)


def test_dti_exactly_at_the_cap_is_approved() -> None:
    # income 7,500,000 -> cap 15,000,000 = 5,000,000 owed + 10,000,000 asked
    facts = dataclasses.replace(ASK, annual_income_minor=7_500_000)
    assert decide(CREDIT, DEFAULT_POLICY, facts, GOOD, None).limit_minor == 10_000_000
    # one won less income: cap 14,999,998 -> a counter-offer of 9,999,998
    facts = dataclasses.replace(ASK, annual_income_minor=7_499_999)
    assert decide(CREDIT, DEFAULT_POLICY, facts, GOOD, None).limit_minor == 9_999_998


def test_without_a_stated_income_the_limit_is_capped() -> None:
    # No DTI without an income: the limit is the policy's unstated-income cap, 5,000,000.
    facts = dataclasses.replace(ASK, annual_income_minor=None)
    assert decide(CREDIT, DEFAULT_POLICY, facts, GOOD, None) == Decision(True, (), 650, 5_000_000)
    small = dataclasses.replace(facts, amount_minor=2_000_000)
    assert decide(CREDIT, DEFAULT_POLICY, small, GOOD, None).limit_minor == 2_000_000
    # The exposure cap still applies: 100,000,000 - (5,000,000 + 93,000,000) = 2,000,000.
    owing = dataclasses.replace(facts, bank_exposure_minor=93_000_000)
    assert decide(CREDIT, DEFAULT_POLICY, owing, GOOD, None).limit_minor == 2_000_000
    # A cap below the product's minimum declines with the DTI reason.
    tiny = dataclasses.replace(DEFAULT_POLICY, unstated_income_limit_minor=999_999)
    got = decide(CREDIT, tiny, facts, GOOD, None)
    assert got == Decision(False, ("debt_to_income_too_high",), None, None)


def test_more_than_the_product_maximum_is_counter_offered_at_the_maximum() -> None:
    facts = dataclasses.replace(ASK, amount_minor=80_000_000, annual_income_minor=200_000_000)
    assert decide(CREDIT, DEFAULT_POLICY, facts, GOOD, None) == Decision(True, (), 650, 50_000_000)


def test_cutoffs_come_from_the_policy_data() -> None:
    body = json.loads(json.dumps(DEFAULT_POLICY.to_data()))
    assert body["score_cutoffs"] == {
        "credit_loan": 600,
        "overdraft_line": 650,
        "emergency_loan": 300,
    }
    assert CreditPolicy.from_data(1, body) == DEFAULT_POLICY
    stricter = CreditPolicy.from_data(
        2, {**body, "score_cutoffs": {**body["score_cutoffs"], "credit_loan": 850}}
    )
    assert decide(CREDIT, stricter, ASK, GOOD, None).reasons == ("score_below_cutoff",)
    # A product the policy has no cut-off for is not lent on.
    silent = CreditPolicy.from_data(3, {**body, "score_cutoffs": {}})
    assert decide(CREDIT, silent, ASK, GOOD, None).reasons == ("score_below_cutoff",)


def test_policy_data_is_checked() -> None:
    body = DEFAULT_POLICY.to_data()
    with pytest.raises(ValueError, match="unknown"):
        CreditPolicy.from_data(2, {**body, "colour": "blue"})
    with pytest.raises(ValueError):
        CreditPolicy.from_data(2, {k: v for k, v in body.items() if k != "score_cutoffs"})
    with pytest.raises(ValueError):
        CreditPolicy.from_data(2, {**body, "dti_max_bps": -1})
    assert CreditPolicy.from_data(2, {"score_cutoffs": {"credit_loan": 700}}).open_loans_max == 5
    for bad in (
        {"dti_max_bps": "200%"},
        {"open_loans_max": True},
        {"score_cutoffs": {"credit_loan": 600.5}},
        {"score_cutoffs": ["credit_loan"]},
    ):
        with pytest.raises(ValueError):
            CreditPolicy.from_data(2, {**body, **bad})


def test_an_application_the_product_cannot_take_is_a_caller_error() -> None:
    for facts in (
        dataclasses.replace(ASK, product_code="emergency_loan"),
        dataclasses.replace(ASK, amount_minor=999_999),
        dataclasses.replace(ASK, term_months=61),
    ):
        with pytest.raises(ValueError):
            decide(CREDIT, DEFAULT_POLICY, facts, GOOD, None)


@settings(max_examples=PROPERTY_EXAMPLES_MAX, deadline=None)
@given(
    st.sampled_from(sorted(DEFAULT_PRODUCTS)),
    st.builds(
        BureauFacts,
        score=st.integers(300, 950),
        grade=st.integers(1, 10),
        open_loans=st.integers(0, 8),
        delinquencies=st.integers(0, 3),
        total_debt=st.integers(0, 150_000_000),
    ),
    st.integers(0, 60_000_000),
    st.none() | st.integers(0, 300_000_000),
    st.integers(0, 100_000_000),
    st.sampled_from([None, COVERED, NOT_COVERED]),
)
def test_decisions_are_consistent(
    code: str,
    bureau: BureauFacts,
    amount_over_min: int,
    income: int | None,
    exposure: int,
    guarantee: GuaranteeFacts | None,
) -> None:
    product = DEFAULT_PRODUCTS[code]
    amount = product.amount_min + amount_over_min
    facts = ApplicationFacts(code, amount, product.term_months_max, income, exposure)
    got = decide(product, DEFAULT_POLICY, facts, bureau, guarantee)
    assert len(got.reasons) <= 4
    assert list(got.reasons) == sorted(got.reasons, key=REASONS.index)
    if got.approved:
        assert got.reasons == ()
        assert got.rate_bps == product.rate_for(bureau.score)
        assert got.limit_minor is not None
        assert product.amount_min <= got.limit_minor <= min(amount, product.amount_max)
        owed = bureau.total_debt + exposure + got.limit_minor
        if income is None:
            assert got.limit_minor <= DEFAULT_POLICY.unstated_income_limit_minor
        else:
            assert owed * 10_000 <= income * DEFAULT_POLICY.dti_max_bps
        assert owed <= DEFAULT_POLICY.exposure_max_minor
    else:
        assert got.reasons
        assert (got.rate_bps, got.limit_minor) == (None, None)
