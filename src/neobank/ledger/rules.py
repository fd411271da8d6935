"""The checks one transfer must pass, as plain functions on plain ints (the hot path of a
batch): its own fields, its accounts' flags, and the accounts' limits after it."""

from __future__ import annotations

from neobank.ledger.values import (
    AMOUNT_MAX_MINOR,
    CODE_MAX,
    COUNTER_MAX_MINOR,
    PENDING_TIMEOUT_MAX_S,
    AccountFlags,
    AccountState,
    ResultCode,
    TransferFlags,
    TransferSpec,
)

__all__ = [
    "CLOSED",
    "DAILY_LIMIT",
    "OK",
    "PENDING",
    "POST_PENDING",
    "RESOLVING",
    "check_accounts",
    "check_fields",
    "check_limits",
]

# Plain ints on the hot path: `int & enum.IntFlag` builds a new flag object every time.
LINKED = int(TransferFlags.LINKED)
PENDING = int(TransferFlags.PENDING)
POST_PENDING = int(TransferFlags.POST_PENDING)
VOID_PENDING = int(TransferFlags.VOID_PENDING)
DAILY_LIMIT = int(TransferFlags.DAILY_LIMIT)
KNOWN_FLAGS = LINKED | PENDING | POST_PENDING | VOID_PENDING | DAILY_LIMIT
RESOLVING = POST_PENDING | VOID_PENDING
TWO_PHASE = PENDING | POST_PENDING | VOID_PENDING
DEBITS_MUST_NOT_EXCEED_CREDITS = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
CREDITS_MUST_NOT_EXCEED_DEBITS = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
DEBITS_BLOCKED = int(AccountFlags.DEBITS_BLOCKED)
CLOSED = int(AccountFlags.CLOSED)
OK = ResultCode.OK


def check_fields(spec: TransferSpec) -> ResultCode:
    """What a transfer must satisfy on its own, before any account is looked at.

    Every field must also fit its column, so one odd transfer is refused alone instead of
    failing the database statement that writes its whole batch.
    """
    if not 0 < spec.amount <= AMOUNT_MAX_MINOR:
        return ResultCode.AMOUNT_INVALID
    if not 0 < spec.code <= CODE_MAX:
        return ResultCode.CODE_INVALID
    flags = spec.flags
    two_phase = flags & TWO_PHASE
    if flags & ~KNOWN_FLAGS or two_phase & (two_phase - 1):  # unknown, or two of them
        return ResultCode.FLAGS_INVALID
    # A pending_id on a plain transfer would be stored as the pending's resolution.
    if (spec.pending_id is not None) != bool(flags & RESOLVING):
        return ResultCode.PENDING_ID_INVALID
    timeout_max_s = PENDING_TIMEOUT_MAX_S if flags & PENDING else 0
    if not 0 <= spec.timeout_s <= timeout_max_s:
        return ResultCode.TIMEOUT_INVALID
    if spec.debit_account_id == spec.credit_account_id:
        return ResultCode.SAME_ACCOUNT
    return OK


def check_accounts(debit: AccountState, credit: AccountState, spec: TransferSpec) -> ResultCode:
    if debit.currency != spec.currency or credit.currency != spec.currency:
        return ResultCode.CURRENCY_MISMATCH
    if (debit.flags | credit.flags) & CLOSED:
        return ResultCode.ACCOUNT_CLOSED
    if debit.flags & DEBITS_BLOCKED:
        return ResultCode.ACCOUNT_FROZEN
    return OK


def check_limits(
    debit: AccountState,
    credit: AccountState,
    debits_posted: int,
    debits_pending: int,
    credits_posted: int,
    credits_pending: int,
) -> ResultCode:
    """Whether the two accounts stay within their limits once the given amounts are added
    (debit and credit are two different accounts)."""
    debit_total = debit.debits_posted + debits_posted + debit.debits_pending + debits_pending
    credit_posted = credit.credits_posted + credits_posted
    credit_total = credit_posted + credit.credits_pending + credits_pending
    if debit_total > COUNTER_MAX_MINOR or credit_total > COUNTER_MAX_MINOR:
        return ResultCode.OVERFLOW
    # An overdraft line lets a limited account's debits reach its credits plus the line.
    if (
        debit.flags & DEBITS_MUST_NOT_EXCEED_CREDITS
        and debit_total > debit.credits_posted + debit.overdraft_limit
    ):
        return ResultCode.INSUFFICIENT_FUNDS
    if credit.flags & CREDITS_MUST_NOT_EXCEED_DEBITS and credit_total > credit.debits_posted:
        return ResultCode.EXCEEDS_DEBITS
    return OK
