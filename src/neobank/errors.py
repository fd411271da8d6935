"""The root of neobank's error tree.

Every domain has one base error (``LedgerError``, ``PaymentError``, ``CustomerError``, ...)
deriving from ``NeobankError``; each subclass carries an HTTP ``status`` and a stable machine
``code``. ``neobank.api.errors`` is the one place that turns them into RFC 9457 problem+json.

    NeobankError
    ├── IdempotencyError      idempotency_key_required, idempotency_key_mismatch,
    │                         idempotency_key_in_use
    ├── AuthError             unauthorized, forbidden, device_locked, invalid_challenge,
    │                         invalid_signature, device_not_found
    ├── CustomerError         customer_not_found
    ├── DepositError          account_not_found, product_not_found, invalid_status_change
    ├── PaymentError          insufficient_funds, currency_mismatch, same_account,
    │                         account_closed, account_frozen, limit_exceeded,
    │                         transfer_not_found, ...
    ├── OnboardingError       invalid_resident_id, admission_token_used, step_not_ready, ...
    ├── LendingError          loan_product_not_found, loan_terms_out_of_range,
    │                         resident_id_required, loan_offer_expired, loan_closed,
    │                         repayment_exceeds_balance, ... (see neobank.lending.errors)
    ├── OpsError              four_eyes_required, invalid_change_body, ops_change_stale, ...
    └── LedgerError           ledger_unavailable
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["NeobankError", "problem_document"]


class NeobankError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def problem(self) -> dict[str, Any]:
        """This error as an RFC 9457 problem document."""
        return problem_document(self.status, self.code, self.title, self.detail, **self.extra)


PROBLEM_TYPE_BASE = "https://neobank.dev/problems/"


def problem_document(
    status: int, code: str, title: str, detail: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title,
        "status": status,
        "detail": detail or title,
        "code": code,
    }
    body.update(extra)
    return body
