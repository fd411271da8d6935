"""The ledger's rules as plain Python: how a batch of chains of transfers is applied.

Nothing here knows SQL or HTTP. The engine loads the touched accounts, calls `apply_batch`,
and writes what it returns. Semantics follow TigerBeetle: two-phase transfers (pending, then
post or void), linked chains that succeed or fail together, balance-limit flags per account.
The value types live in `neobank.ledger.values` and are re-exported here.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from neobank.ledger.values import (
    AMOUNT_MAX_MINOR,
    CODE_MAX,
    COUNTER_MAX_MINOR,
    PENDING_TIMEOUT_MAX_S,
    AcceptedTransfer,
    AccountFlags,
    AccountState,
    BatchOutcome,
    ItemOutcome,
    JournalEntry,
    PendingState,
    ResultCode,
    TransferFlags,
    TransferSpec,
)

__all__ = [
    "AMOUNT_MAX_MINOR",
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
    "apply_batch",
    "check_fields",
    "touched_account_ids",
]

_KNOWN_FLAGS = int(
    TransferFlags.LINKED
    | TransferFlags.PENDING
    | TransferFlags.POST_PENDING
    | TransferFlags.VOID_PENDING
    | TransferFlags.DAILY_LIMIT
)
_RESOLVING = TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING
_TWO_PHASE = (TransferFlags.PENDING, TransferFlags.POST_PENDING, TransferFlags.VOID_PENDING)


def touched_account_ids(chains: Iterable[Iterable[TransferSpec]]) -> set[UUID]:
    ids: set[UUID] = set()
    for chain in chains:
        for spec in chain:
            ids.add(spec.debit_account_id)
            ids.add(spec.credit_account_id)
    return ids


def check_fields(spec: TransferSpec) -> ResultCode:
    """What a transfer must satisfy on its own, before any account is looked at.

    Every field must also fit its column, so one odd transfer is refused alone instead of
    failing the database statement that writes its whole batch.
    """
    if not 0 < spec.amount <= AMOUNT_MAX_MINOR:
        return ResultCode.AMOUNT_INVALID
    if not 0 < spec.code <= CODE_MAX:
        return ResultCode.CODE_INVALID
    if spec.flags & ~_KNOWN_FLAGS or sum(bool(spec.flags & f) for f in _TWO_PHASE) > 1:
        return ResultCode.FLAGS_INVALID
    # A pending_id on a plain transfer would be stored as the pending's resolution.
    if (spec.pending_id is not None) != bool(spec.flags & _RESOLVING):
        return ResultCode.PENDING_ID_INVALID
    timeout_max_s = PENDING_TIMEOUT_MAX_S if spec.flags & TransferFlags.PENDING else 0
    if not 0 <= spec.timeout_s <= timeout_max_s:
        return ResultCode.TIMEOUT_INVALID
    if spec.debit_account_id == spec.credit_account_id:
        return ResultCode.SAME_ACCOUNT
    return ResultCode.OK


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
        if chain[0].id in self.existing:
            return self._replayed(chain)
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

    def _replayed(self, chain: list[TransferSpec]) -> ItemOutcome:
        """A chain whose first transfer is stored: a retry if every transfer is stored as is.

        Chains commit whole, so a retry finds all of its transfers; one missing or different
        transfer means another request reused the ids, and nothing of it may be dropped quietly.
        """
        for index, spec in enumerate(chain):
            stored = self.existing.get(spec.id)
            if stored is None or not stored.same_fields(spec):
                return ItemOutcome(ResultCode.EXISTS_WITH_DIFFERENT_FIELDS, index)
        return ItemOutcome(ResultCode.EXISTS)

    def _apply(self, spec: TransferSpec) -> ResultCode:
        code = self._validate(spec)
        if code is not ResultCode.OK:
            return code
        if spec.flags & _RESOLVING:
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
        code = check_fields(spec)
        if code is not ResultCode.OK:
            return code
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
        # The whole hold is released; a post then moves what it names (a partial post).
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
    if (
        debit.debits_posted + debit.debits_pending > COUNTER_MAX_MINOR
        or credit.credits_posted + credit.credits_pending > COUNTER_MAX_MINOR
    ):
        return ResultCode.OVERFLOW
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
