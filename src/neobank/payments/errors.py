"""Payment errors, one per stable code, and the mapping from the ledger's result codes."""

from __future__ import annotations

from neobank.errors import NeobankError
from neobank.ledger.domain import ResultCode

__all__ = [
    "AccountClosed",
    "AccountFrozen",
    "AmountInvalid",
    "CurrencyMismatch",
    "ExceedsHoldAmount",
    "HoldAlreadyResolved",
    "HoldExpired",
    "HoldNotFound",
    "InsufficientFunds",
    "LedgerRejected",
    "LimitExceeded",
    "PaymentAccountNotFound",
    "PaymentError",
    "PromotionInvalid",
    "ReportRangeInvalid",
    "SameAccount",
    "TransferIdConflict",
    "TransferNotFound",
    "error_for_result",
]


class PaymentError(NeobankError):
    """Base of the payment domain's errors."""

    status = 422


class InsufficientFunds(PaymentError):
    code = "insufficient_funds"
    title = "The account's available balance does not cover the amount and its fee"


class CurrencyMismatch(PaymentError):
    code = "currency_mismatch"
    title = "The currency differs from an account's currency"


class SameAccount(PaymentError):
    code = "same_account"
    title = "A transfer needs two different accounts"


class AccountClosed(PaymentError):
    code = "account_closed"
    title = "The account is closed"


class AccountFrozen(PaymentError):
    code = "account_frozen"
    title = "The account is frozen: nothing may leave it"


class LimitExceeded(PaymentError):
    code = "limit_exceeded"
    title = "The transfer would exceed the account's daily transfer limit"


class PaymentAccountNotFound(PaymentError):
    status = 404
    code = "account_not_found"
    title = "No such account"


class TransferNotFound(PaymentError):
    status = 404
    code = "transfer_not_found"
    title = "No such transfer"


class TransferIdConflict(PaymentError):
    status = 409
    code = "transfer_id_conflict"
    title = "A transfer with this id exists with different fields"


class AmountInvalid(PaymentError):
    code = "amount_invalid"
    title = "The amount must be a positive integer of minor units within the limit"


class PromotionInvalid(PaymentError):
    code = "promotion_invalid"
    title = "The promotion's window or kinds are invalid"


class ReportRangeInvalid(PaymentError):
    code = "report_range_invalid"
    title = "from and to must be timestamps with a time zone offset, from before to"


class HoldNotFound(PaymentError):
    status = 404
    code = "hold_not_found"
    title = "No such hold"


class HoldAlreadyResolved(PaymentError):
    status = 409
    code = "hold_already_resolved"
    title = "The hold was captured or voided already"


class HoldExpired(PaymentError):
    code = "hold_expired"
    title = "The hold has expired; its funds are released"


class ExceedsHoldAmount(PaymentError):
    code = "exceeds_hold_amount"
    title = "A capture may take at most the amount held"


class BalanceLimitReached(PaymentError):
    code = "balance_limit_reached"
    title = "The account's balance would exceed what the ledger can hold"


class LedgerRejected(PaymentError):
    code = "ledger_rejected"
    title = "The ledger rejected the transfer"


_BY_RESULT: dict[ResultCode, type[PaymentError]] = {
    ResultCode.INSUFFICIENT_FUNDS: InsufficientFunds,
    ResultCode.CURRENCY_MISMATCH: CurrencyMismatch,
    ResultCode.SAME_ACCOUNT: SameAccount,
    ResultCode.ACCOUNT_CLOSED: AccountClosed,
    ResultCode.ACCOUNT_FROZEN: AccountFrozen,
    ResultCode.LIMIT_EXCEEDED: LimitExceeded,
    ResultCode.ACCOUNT_NOT_FOUND: PaymentAccountNotFound,
    ResultCode.EXISTS_WITH_DIFFERENT_FIELDS: TransferIdConflict,
    ResultCode.AMOUNT_INVALID: AmountInvalid,
    ResultCode.OVERFLOW: BalanceLimitReached,
    # Only holds use two-phase transfers in payments.
    ResultCode.PENDING_NOT_FOUND: HoldNotFound,
    ResultCode.PENDING_ALREADY_RESOLVED: HoldAlreadyResolved,
    ResultCode.PENDING_EXPIRED: HoldExpired,
    ResultCode.EXCEEDS_PENDING_AMOUNT: ExceedsHoldAmount,
}


def error_for_result(code: ResultCode) -> PaymentError:
    error_class = _BY_RESULT.get(code)
    if error_class is None:
        return LedgerRejected(f"the ledger answered {code.value}")
    return error_class()
