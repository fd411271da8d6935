"""The ledger's rules as plain Python: accounts, transfers and how a batch is applied.

Nothing here knows SQL or HTTP. The engine loads the touched accounts, calls `apply_batch`,
and writes what it returns. Semantics follow TigerBeetle: two-phase transfers (pending, then
post or void), linked chains that succeed or fail together, balance-limit flags per account.
"""

from __future__ import annotations

import copy
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from uuid import UUID

__all__ = [
    "AMOUNT_MAX_MINOR",
    "AccountFlags",
    "AccountState",
    "BatchOutcome",
    "JournalEntry",
    "PendingState",
    "ResultCode",
    "TransferFlags",
    "TransferSpec",
    "apply_batch",
]

# One transfer moves at most this much (10^15 minor units: a quadrillion won), so that even
# billions of maximal transfers cannot overflow a BIGINT counter.
AMOUNT_MAX_MINOR = 10**15
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
    INSUFFICIENT_FUNDS = "insufficient_funds"
    EXCEEDS_DEBITS = "exceeds_debits"
    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_FROZEN = "account_frozen"
    LIMIT_EXCEEDED = "limit_exceeded"
    PENDING_NOT_FOUND = "pending_transfer_not_found"
    PENDING_ALREADY_RESOLVED = "pending_transfer_already_resolved"
    PENDING_EXPIRED = "pending_transfer_expired"
    EXCEEDS_PENDING_AMOUNT = "exceeds_pending_amount"
    LINKED_EVENT_FAILED = "linked_event_failed"


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

    @property
    def net_posted(self) -> int:
        """Credits minus debits posted: the balance of a credit-normal (liability) account."""
        return self.credits_posted - self.debits_posted


@dataclass(frozen=True)
class TransferSpec:
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


@dataclass(frozen=True)
class JournalEntry:
    account_id: UUID
    transfer_id: UUID
    side: str  # "D" or "C"
    amount: int
    currency: str
    balance_after: int  # credits minus debits posted, after this entry


@dataclass(frozen=True)
class AcceptedTransfer:
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


def touched_account_ids(chains: Iterable[Iterable[TransferSpec]]) -> set[UUID]:
    ids: set[UUID] = set()
    for chain in chains:
        for spec in chain:
            ids.add(spec.debit_account_id)
            ids.add(spec.credit_account_id)
    return ids


