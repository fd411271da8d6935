"""The onboarding's state as the person sees it: overall status, each step, what to do next.

Plain functions of one application's fields; the service stores them, this module reads them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

__all__ = [
    "ACCOUNT_CHECK_TRIES",
    "RETRYABLE_ID_REASONS",
    "Application",
    "next_step",
    "overall_status",
    "view",
]

ACCOUNT_CHECK_TRIES = 5
# The person can fix these by sending the check again (a mistyped issue date); any other
# failed identity check ends the onboarding.
RETRYABLE_ID_REASONS = frozenset({"invalid_issue_date"})
# While an agency check runs: the identity agency answers in ~0.3 s, more when its queue
# is long; a second between polls halves the status reads of a launch-day surge.
POLL_AFTER_MS = 1_000


@dataclass(frozen=True)
class Application:
    """One onboarding row, as the flow needs it (never the resident id itself)."""

    id: str
    status: str
    resident_id_masked: str
    id_status: str
    id_reason: str | None
    id_card_issue_date: date | None
    acct_status: str
    acct_tries_left: int
    acct_bank_code: str | None
    acct_number: str | None
    created_at: datetime
    expires_at: datetime
    customer_id: str | None
    device_id: str | None
    account_id: str | None

    @classmethod
    def from_row(cls, row: Any) -> Application:
        def text(name: str) -> str | None:
            value = row[name]
            return None if value is None else str(value)

        return cls(
            id=str(row["id"]),
            status=row["status"],
            resident_id_masked=row["resident_id_masked"],
            id_status=row["id_status"],
            id_reason=row["id_reason"],
            id_card_issue_date=row["id_card_issue_date"],
            acct_status=row["acct_status"],
            acct_tries_left=row["acct_tries_left"],
            acct_bank_code=row["acct_bank_code"],
            acct_number=row["acct_number"],
            created_at=row["created_at"],
            expires_at=row["expires_at"],
            customer_id=text("customer_id"),
            device_id=text("device_id"),
            account_id=text("account_id"),
        )

    def expired(self, now: datetime) -> bool:
        return self.status not in ("completed", "failed") and now >= self.expires_at

    def id_check_may_start(self) -> bool:
        return self.id_status == "not_started" or (
            self.id_status == "failed" and self.id_reason in RETRYABLE_ID_REASONS
        )


def overall_status(app: Application, now: datetime) -> str:
    return "expired" if app.expired(now) else app.status


def next_step(app: Application, now: datetime) -> str | None:
    if overall_status(app, now) in ("completed", "failed", "expired"):
        return None
    if app.status == "ready":
        return "complete"
    if app.id_check_may_start():
        return "id_verification"
    if app.acct_status == "not_started":
        return "account_verification"
    if app.acct_status == "sent":
        return "account_verification_confirm"
    return "wait"


def view(app: Application, now: datetime) -> dict[str, Any]:
    identity: dict[str, Any] = {"status": app.id_status}
    if app.id_reason is not None:
        identity["reason"] = app.id_reason
    account: dict[str, Any] = {"status": app.acct_status, "tries_left": app.acct_tries_left}
    if app.acct_number is not None:
        account["bank_code"] = app.acct_bank_code
        account["account_number"] = app.acct_number
    step = next_step(app, now)
    out: dict[str, Any] = {
        "id": app.id,
        "status": overall_status(app, now),
        "next_step": step,
        "steps": {"id_verification": identity, "account_verification": account},
        "resident_id_masked": app.resident_id_masked,
        "created_at": app.created_at.isoformat(),
        "expires_at": app.expires_at.isoformat(),
    }
    if step == "wait":
        out["poll_after_ms"] = POLL_AFTER_MS
    if app.customer_id is not None:
        out["customer_id"] = app.customer_id
        out["device_id"] = app.device_id
        out["account_id"] = app.account_id
    return out
