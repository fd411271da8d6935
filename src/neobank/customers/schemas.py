"""Customer and auth request/response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ChallengeIn",
    "ChallengeOut",
    "CustomerIn",
    "CustomerOut",
    "DeviceIn",
    "DeviceOut",
    "TokenIn",
    "TokenOut",
]

_STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)

# No control characters (C0, DEL, C1), line separators or bidirectional overrides: a name is
# printed on statements and screens, where those could break lines or reorder what is shown.
_PRINTABLE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+$"
BIRTH_DATE_MIN = date(1900, 1, 1)
PUBLIC_KEY_TEXT_MAX = 1024


class CustomerIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=200, pattern=_PRINTABLE)
    birth_date: date = Field(description="ISO 8601, YYYY-MM-DD")
    phone: str = Field(pattern=r"^\+?[0-9][0-9 -]{6,30}$", max_length=32)

    @field_validator("birth_date", mode="before")
    @classmethod
    def _date_as_text(cls, value: object) -> object:
        # Pydantic would read a JSON number as a Unix timestamp: 0 would be 1970-01-01.
        if not isinstance(value, str | date):
            raise ValueError("must be a date as YYYY-MM-DD")
        return value

    @field_validator("birth_date")
    @classmethod
    def _born_in_the_past(cls, value: date) -> date:
        if not BIRTH_DATE_MIN <= value <= date.today():
            raise ValueError(f"must be between {BIRTH_DATE_MIN} and today")
        return value


class CustomerOut(BaseModel):
    id: UUID
    name: str
    status: str
    created_at: datetime


class DeviceIn(BaseModel):
    model_config = _STRICT
    # Any text up to the limit reaches the service, so that every malformed key answers
    # 422 invalid_public_key rather than a generic validation error.
    public_key: str = Field(
        max_length=PUBLIC_KEY_TEXT_MAX, description="Ed25519, 32 raw bytes in base64url"
    )


class DeviceOut(BaseModel):
    device_id: UUID


class ChallengeIn(BaseModel):
    model_config = _STRICT
    device_id: UUID


class ChallengeOut(BaseModel):
    challenge: str
    expires_in: int


class TokenIn(BaseModel):
    model_config = _STRICT
    device_id: UUID
    challenge: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    signature: str = Field(min_length=1, max_length=128, description="base64url")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