class _Batch:
    """Applies chains one after another against in-memory state, undoing failed chains."""

    def __init__(
        self,
        accounts: dict[UUID, AccountState],
        pendings: dict[UUID, PendingState],
        existing: dict[UUID, TransferSpec],
        now: datetime,
    ) -> None:
        self.accounts = accounts
        self.pendings = pendings
        self.existing = existing
        self.now = now
        self.today = now.date()
        self.outcome = BatchOutcome(items=[])

    def apply_chain(self, chain: list[TransferSpec]) -> ItemOutcome:
        if not chain:
            return ItemOutcome(ResultCode.OK)
        anchor = chain[0]
        if anchor.id in self.existing:
            # The first transfer anchors its chain: chains commit whole, so it is enough.
            same = self.existing[anchor.id].same_fields(anchor)
            code = ResultCode.EXISTS if same else ResultCode.EXISTS_WITH_DIFFERENT_FIELDS
            return ItemOutcome(code, None if same else 0)
        saved_accounts = {
            account_id: copy.copy(self.accounts[account_id])
            for account_id in touched_account_ids([chain])
            if account_id in self.accounts
        }
        saved_resolved = {
            s.pending_id: self.pendings[s.pending_id].resolved
            for s in chain
            if s.pending_id and s.pending_id in self.pendings
        }
        marks = (len(self.outcome.transfers), len(self.outcome.journal))
        for index, spec in enumerate(chain):
            code = self._apply(spec)
            if code is not ResultCode.OK:
                self.accounts.update(saved_accounts)
                for pending_id, resolved in saved_resolved.items():
                    self.pendings[pending_id].resolved = resolved
                for spec_done in chain[:index]:
                    self.existing.pop(spec_done.id, None)
                    self.pendings.pop(spec_done.id, None)
                del self.outcome.transfers[marks[0] :]
                del self.outcome.journal[marks[1] :]
                return ItemOutcome(code, index)
        return ItemOutcome(ResultCode.OK)

    def _apply(self, spec: TransferSpec) -> ResultCode:
        code = self._validate(spec)
        if code is not ResultCode.OK:
            return code
        if spec.flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING):
            return self._resolve_pending(spec)
        debit = self.accounts[spec.debit_account_id]
        credit = self.accounts[spec.credit_account_id]
        code = self._check_accounts(debit, credit, spec)
        if code is not ResultCode.OK:
            return code
        if spec.flags & TransferFlags.PENDING:
            debit.debits_pending += spec.amount
            credit.credits_pending += spec.amount
            code = _check_limits(debit, credit)
            if code is ResultCode.OK:
                expires_at = (
                    self.now + timedelta(seconds=spec.timeout_s) if spec.timeout_s else None
                )
                self.pendings[spec.id] = PendingState(spec, expires_at, resolved=False)
                self._accept(spec, expires_at)
            return code
        debit.debits_posted += spec.amount
        credit.credits_posted += spec.amount
        code = _check_limits(debit, credit)
        if code is ResultCode.OK:
            self._accept(spec, None)
            self._journal(spec, debit, credit, spec.amount)
        return code

    def _validate(self, spec: TransferSpec) -> ResultCode:
        if spec.id in self.existing:
            # Only a whole chain can "exist"; one stored id inside a new chain is a clash.
            return ResultCode.EXISTS_WITH_DIFFERENT_FIELDS
        if not 0 < spec.amount <= AMOUNT_MAX_MINOR:
            return ResultCode.AMOUNT_INVALID
        if spec.debit_account_id == spec.credit_account_id:
            return ResultCode.SAME_ACCOUNT
        if (
            spec.debit_account_id not in self.accounts
            or spec.credit_account_id not in self.accounts
        ):
            return ResultCode.ACCOUNT_NOT_FOUND
        return ResultCode.OK

    def _check_accounts(
        self, debit: AccountState, credit: AccountState, spec: TransferSpec
    ) -> ResultCode:
        if debit.currency != spec.currency or credit.currency != spec.currency:
            return ResultCode.CURRENCY_MISMATCH
        if (debit.flags | credit.flags) & AccountFlags.CLOSED:
            return ResultCode.ACCOUNT_CLOSED
        if debit.flags & AccountFlags.DEBITS_BLOCKED:
            return ResultCode.ACCOUNT_FROZEN
        if spec.flags & TransferFlags.DAILY_LIMIT and debit.daily_debit_limit is not None:
            if debit.debits_today_date != self.today:
                debit.debits_today_date = self.today
                debit.debits_today = 0
            if debit.debits_today + spec.amount > debit.daily_debit_limit:
                return ResultCode.LIMIT_EXCEEDED
            debit.debits_today += spec.amount
        return ResultCode.OK

    def _resolve_pending(self, spec: TransferSpec) -> ResultCode:
        pending = self.pendings.get(spec.pending_id) if spec.pending_id else None
        if pending is None:
            return ResultCode.PENDING_NOT_FOUND
        if pending.resolved:
            return ResultCode.PENDING_ALREADY_RESOLVED
        held = pending.spec
        if (spec.debit_account_id, spec.credit_account_id, spec.currency) != (
            held.debit_account_id,
            held.credit_account_id,
            held.currency,
        ):
            return ResultCode.PENDING_NOT_FOUND
        if spec.amount > held.amount:
            return ResultCode.EXCEEDS_PENDING_AMOUNT
        posting = bool(spec.flags & TransferFlags.POST_PENDING)
        if posting and pending.expires_at is not None and pending.expires_at <= self.now:
            return ResultCode.PENDING_EXPIRED
        debit = self.accounts[held.debit_account_id]
        credit = self.accounts[held.credit_account_id]
        if posting and (debit.flags | credit.flags) & AccountFlags.CLOSED:
            return ResultCode.ACCOUNT_CLOSED
        debit.debits_pending -= held.amount
        credit.credits_pending -= held.amount
        if posting:
            debit.debits_posted += spec.amount
            credit.credits_posted += spec.amount
        code = _check_limits(debit, credit)
        if code is ResultCode.OK:
            pending.resolved = True
            self._accept(spec, None)
            if posting:
                self._journal(spec, debit, credit, spec.amount)
        return code

    def _accept(self, spec: TransferSpec, expires_at: datetime | None) -> None:
        self.existing[spec.id] = spec
        self.outcome.transfers.append(AcceptedTransfer(spec, expires_at))

    def _journal(
        self, spec: TransferSpec, debit: AccountState, credit: AccountState, amount: int
    ) -> None:
        self.outcome.journal.append(
            JournalEntry(debit.id, spec.id, "D", amount, spec.currency, debit.net_posted)
        )
        self.outcome.journal.append(
            JournalEntry(credit.id, spec.id, "C", amount, spec.currency, credit.net_posted)
        )


def _check_limits(debit: AccountState, credit: AccountState) -> ResultCode:
    if debit.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS and (
        debit.debits_posted + debit.debits_pending > debit.credits_posted
    ):
        return ResultCode.INSUFFICIENT_FUNDS
    if credit.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS and (
        credit.credits_posted + credit.credits_pending > credit.debits_posted
    ):
        return ResultCode.EXCEEDS_DEBITS
    return ResultCode.OK


def apply_batch(
    chains: list[list[TransferSpec]],
    accounts: dict[UUID, AccountState],
    pendings: dict[UUID, PendingState],
    existing: dict[UUID, TransferSpec],
    now: datetime,
) -> BatchOutcome:
    """Apply chains in arrival order. Each chain stands or falls alone; state is mutated.

    `accounts` holds every account the chains touch that exists; `pendings` the pending
    transfers they reference; `existing` the transfers already stored with their ids.
    """
    batch = _Batch(accounts, pendings, existing, now)
    for chain in chains:
        batch.outcome.items.append(batch.apply_chain(chain))
    touched = touched_account_ids([t.spec] for t in batch.outcome.transfers)
    batch.outcome.touched = {i: accounts[i] for i in touched if i in accounts}
    _assert_balanced(batch.outcome)
    return batch.outcome


def _assert_balanced(outcome: BatchOutcome) -> None:
    """The engine's half of double entry: the journal of a batch balances per currency."""
    net: dict[str, int] = {}
    for entry in outcome.journal:
        signed = entry.amount if entry.side == "D" else -entry.amount
        net[entry.currency] = net.get(entry.currency, 0) + signed
    assert all(v == 0 for v in net.values()), f"ledger bug: batch journal does not balance {net}"
