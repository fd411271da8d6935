"""The ledger's value types: account and transfer flags, result codes, and the records a batch
reads and produces. Plain data; the rules that apply them live in `neobank.ledger.domain`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import NamedTuple
from uuid import UUID

__all__ = [
    "AMOUNT_MAX_MINOR",
    "CODE_MAX",
    "COUNTER_MAX_MINOR",
    "PENDING_TIMEOUT_MAX_S",
    "AcceptedTransfer",
    "AccountFlags",
    "AccountState",
    "BatchOutcome",
    "ItemOutcome",
    "JournalEntry",
    "PendingState",
    "ResultCode",
    "TransferFlags",
    "TransferSpec",
]

# One transfer moves at most this much (10^15 minor units: a quadrillion won).
AMOUNT_MAX_MINOR = 10**15
# A counter is a BIGINT: the engine refuses a transfer that would take posted plus pending
# past it (about 9,200 maximal transfers into one account) rather than fail the whole batch.
COUNTER_MAX_MINOR = 2**63 - 1
# Transfer codes are stored as a PostgreSQL integer.
CODE_MAX = 2**31 - 1
# A pending transfer may be held at most this long before it is voided.
PENDING_TIMEOUT_MAX_S = 30 * 24 * 3600


class AccountFlags(enum.IntFlag):
    NONE = 0
    DEBITS_MUST_NOT_EXCEED_CREDITS = 1
    CREDITS_MUST_NOT_EXCEED_DEBITS = 2
    DEBITS_BLOCKED = 4  # a frozen account: nothing may leave it
    CLOSED = 8  # nothing may enter or leave


class TransferFlags(enum.IntFlag):
    NONE = 0
    LINKED = 1  # succeeds or fails with the next transfer of its chain
    PENDING = 2  # reserves the amount; a later post or void resolves it
    POST_PENDING = 4
    VOID_PENDING = 8
    DAILY_LIMIT = 16  # counts against the debit account's daily debit limit


class ResultCode(enum.StrEnum):
    OK = "ok"
    EXISTS = "exists"
    EXISTS_WITH_DIFFERENT_FIELDS = "exists_with_different_fields"
    ACCOUNT_NOT_FOUND = "account_not_found"
    SAME_ACCOUNT = "same_account"
    CURRENCY_MISMATCH = "currency_mismatch"
    AMOUNT_INVALID = "amount_invalid"
    CODE_INVALID = "code_invalid"
    FLAGS_INVALID = "flags_invalid"
    PENDING_ID_INVALID = "pending_id_invalid"
    TIMEOUT_INVALID = "timeout_invalid"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXCEEDS_DEBITS = "exceeds_debits"
    OVERFLOW = "overflow"
    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_FROZEN = "account_frozen"
    LIMIT_EXCEEDED = "limit_exceeded"
    PENDING_NOT_FOUND = "pending_transfer_not_found"
    PENDING_ALREADY_RESOLVED = "pending_transfer_already_resolved"
    PENDING_EXPIRED = "pending_transfer_expired"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_amount"
    LINKED_EVENT_FAILED = "linked_event_failed"


# An account's counters, in the order of `AccountState.counters`.
Counters = tuple[int, int, int, int, int, date | None]


@dataclass
class AccountState:
    """An account's counters as they stand during a batch (mutated as transfers apply)."""

    id: UUID
    currency: str
    code: int
    flags: int
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0
    daily_debit_limit: int | None = None
    debits_today: int = 0
    debits_today_date: date | None = None
    # How far debits may exceed credits on a DEBITS_MUST_NOT_EXCEED_CREDITS account: the
    # credit limit of an overdraft line (a "minus account"); 0 everywhere else.
    overdraft_limit: int = 0

    def copy(self) -> AccountState:
        """A shallow copy (the fields are immutable values): 0.4 µs where
        `dataclasses.replace` takes 1.9, four times a transfer in a forecast batch."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def counters(self) -> Counters:
        """What a batch changes: the posted and pending sums and the day's debits."""
        return (
            self.debits_posted,
            self.credits_posted,
            self.debits_pending,
            self.credits_pending,
            self.debits_today,
            self.debits_today_date,
        )

    @property
    def net_posted(self) -> int:
        """Credits minus debits posted: the balance of a credit-normal (liability) account."""
        return self.credits_posted - self.debits_posted


# The records built for every transfer (a spec, its acceptance, two journal entries) are
# NamedTuples: as immutable as a frozen dataclass, and about five times cheaper to build
# (0.3 against 1.5 µs each; a batch of 8,190 transfers builds some 40,000 of them).


class TransferSpec(NamedTuple):
    id: UUID
    debit_account_id: UUID
    credit_account_id: UUID
    amount: int
    currency: str
    code: int
    flags: int = 0
    pending_id: UUID | None = None
    timeout_s: int = 0

    def same_fields(self, other: TransferSpec) -> bool:
        return self == other


@dataclass
class PendingState:
    """A pending transfer as the batch sees it, and whether it has been resolved."""

    spec: TransferSpec
    expires_at: datetime | None
    resolved: bool


class JournalEntry(NamedTuple):
    """A row of `journal_entries`, its fields in the table's order (a batch copies the
    entries as they are)."""

    account_id: UUID
    transfer_id: UUID
    side: str  # "D" or "C"
    amount: int
    currency: str
    balance_after: int  # credits minus debits posted, after this entry
    created_at: datetime  # when its batch applied (the same for the whole batch)


class AcceptedTransfer(NamedTuple):
    spec: TransferSpec
    expires_at: datetime | None


@dataclass
class ItemOutcome:
    """The result of one chain: OK, or the code of the transfer that failed it."""

    code: ResultCode
    failed_index: int | None = None

    @property
    def ok(self) -> bool:
        return self.code in (ResultCode.OK, ResultCode.EXISTS)


@dataclass
class BatchOutcome:
    items: list[ItemOutcome]
    transfers: list[AcceptedTransfer] = field(default_factory=list)
    journal: list[JournalEntry] = field(default_factory=list)
    touched: dict[UUID, AccountState] = field(default_factory=dict)
