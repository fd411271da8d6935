"""Checking the terms a maker-checker change proposes (plain Python, no SQL): merged over the
latest version, valid as a product or a policy, within the law's caps, same JSON types."""

from __future__ import annotations

from collections.abc import Set
from typing import Any

from neobank.lending.policy import CreditPolicy
from neobank.lending.products import LATE_RATE_ADD_BPS, LATE_RATE_MAX_BPS, LoanProduct
from neobank.ops.errors import InvalidChangeBody

__all__ = ["BUREAU_SCORE_MAX", "checked_terms"]

BUREAU_SCORE_MAX = 1000  # Korean bureau scores run 1 to 1000


def checked_terms(
    kind: str,
    target: str,
    base_version: int,
    base: dict[str, Any],
    changes: dict[str, Any],
    product_codes: Set[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The full terms of the next version (``changes`` shallow-merged over ``base``: a
    rate_grid or the score_cutoffs are replaced whole) and their diff ``{key: {from, to}}``
    against ``base``. InvalidChangeBody says why when they would not make a valid version."""
    merged = {**base, **changes}
    try:
        if kind == "loan_product":
            product = LoanProduct.from_data(target, base_version + 1, merged)
            _check_product(product)
            terms = product.to_data()
        else:
            policy = CreditPolicy.from_data(base_version + 1, merged)
            _check_policy(policy, product_codes)
            terms = policy.to_data()
    except InvalidChangeBody:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidChangeBody(str(exc)) from None
    # from_data coerces some values (int("600")): what the maker typed must already be right.
    problems = _shape_problems(base, merged, "body")
    if problems:
        raise InvalidChangeBody(f"wrong JSON types at {', '.join(sorted(set(problems)))}")
    diff = {k: {"from": base.get(k), "to": v} for k, v in terms.items() if base.get(k) != v}
    if not diff:
        raise InvalidChangeBody("the terms are the same as the latest version's")
    return terms, diff


def _shape_problems(base: Any, new: Any, path: str) -> list[str]:
    """Where the new terms' JSON types differ from the latest version's (no float for an
    int, no string for a number, no bool for an int)."""
    if base is None or new is None:  # optional fields (guarantee_product)
        return []
    if isinstance(base, dict):
        if not isinstance(new, dict):
            return [path]
        sample = next(iter(base.values()), None)
        return [p for k, v in new.items() for p in _shape_problems(base.get(k, sample), v, k)]
    if isinstance(base, list):
        if not isinstance(new, list):
            return [path]
        sample = base[0] if base else None
        return [p for item in new for p in _shape_problems(sample, item, path)]
    return [] if type(base) is type(new) else [path]


def _check_product(product: LoanProduct) -> None:
    # The law's caps (see products.py) bound what any version may charge.
    if product.late_rate_max_bps > LATE_RATE_MAX_BPS or product.late_rate_add_bps > (
        LATE_RATE_ADD_BPS
    ):
        raise InvalidChangeBody("late rates above the legal maximum")
    if any(band.rate_bps > product.late_rate_max_bps for band in product.rate_grid):
        raise InvalidChangeBody(f"a rate above the maximum of {product.late_rate_max_bps} bps")


def _check_policy(policy: CreditPolicy, product_codes: Set[str]) -> None:
    unknown = set(policy.score_cutoffs) - set(product_codes)
    if unknown:
        raise InvalidChangeBody(f"score_cutoffs for unknown products {sorted(unknown)}")
    if any(not 0 <= score <= BUREAU_SCORE_MAX for score in policy.score_cutoffs.values()):
        raise InvalidChangeBody(f"score cut-offs run from 0 to {BUREAU_SCORE_MAX}")
