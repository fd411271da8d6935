"""Customer and auth request/response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

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


class CustomerIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=200)
    birth_date: date
    phone: str = Field(pattern=r"^\+?[0-9][0-9 -]{6,30}$", max_length=32)


class CustomerOut(BaseModel):
    id: UUID
    name: str
    status: str
    created_at: datetime


class DeviceIn(BaseModel):
    model_config = _STRICT
    public_key: str = Field(min_length=43, max_length=44, description="Ed25519, base64url")


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
    challenge: str = Field(min_length=1, max_length=64)
    signature: str = Field(min_length=1, max_length=128, description="base64url")


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int
