"""Payment request/response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from neobank.ledger.domain import AMOUNT_MAX_MINOR, PENDING_TIMEOUT_MAX_S

__all__ = [
    "BatchIn",
    "BatchItemIn",
    "BatchOut",
    "DepositIn",
    "FeeOut",
    "FeeReportOut",
    "FeeRuleIn",
    "FeeRuleOut",
    "FeeRulePage",
    "HoldCaptureIn",
    "HoldIn",
    "HoldOut",
    "HoldPage",
    "ProblemOut",
    "PromotionIn",
    "PromotionOut",
    "TransferIn",
    "TransferOut",
    "problem_responses",
]

BATCH_ITEMS_MAX = 8190
MEMO_LENGTH_MAX = 140

Amount = Annotated[StrictInt, Field(gt=0, le=AMOUNT_MAX_MINOR, description="minor units")]
FeeAmount = Annotated[StrictInt, Field(ge=0, le=AMOUNT_MAX_MINOR, description="minor units")]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")]
# A memo is one line of printable text: no control characters (NUL cannot even be stored).
_ONE_PRINTABLE_LINE = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]*$"
Memo = Annotated[
    str | None, Field(default=None, max_length=MEMO_LENGTH_MAX, pattern=_ONE_PRINTABLE_LINE)
]
FeeKind = Literal["internal", "interbank", "atm_withdrawal", "partner"]

_STRICT = ConfigDict(extra="forbid")


class TransferIn(BaseModel):
    model_config = _STRICT
    from_account_id: UUID
    to_account_id: UUID
    amount: Amount
    currency: Currency
    memo: Memo = None


class DepositIn(BaseModel):
    model_config = _STRICT
    account_id: UUID
    amount: Amount
    currency: Currency
    memo: Memo = None


class FeeOut(BaseModel):
    amount: int = Field(description="the fee charged, after any waiver")
    waived_amount: int
    promotion: str | None


class TransferOut(BaseModel):
    id: UUID
    status: Literal["posted"]
    from_account_id: UUID | None
    to_account_id: UUID
    amount: int
    currency: str
    kind: str
    memo: str | None
    fee: FeeOut
    created_at: datetime


class BatchItemIn(BaseModel):
    model_config = _STRICT
    id: UUID
    from_account_id: UUID
    to_account_id: UUID
    amount: Amount
    currency: Currency
    memo: Memo = None


class BatchIn(BaseModel):
    model_config = _STRICT
    transfers: list[BatchItemIn] = Field(min_length=1, max_length=BATCH_ITEMS_MAX)

    def dump_flat(self) -> dict[str, Any]:
        """`model_dump()`'s dict (what the idempotency key's request hash is taken of), built
        from the items' fields directly, which are flat: 0.3 ms for 8,190 items, against 5 ms
        (tests/payments/test_batch.py keeps the two equal)."""
        return {"transfers": [item.__dict__ for item in self.transfers]}


class BatchResultOut(BaseModel):
    id: UUID
    status: Literal["posted", "exists", "failed"]
    code: str | None = None


class BatchOut(BaseModel):
    results: list[BatchResultOut]


class FeeRuleIn(BaseModel):
    model_config = _STRICT
    kind: FeeKind
    amount: FeeAmount
    currency: Currency


class FeeRuleOut(BaseModel):
    kind: str
    currency: str
    amount: int
    updated_at: datetime


class FeeRulePage(BaseModel):
    items: list[FeeRuleOut]
    next_cursor: str | None


class PromotionIn(BaseModel):
    model_config = _STRICT
    name: str = Field(min_length=1, max_length=100)
    kinds: list[FeeKind] = Field(min_length=1, max_length=4)
    waive_percent: StrictInt = Field(ge=0, le=100)
    starts_at: datetime
    ends_at: datetime


class PromotionOut(BaseModel):
    id: UUID
    name: str
    kinds: list[str]
    waive_percent: int
    starts_at: datetime
    ends_at: datetime
    created_at: datetime


class KindTotals(BaseModel):
    charged: int
    waived: int


class FeeReportOut(BaseModel):
    currency: str
    charged: int
    waived: int
    by_kind: dict[str, KindTotals]


class HoldIn(BaseModel):
    model_config = _STRICT
    account_id: UUID
    amount: Amount
    currency: Currency
    timeout_seconds: StrictInt = Field(
        ge=1, le=PENDING_TIMEOUT_MAX_S, description="the hold expires (is voided) after this"
    )
    memo: Memo = None


class HoldCaptureIn(BaseModel):
    model_config = _STRICT
    amount: Amount | None = Field(default=None, description="at most the amount held; absent: all")


class HoldOut(BaseModel):
    id: UUID
    status: Literal["pending", "captured", "voided", "expired"]
    account_id: UUID
    amount: int = Field(description="the amount held")
    currency: str
    memo: str | None
    captured_amount: int | None
    capture_transfer_id: UUID | None = Field(description="the posted transfer of a capture")
    timeout_seconds: int
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None


class HoldPage(BaseModel):
    items: list[HoldOut]
    next_cursor: str | None


class ProblemOut(BaseModel):
    """An RFC 9457 problem document; `code` is the stable machine-readable error."""

    type: str
    title: str
    status: int
    detail: str
    code: str


def problem_responses(codes: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem answers of a route: by status, their stable codes."""
    return {
        status: {"model": ProblemOut, "description": description}
        for status, description in codes.items()
    }


# What every POST under an Idempotency-Key may answer besides its own errors.
KEY_PROBLEMS = {
    400: "`idempotency_key_required`",
    409: "`idempotency_key_in_use`",
    422: "`idempotency_key_mismatch`, `validation_error`",
}
