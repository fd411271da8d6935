"""Request and response bodies of the loan catalog and the loan applications (API.md "Loans
through outside agencies")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from neobank.ledger.domain import AMOUNT_MAX_MINOR

__all__ = [
    "ApplicationIn",
    "ApplicationOut",
    "ApplicationPage",
    "DecisionOut",
    "LoanProductOut",
    "LoanProductPage",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
PRODUCT_CODE_LENGTH_MAX = 32
RESIDENT_ID_TEXT_MAX = 14  # YYMMDD-GNNNNNC
TERM_MONTHS_MAX = 600  # far beyond any product: the product's own range says the rest
INCOME_MAX_MINOR = AMOUNT_MAX_MINOR

Amount = Annotated[StrictInt, Field(gt=0, le=AMOUNT_MAX_MINOR, description="minor units")]


class ApplicationIn(BaseModel):
    model_config = _STRICT
    customer_id: UUID
    product: str = Field(min_length=1, max_length=PRODUCT_CODE_LENGTH_MAX, pattern=r"^[a-z_]+$")
    amount: Amount
    term_months: Annotated[StrictInt, Field(gt=0, le=TERM_MONTHS_MAX)]
    account_id: UUID = Field(description="The customer's deposit account the loan is paid to")
    annual_income: Annotated[
        StrictInt | None,
        Field(
            default=None,
            ge=0,
            le=INCOME_MAX_MINOR,
            description="Stated yearly income, minor units; without it the limit is capped",
        ),
    ] = None
    resident_id: str | None = Field(
        default=None,
        max_length=RESIDENT_ID_TEXT_MAX,
        description="Needed only when the customer has no completed onboarding on file",
    )


class GuaranteeOut(BaseModel):
    covered: bool
    reason: str | None
    fee_rate_bps: int | None
    coverage_bps: int | None


class DecisionOut(BaseModel):
    bureau_score: int
    guarantee: GuaranteeOut | None
    rate_bps: int | None
    limit: int | None
    reasons: list[str]


class ApplicationOut(BaseModel):
    id: UUID
    status: Literal["pending", "approved", "declined", "accepted", "cancelled"]
    stage: Literal["queued", "bureau", "guarantee", "deciding", "decided"]
    customer_id: UUID
    account_id: UUID
    product: str
    product_version: int
    amount: int
    term_months: int
    annual_income: int | None
    created_at: datetime
    decided_at: datetime | None = None
    offer_expires_at: datetime | None = None
    cancel_reason: str | None = None
    loan_id: UUID | None = None
    agency_attempts: int
    last_agency_error: str | None = None
    decision: DecisionOut | None = None


class ApplicationPage(BaseModel):
    items: list[ApplicationOut]
    next_cursor: str | None


class LoanProductOut(BaseModel):
    code: str
    name: str
    currency: str
    amount_min: int
    amount_max: int
    term_months_min: int
    term_months_max: int
    guarantee_required: bool


class LoanProductPage(BaseModel):
    items: list[LoanProductOut]
