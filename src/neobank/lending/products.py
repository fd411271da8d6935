"""Loan products as versioned data: limits, terms, the rate grid and late-interest terms.

The catalog (`neobank.lending.catalog`) stores each version's `to_data()` as a JSON body keyed
by (code, version); `DEFAULT_PRODUCTS` are version 1.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from neobank.lending.schedules import METHODS, Method

__all__ = [
    "DEFAULT_PRODUCTS",
    "KINDS",
    "LATE_RATE_ADD_BPS",
    "LATE_RATE_MAX_BPS",
    "OFFER_TTL_S",
    "Kind",
    "LoanProduct",
    "RateBand",
]

Kind = Literal["installment", "revolving"]
KINDS: tuple[Kind, ...] = get_args(Kind)

# Korean law caps late interest at the contract rate + 3 %p, and any rate at 20 % a year.
LATE_RATE_ADD_BPS = 300
LATE_RATE_MAX_BPS = 2_000
OFFER_TTL_S = 7 * 24 * 60 * 60

_FIELDS = (
    "name",
    "kind",
    "currency",
    "amount_min",
    "amount_max",
    "term_months_min",
    "term_months_max",
    "guarantee_required",
    "guarantee_product",
    "repayment_method",
    "rate_grid",
    "late_rate_add_bps",
    "late_rate_max_bps",
    "offer_ttl_s",
)


@dataclass(frozen=True, slots=True)
class RateBand:
    """A yearly rate for bureau scores of ``score_min`` and above (up to the next band)."""

    score_min: int
    rate_bps: int


@dataclass(frozen=True)
class LoanProduct:
    """One version of a loan product. Amounts are in minor units (won for KRW)."""

    code: str
    name: str
    version: int
    kind: Kind
    currency: str
    amount_min: int
    amount_max: int
    term_months_min: int
    term_months_max: int
    guarantee_required: bool
    guarantee_product: str | None  # the guarantee insurer's product code
    repayment_method: Method
    rate_grid: tuple[RateBand, ...]
    late_rate_add_bps: int = LATE_RATE_ADD_BPS
    late_rate_max_bps: int = LATE_RATE_MAX_BPS
    offer_ttl_s: int = OFFER_TTL_S

    def __post_init__(self) -> None:
        # A product is data an ops user can change (maker-checker): refuse a bad version
        # where it is read, not when a customer meets it.
        problems = [
            text
            for bad, text in (
                (self.kind not in KINDS, f"kind {self.kind!r}"),
                (self.repayment_method not in METHODS, f"method {self.repayment_method!r}"),
                (not 0 < self.amount_min <= self.amount_max, "amounts"),
                (not 0 < self.term_months_min <= self.term_months_max, "terms"),
                (self.guarantee_required and not self.guarantee_product, "guarantee_product"),
                (not self.rate_grid, "empty rate_grid"),
                (any(b.rate_bps < 0 for b in self.rate_grid), "negative rate"),
                (len({b.score_min for b in self.rate_grid}) != len(self.rate_grid), "bands"),
                (self.late_rate_add_bps < 0 or self.late_rate_max_bps < 0, "late rates"),
                (self.offer_ttl_s <= 0, "offer_ttl_s"),
            )
            if bad
        ]
        if problems:
            raise ValueError(f"loan product {self.code!r}: invalid {', '.join(problems)}")

    def rate_for(self, score: int) -> int | None:
        """The yearly rate of the highest band whose score_min <= score; None below them all."""
        for band in sorted(self.rate_grid, key=lambda b: b.score_min, reverse=True):
            if band.score_min <= score:
                return band.rate_bps
        return None

    def terms_in_range(self, amount_minor: int, term_months: int) -> bool:
        """Whether an application's amount and term are within what the product offers."""
        return (
            self.amount_min <= amount_minor <= self.amount_max
            and self.term_months_min <= term_months <= self.term_months_max
        )

    def to_data(self) -> dict[str, Any]:
        """A JSON-able body; code and version are the catalog row's key, not part of it."""
        data = {name: getattr(self, name) for name in _FIELDS}
        data["rate_grid"] = [asdict(band) for band in self.rate_grid]
        return data

    @classmethod
    def from_data(cls, code: str, version: int, data: Mapping[str, Any]) -> LoanProduct:
        """The inverse of `to_data`. Unknown keys are refused, and so are missing ones
        that have no default."""
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise ValueError(f"loan product {code!r}: unknown keys {sorted(unknown)}")
        fields = {name: data[name] for name in _FIELDS if name in data}
        fields["rate_grid"] = tuple(
            RateBand(int(b["score_min"]), int(b["rate_bps"])) for b in data.get("rate_grid", ())
        )
        try:
            return cls(code=code, version=version, **fields)
        except TypeError as exc:  # a required field is missing
            raise ValueError(f"loan product {code!r}: {exc}") from exc

    def listing(self) -> dict[str, Any]:
        """The item of ``GET /v1/loan-products``."""
        return {
            "code": self.code,
            "name": self.name,
            "currency": self.currency,
            "amount_min": self.amount_min,
            "amount_max": self.amount_max,
            "term_months_min": self.term_months_min,
            "term_months_max": self.term_months_max,
            "guarantee_required": self.guarantee_required,
        }


def _grid(*bands: tuple[int, int]) -> tuple[RateBand, ...]:
    return tuple(RateBand(score_min, rate_bps) for score_min, rate_bps in bands)


DEFAULT_PRODUCTS: dict[str, LoanProduct] = {
    p.code: p
    for p in (
        LoanProduct(
            code="credit_loan",
            name="Credit loan",
            version=1,
            kind="installment",
            currency="KRW",
            amount_min=1_000_000,
            amount_max=50_000_000,
            term_months_min=6,
            term_months_max=60,
            guarantee_required=False,
            guarantee_product=None,
            repayment_method="annuity",
            rate_grid=_grid((850, 450), (750, 650), (650, 900), (600, 1300)),
        ),
        # A credit limit on a demand-deposit account: interest accrues daily on the used part,
        # and the line is due in full at the end of its 12 months (hence "bullet").
        LoanProduct(
            code="overdraft_line",
            name="Overdraft line (minus account)",
            version=1,
            kind="revolving",
            currency="KRW",
            amount_min=1_000_000,
            amount_max=30_000_000,
            term_months_min=12,
            term_months_max=12,
            guarantee_required=False,
            guarantee_product=None,
            repayment_method="bullet",
            rate_grid=_grid((850, 550), (750, 750), (650, 1000)),
        ),
        # The insurer carries the risk, so a low score is fine once it covers the loan.
        LoanProduct(
            code="emergency_loan",
            name="Emergency loan",
            version=1,
            kind="installment",
            currency="KRW",
            amount_min=500_000,
            amount_max=3_000_000,
            term_months_min=1,
            term_months_max=12,
            guarantee_required=True,
            guarantee_product="personal_loan",
            repayment_method="equal_principal",
            rate_grid=_grid((600, 900), (300, 1200)),
        ),
    )
}
