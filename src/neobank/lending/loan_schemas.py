"""Request and response bodies of loans: accept, read, repay, statements, close of business."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from neobank.ledger.domain import AMOUNT_MAX_MINOR

__all__ = [
    "CloseOfBusinessIn",
    "CloseOfBusinessOut",
    "InstallmentOut",
    "LoanOut",
    "LoanPage",
    "RepaymentIn",
    "RepaymentOut",
]

_STRICT = ConfigDict(extra="forbid")
Amount = Annotated[StrictInt, Field(gt=0, le=AMOUNT_MAX_MINOR, description="minor units")]


class InstallmentOut(BaseModel):
    number: int
    due_date: date
    principal: int
    interest: int
    total: int
    principal_paid: int
    interest_paid: int
    status: str = Field(description="scheduled, due, overdue, paid, cancelled")


class LoanOut(BaseModel):
    id: UUID
    status: str = Field(description="active or closed")
    kind: str
    product: str
    currency: str
    principal: int
    principal_outstanding: int
    rate_bps: int
    late_rate_bps: int | None = None
    payoff_amount: int | None = Field(
        default=None, description="principal outstanding + interest due and accrued + late"
    )
    days_past_due: int | None = None
    delinquency_bucket: str | None = None
    available: int | None = Field(default=None, description="a revolving line's unused part")
    schedule: list[InstallmentOut]


class LoanPage(BaseModel):
    items: list[LoanOut]


class RepaymentIn(BaseModel):
    model_config = _STRICT
    from_account_id: UUID
    amount: Amount


class RepaymentOut(BaseModel):
    id: UUID
    loan_id: UUID
    amount: int
    fees: int = Field(description="late interest paid")
    interest: int
    principal: int
    kind: str = Field(description="installment, prepayment or payoff")
    loan: LoanOut


class CloseOfBusinessIn(BaseModel):
    model_config = _STRICT
    business_date: date


class CloseOfBusinessOut(BaseModel):
    business_date: date
    status: str = Field(description="queued, not_started, running, completed")
    loans_done: int | None = None
    loans_remaining: int | None = None
