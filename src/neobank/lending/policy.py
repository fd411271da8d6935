"""The credit policy as versioned data, and the decision it gives on an application.

`decide` is a plain function of what the bureau, the guarantee insurer and the applicant said:
every rule is evaluated, every failing one gives a reason code, and the applicant sees at most
the four principal ones in a fixed priority.

    reason                   fails when
    score_below_cutoff       bureau score < the policy's cut-off for the product (none: fails)
    recent_delinquencies     bureau delinquencies > delinquencies_max
    guarantee_declined       the product needs the insurer's cover and did not get it
    debt_to_income_too_high  the DTI cap (or the unstated-income cap) leaves less than the
                             product's minimum amount
    exposure_too_high        the exposure cap leaves less than the product's minimum amount
    too_many_open_loans      bureau open loans >= open_loans_max (the new one would exceed it)
    no_rate_for_score        the product's rate grid has no band for the score

Existing debt is the bureau's total_debt plus the bank's own outstanding (the bureau may not
know our loans yet). The DTI cap leaves floor(income * dti_max_bps / 10,000) - existing debt;
without a stated income (optional in the API) the DTI rule cannot run, and the cap is
unstated_income_limit_minor instead. The exposure cap leaves exposure_max_minor - existing
debt. The approved limit is min(requested, product.amount_max, both caps): below the
product's minimum it is a decline with the binding cap's reason; below the requested amount
it is a counter-offer (approved, lower limit, no reasons). The rate is the grid's rate for the
score and nothing else: the guarantee insurer's fee is the bank's cost, not added to the
customer's rate.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from neobank.lending.products import LoanProduct, check_body

__all__ = [
    "DEFAULT_POLICY",
    "REASONS",
    "REASONS_SHOWN_MAX",
    "RULES",
    "ApplicationFacts",
    "BureauFacts",
    "CreditPolicy",
    "Decision",
    "GuaranteeFacts",
    "decide",
]

_BPS_PER_UNIT = 10_000
REASONS_SHOWN_MAX = 4

# The body's keys and their JSON types (score_cutoffs is checked entry by entry).
_FIELDS: dict[str, tuple[type, ...]] = {
    "score_cutoffs": (dict,),
    "delinquencies_max": (int,),
    "dti_max_bps": (int,),
    "exposure_max_minor": (int,),
    "open_loans_max": (int,),
    "unstated_income_limit_minor": (int,),
}


@dataclass(frozen=True)
class CreditPolicy:
    """One version of the credit policy (changed only through maker-checker)."""

    version: int
    score_cutoffs: dict[str, int]  # minimum bureau score per product code
    delinquencies_max: int = 0
    dti_max_bps: int = 20_000  # debts incl. the new loan over stated yearly income: 200 %
    exposure_max_minor: int = 100_000_000  # bureau total_debt + ours + the requested amount
    open_loans_max: int = 5
    # What we lend to someone who did not state an income: small enough to need no DTI check.
    unstated_income_limit_minor: int = 5_000_000

    def __post_init__(self) -> None:
        numbers = (
            self.delinquencies_max,
            self.dti_max_bps,
            self.exposure_max_minor,
            self.open_loans_max,
            self.unstated_income_limit_minor,
        )
        if min(numbers) < 0:
            raise ValueError(f"credit policy v{self.version}: limits must be >= 0")

    def to_data(self) -> dict[str, Any]:
        """A JSON-able body; the version is the catalog row's key, not part of it."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["score_cutoffs"] = dict(self.score_cutoffs)
        return data

    @classmethod
    def from_data(cls, version: int, data: Mapping[str, Any]) -> CreditPolicy:
        """The inverse of `to_data`. Any bad body (unknown keys, wrong types, no
        score_cutoffs, negative limits) is a ValueError saying what is wrong; the other limits
        have defaults."""
        what = f"credit policy v{version}"
        check_body(what, data, _FIELDS)
        if "score_cutoffs" not in data:
            raise ValueError(f"{what}: missing keys ['score_cutoffs']")
        cutoffs = data["score_cutoffs"]
        check_body(what, cutoffs, dict.fromkeys(cutoffs, (int,)))
        return cls(version=version, **{**data, "score_cutoffs": dict(cutoffs)})


DEFAULT_POLICY = CreditPolicy(
    version=1,
    score_cutoffs={"credit_loan": 600, "overdraft_line": 650, "emergency_loan": 300},
)


