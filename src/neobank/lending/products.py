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
    "OFFER_TTL_S_MAX",
    "Kind",
    "LoanProduct",
    "RateBand",
    "check_body",
]

Kind = Literal["installment", "revolving"]
KINDS: tuple[Kind, ...] = get_args(Kind)

# Korean law caps late interest at the contract rate + 3 %p, and any rate at 20 % a year.
LATE_RATE_ADD_BPS = 300
LATE_RATE_MAX_BPS = 2_000
OFFER_TTL_S = 7 * 24 * 60 * 60
# An offer stands at most this long: the bureau's answer it rests on grows stale.
OFFER_TTL_S_MAX = 90 * 24 * 60 * 60

# The body's keys and the JSON types each may hold (rate_grid is checked band by band).
_FIELDS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "kind": (str,),
    "currency": (str,),
    "amount_min": (int,),
    "amount_max": (int,),
    "term_months_min": (int,),
    "term_months_max": (int,),
    "guarantee_required": (bool,),
    "guarantee_product": (str, type(None)),
    "repayment_method": (str,),
    "rate_grid": (list, tuple),
    "late_rate_add_bps": (int,),
    "late_rate_max_bps": (int,),
    "offer_ttl_s": (int,),
}
# Late-rate terms and the offer's lifetime have defaults; everything else must be given.
_REQUIRED = tuple(
    n for n in _FIELDS if n not in {"late_rate_add_bps", "late_rate_max_bps", "offer_ttl_s"}
)
_BAND_KEYS = frozenset({"score_min", "rate_bps"})


def check_body(what: str, data: Mapping[str, Any], fields: Mapping[str, tuple[type, ...]]) -> None:
    """Refuse unknown keys and values of the wrong JSON type with a ValueError naming them
    (``what`` says whose body it is). A JSON true is not a number here, although Python's
    bool is an int."""
    unknown = set(data) - set(fields)
    if unknown:
        raise ValueError(f"{what}: unknown keys {sorted(unknown)}")
    for name, value in data.items():
        types = fields[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ValueError(f"{what}: {name} has the wrong type")


def _bands(what: str, raw: list[Any] | tuple[Any, ...]) -> tuple[RateBand, ...]:
    bands = []
    for item in raw:
        if not isinstance(item, Mapping) or set(item) != _BAND_KEYS:
            raise ValueError(f"{what}: a rate band needs exactly score_min and rate_bps")
        check_body(what, item, {"score_min": (int,), "rate_bps": (int,)})
        bands.append(RateBand(item["score_min"], item["rate_bps"]))
    return tuple(bands)


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
                (
                    any(b.rate_bps > self.late_rate_max_bps for b in self.rate_grid),
                    "rate above the legal maximum (late_rate_max_bps)",
                ),
                (len({b.score_min for b in self.rate_grid}) != len(self.rate_grid), "bands"),
                (self.late_rate_add_bps < 0 or self.late_rate_max_bps < 0, "late rates"),
                (not 0 < self.offer_ttl_s <= OFFER_TTL_S_MAX, "offer_ttl_s"),
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
        """The inverse of `to_data`. Any bad body (unknown or missing keys, wrong types, terms
        that do not hold together) is a ValueError saying what is wrong."""
        what = f"loan product {code!r}"
        check_body(what, data, _FIELDS)
        missing = [name for name in _REQUIRED if name not in data]
        if missing:
            raise ValueError(f"{what}: missing keys {missing}")
        fields = dict(data)
        fields["rate_grid"] = _bands(what, data["rate_grid"])
        return cls(code=code, version=version, **fields)

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
