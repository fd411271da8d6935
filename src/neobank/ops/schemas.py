"""Ops request/response bodies: users, maker-checker changes, the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from neobank.ops.deps import ROLES, Role

__all__ = [
    "AuditEntryOut",
    "AuditPage",
    "ChangeDecisionIn",
    "ChangeIn",
    "ChangeKind",
    "ChangeOut",
    "ChangePage",
    "ChangeRejectIn",
    "ChangeStatus",
    "OpsUserCreated",
    "OpsUserIn",
    "OpsUserOut",
    "OpsUserPage",
]

NAME_LENGTH_MAX = 64
COMMENT_LENGTH_MAX = 500
TARGET_LENGTH_MAX = 32

ChangeKind = Literal["loan_product", "credit_policy"]
# "approved" until effective_at comes, "effective" from then on.
ChangeStatus = Literal["proposed", "approved", "effective", "rejected", "cancelled"]


class OpsUserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # No ':' in names: it keeps them apart from the bootstrap token's actor name.
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=NAME_LENGTH_MAX)
    roles: list[Role] = Field(min_length=1, max_length=len(ROLES))


class OpsUserOut(BaseModel):
    id: UUID
    name: str
    roles: list[Role]
    status: Literal["active", "disabled"]
    created_by: str
    created_at: datetime
    disabled_at: datetime | None


class OpsUserCreated(OpsUserOut):
    token: str = Field(description="The user's bearer token: shown this once, never again")


class OpsUserPage(BaseModel):
    items: list[OpsUserOut]
    next_cursor: str | None


class ChangeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: ChangeKind
    target: str = Field(
        min_length=1,
        max_length=TARGET_LENGTH_MAX,
        description='A loan product code for kind "loan_product"; "policy" for "credit_policy"',
    )
    body: dict[str, Any] = Field(
        description="New terms (LoanProduct/CreditPolicy to_data() keys); keys left out keep "
        "the latest version's value (a shallow merge: a rate_grid is replaced whole)"
    )
    effective_at: AwareDatetime | None = Field(
        default=None, description="When it takes effect once approved; absent: at approval"
    )


class ChangeDecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str | None = Field(default=None, max_length=COMMENT_LENGTH_MAX)


class ChangeRejectIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    comment: str = Field(min_length=1, max_length=COMMENT_LENGTH_MAX)


class ChangeOut(BaseModel):
    id: UUID
    kind: ChangeKind
    target: str
    status: ChangeStatus
    body: dict[str, Any] = Field(description="The full terms the new version will have")
    base_version: int = Field(description="The version these terms were merged over")
    diff: dict[str, Any] = Field(description="{field: {from, to}} against base_version")
    effective_at: datetime
    proposed_by: str
    proposed_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    comment: str | None
    applied_version: int | None


class ChangePage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str | None


class AuditEntryOut(BaseModel):
    seq: int
    at: datetime
    actor: str
    action: str
    subject: str
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None