@dataclass(frozen=True, slots=True)
class BureauFacts:
    score: int
    grade: int
    open_loans: int
    delinquencies: int
    total_debt: int  # minor units


@dataclass(frozen=True, slots=True)
class GuaranteeFacts:
    covered: bool
    reason: str | None
    fee_rate_bps: int | None
    coverage_bps: int | None


@dataclass(frozen=True, slots=True)
class ApplicationFacts:
    product_code: str
    amount_minor: int
    term_months: int
    annual_income_minor: int | None  # as stated by the applicant; None: not stated
    bank_exposure_minor: int  # what the customer already owes this bank


@dataclass(frozen=True, slots=True)
class Decision:
    approved: bool
    reasons: tuple[str, ...]  # empty when approved
    rate_bps: int | None  # None when declined
    limit_minor: int | None  # None when declined; may be below the amount asked (counter-offer)


@dataclass(frozen=True, slots=True)
class _Case:
    """Everything a rule looks at, computed once."""

    product: LoanProduct
    policy: CreditPolicy
    bureau: BureauFacts
    guarantee: GuaranteeFacts | None
    dti_room_minor: int
    exposure_room_minor: int
    rate_bps: int | None


def _score_below_cutoff(c: _Case) -> bool:
    cutoff = c.policy.score_cutoffs.get(c.product.code)
    # A product the policy has no cut-off for is not lent on: the safe reading of a gap.
    return cutoff is None or c.bureau.score < cutoff


def _guarantee_declined(c: _Case) -> bool:
    # No answer (None) on a product that needs cover counts as no cover.
    return c.product.guarantee_required and (c.guarantee is None or not c.guarantee.covered)


# The rules in the fixed priority the applicant sees their reasons in.
RULES: tuple[tuple[str, Callable[[_Case], bool]], ...] = (
    ("score_below_cutoff", _score_below_cutoff),
    ("recent_delinquencies", lambda c: c.bureau.delinquencies > c.policy.delinquencies_max),
    ("guarantee_declined", _guarantee_declined),
    ("debt_to_income_too_high", lambda c: c.dti_room_minor < c.product.amount_min),
    ("exposure_too_high", lambda c: c.exposure_room_minor < c.product.amount_min),
    ("too_many_open_loans", lambda c: c.bureau.open_loans >= c.policy.open_loans_max),
    ("no_rate_for_score", lambda c: c.rate_bps is None),
)
REASONS: tuple[str, ...] = tuple(reason for reason, _ in RULES)


def decide(
    product: LoanProduct,
    policy: CreditPolicy,
    facts: ApplicationFacts,
    bureau: BureauFacts,
    guarantee: GuaranteeFacts | None,
) -> Decision:
    """Approve (with a rate and a limit, possibly lower than asked) or decline (with at most
    four reasons). Raises ValueError for an application the product cannot take at all
    (another product, a term outside it, an amount below its minimum): check those at
    submission with `LoanProduct.terms_in_range`. An amount above the maximum is
    counter-offered at the maximum."""
    if facts.product_code != product.code:
        raise ValueError(f"application for {facts.product_code!r} decided as {product.code!r}")
    if facts.amount_minor < product.amount_min or not (
        product.term_months_min <= facts.term_months <= product.term_months_max
    ):
        raise ValueError(f"amount or term outside loan product {product.code!r}")
    existing_debt = bureau.total_debt + facts.bank_exposure_minor
    if facts.annual_income_minor is None:
        dti_room = policy.unstated_income_limit_minor
    else:
        income = max(facts.annual_income_minor, 0)
        dti_room = income * policy.dti_max_bps // _BPS_PER_UNIT - existing_debt
    case = _Case(
        product=product,
        policy=policy,
        bureau=bureau,
        guarantee=guarantee,
        dti_room_minor=dti_room,
        exposure_room_minor=policy.exposure_max_minor - existing_debt,
        rate_bps=product.rate_for(bureau.score),
    )
    reasons = tuple(reason for reason, fails in RULES if fails(case))
    if reasons or case.rate_bps is None:
        return Decision(False, reasons[:REASONS_SHOWN_MAX], None, None)
    limit = min(
        facts.amount_minor, product.amount_max, case.dti_room_minor, case.exposure_room_minor
    )
    return Decision(True, (), case.rate_bps, limit)
