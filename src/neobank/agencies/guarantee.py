"""The guarantee insurer's rules: cover a loan or not, and at what fee.

Each product has a minimum score and a maximum amount; outside them the quote is not covered
(``score_too_low``, ``amount_too_large``, ``unknown_product``). A covered quote's yearly fee
rate falls with the score: >= 850: 50 bps, >= 750: 80 bps, >= 650: 120 bps, otherwise 180 bps;
amounts above half the product's maximum add 20 bps. Coverage is 90% of the amount (9,000 bps).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

__all__ = ["PRODUCTS", "GuaranteeProduct", "GuaranteeQuote", "quote_guarantee"]

coverage_bps = 9_000
large_amount_surcharge_bps = 20
fee_bands_bps = ((850, 50), (750, 80), (650, 120))
fee_floor_bps = 180


@dataclass(frozen=True, slots=True)
class GuaranteeProduct:
    score_min: int
    amount_max: int


PRODUCTS: dict[str, GuaranteeProduct] = {
    "personal_loan": GuaranteeProduct(score_min=600, amount_max=100_000_000),
    "credit_line": GuaranteeProduct(score_min=650, amount_max=50_000_000),
    "jeonse_loan": GuaranteeProduct(score_min=550, amount_max=500_000_000),
}


@dataclass(frozen=True, slots=True)
class GuaranteeQuote:
    quote_id: str
    covered: bool
    reason: str | None
    fee_rate_bps: int | None
    coverage_bps: int | None


def quote_guarantee(score: int, amount: int, product: str) -> GuaranteeQuote:
    quote_id = "gq_" + hashlib.sha256(f"{score}|{amount}|{product}".encode()).hexdigest()[:24]
    terms = PRODUCTS.get(product)
    if terms is None:
        return GuaranteeQuote(quote_id, False, "unknown_product", None, None)
    if score < terms.score_min:
        return GuaranteeQuote(quote_id, False, "score_too_low", None, None)
    if amount > terms.amount_max:
        return GuaranteeQuote(quote_id, False, "amount_too_large", None, None)
    fee = next((bps for cut, bps in fee_bands_bps if score >= cut), fee_floor_bps)
    if amount * 2 > terms.amount_max:
        fee += large_amount_surcharge_bps
    return GuaranteeQuote(quote_id, True, None, fee, coverage_bps)
