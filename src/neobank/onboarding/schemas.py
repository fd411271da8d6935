"""Onboarding request and response bodies."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from neobank.customers.schemas import PUBLIC_KEY_TEXT_MAX, CustomerIn

__all__ = [
    "AccountCheckIn",
    "CodeIn",
    "CompletedOut",
    "IdCheckIn",
    "OnboardingIn",
    "OnboardingOut",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)
RESIDENT_ID_TEXT_MAX = 14


class OnboardingIn(CustomerIn):
    # Any short text reaches the service, so a wrong number answers invalid_resident_id.
    resident_id: str = Field(
        max_length=RESIDENT_ID_TEXT_MAX,
        description="Resident registration number, YYMMDD-GNNNNNC; never returned unmasked",
    )
    device_public_key: str = Field(
        max_length=PUBLIC_KEY_TEXT_MAX, description="Ed25519, 32 raw bytes in base64url"
    )


class IdCheckIn(BaseModel):
    model_config = _STRICT
    id_card_issue_date: date = Field(description="The issue date printed on the ID card")

    @field_validator("id_card_issue_date", mode="before")
    @classmethod
    def _date_as_text(cls, value: object) -> object:
        if not isinstance(value, str | date):
            raise ValueError("must be a date as YYYY-MM-DD")
        return value


class AccountCheckIn(BaseModel):
    model_config = _STRICT
    bank_code: str = Field(pattern=r"^\d{3}$", description="The other bank's 3-digit code")
    account_number: str = Field(pattern=r"^[0-9-]{6,20}$")


class CodeIn(BaseModel):
    model_config = _STRICT
    code: str = Field(pattern=r"^\d{4}$", description="The 4 digits in the 1 KRW credit's memo")


class OnboardingOut(BaseModel):
    id: str
    status: str = Field(description="in_progress, ready, completed, failed or expired")
    next_step: str | None = Field(
        description="id_verification, account_verification, account_verification_confirm, "
        "complete, wait (poll after poll_after_ms) or null when finished"
    )
    steps: dict[str, dict[str, Any]]
    resident_id_masked: str
    created_at: str
    expires_at: str
    poll_after_ms: int | None = None
    onboarding_token: str | None = Field(
        default=None, description="Bearer token for this onboarding's later steps"
    )


class CompletedOut(BaseModel):
    customer_id: str
    device_id: str
    account: dict[str, Any]
