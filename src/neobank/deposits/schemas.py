"""Deposit account request/response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["AccountIn", "AccountOut", "AccountStatusIn", "TransactionOut", "TransactionPage"]


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: UUID
    product: str = Field(min_length=1, max_length=32)


class AccountStatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["active", "frozen", "closed"]


class AccountOut(BaseModel):
    id: UUID
    number: str
    customer_id: UUID
    product: str
    currency: str
    status: Literal["active", "frozen", "closed"]
    balance: int = Field(
        description="Credits minus debits posted, in minor units. Negative while the account's "
        "overdraft line (a minus account) is in use."
    )
    available_balance: int = Field(
        description="What may still leave the account: balance less the holds, plus the unused "
        "part of an overdraft line (its credit limit, when the account has one)."
    )
    created_at: datetime


class TransactionOut(BaseModel):
    transfer_id: UUID
    direction: Literal["debit", "credit"]
    amount: int
    balance_after: int
    kind: str
    memo: str | None
    counterparty_account_id: UUID | None
    created_at: datetime


class TransactionPage(BaseModel):
    items: list[TransactionOut]
    next_cursor: str | None
