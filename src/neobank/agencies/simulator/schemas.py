"""Request bodies of the simulated agencies (pydantic)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CreditRequest", "GuaranteeRequest", "InquiryRequest", "VerificationRequest"]

resident_id_pattern = r"^\d{6}-?\d{7}$"


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VerificationRequest(_Body):
    name: str = Field(min_length=1, max_length=100)
    resident_id: str = Field(pattern=resident_id_pattern)
    issue_date: date


class InquiryRequest(_Body):
    inquiry_key: str = Field(min_length=1, max_length=128)
    resident_id: str = Field(pattern=resident_id_pattern)
    purpose: str = Field(default="loan_application", max_length=64)
    name: str | None = Field(default=None, max_length=100)


class GuaranteeRequest(_Body):
    score: int = Field(ge=0, le=1000)
    amount: int = Field(gt=0, le=10_000_000_000)
    product: str = Field(min_length=1, max_length=64)


class CreditRequest(_Body):
    bank_code: str = Field(pattern=r"^\d{3}$")
    account_number: str = Field(pattern=r"^[0-9-]{6,20}$")
    amount: int = Field(gt=0, le=10_000_000_000)
    currency: str = Field(default="KRW", pattern=r"^[A-Z]{3}$")
    memo: str = Field(default="", max_length=64)
    reference: str | None = Field(default=None, min_length=1, max_length=128)
