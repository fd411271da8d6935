"""The ledger's rules as plain Python: how a batch of chains of transfers is applied.

Nothing here knows SQL or HTTP. The engine loads the touched accounts, calls `apply_batch`,
and writes what it returns. Semantics follow TigerBeetle: two-phase transfers (pending, then
post or void), linked chains that succeed or fail together, balance-limit flags per account.
The value types live in `neobank.ledger.values` and are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from uuid import UUID

from neobank.ledger.rules import (
    CLOSED,
    DAILY_LIMIT,
    OK,
    PENDING,
    POST_PENDING,
    RESOLVING,
    check_accounts,
    check_fields,
    check_limits,
)
from neobank.ledger.values import (
    AMOUNT_MAX_MINOR,
    PENDING_TIMEOUT_MAX_S,
    AcceptedTransfer,
    AccountFlags,
    AccountState,
    BatchOutcome,
    Counters,
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


def touched_account_ids(chains: Iterable[Iterable[TransferSpec]]) -> set[UUID]:
    ids: set[UUID] = set()
    for chain in chains:
        for spec in chain:
            ids.add(spec.debit_account_id)
            ids.add(spec.credit_account_id)
    return ids


def _restore(account: AccountState, saved: Counters) -> None:
    (
        account.debits_posted,
        account.credits_posted,
        account.debits_pending,
        account.credits_pending,
        account.debits_today,
        account.debits_today_date,
    ) = saved


class _Batch:
    """Applies chains one after another against in-memory state, undoing failed chains.

    A transfer checks everything before it changes any state, so a failed single-transfer
    chain has nothing to undo; a longer chain saves what its transfers may change.
    """

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
            return ItemOutcome(OK)
        if chain[0].id in self.existing:
            return self._replayed(chain)
        if len(chain) == 1:
            code = self._apply(chain[0])
            return ItemOutcome(OK) if code is OK else ItemOutcome(code, 0)
        accounts = self.accounts
        saved_accounts = [
            (accounts[i], accounts[i].counters())
            for i in touched_account_ids([chain])
            if i in accounts
        ]
        saved_resolved = {
            s.pending_id: self.pendings[s.pending_id].resolved
            for s in chain
            if s.pending_id and s.pending_id in self.pendings
        }
        marks = (len(self.outcome.transfers), len(self.outcome.journal))
        for index, spec in enumerate(chain):
            code = self._apply(spec)
            if code is not OK:
                for account, saved in saved_accounts:
                    _restore(account, saved)
                for pending_id, resolved in saved_resolved.items():
                    self.pendings[pending_id].resolved = resolved
                for spec_done in chain[:index]:
                    self.existing.pop(spec_done.id, None)
                    self.pendings.pop(spec_done.id, None)
                del self.outcome.transfers[marks[0] :]
                del self.outcome.journal[marks[1] :]
                return ItemOutcome(code, index)
        return ItemOutcome(OK)

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
        """Apply one transfer, or refuse it without changing anything."""
        code = self._validate(spec)
        if code is not OK:
            return code
        flags = spec.flags
        if flags & RESOLVING:
            return self._resolve_pending(spec)
        debit = self.accounts[spec.debit_account_id]
        credit = self.accounts[spec.credit_account_id]
        amount = spec.amount
        code = check_accounts(debit, credit, spec)
        if code is not OK:
            return code
        today = self._debits_today(debit, spec)
        if today is not None and today > debit.daily_debit_limit:  # type: ignore[operator]
            return ResultCode.LIMIT_EXCEEDED
        if flags & PENDING:
            code = check_limits(debit, credit, 0, amount, 0, amount)
            if code is not OK:
                return code
            self._count_today(debit, today)
            debit.debits_pending += amount
            credit.credits_pending += amount
            expires_at = self.now + timedelta(seconds=spec.timeout_s) if spec.timeout_s else None
            self.pendings[spec.id] = PendingState(spec, expires_at, resolved=False)
            self._accept(spec, expires_at)
            return OK
        code = check_limits(debit, credit, amount, 0, amount, 0)
        if code is not OK:
            return code
        self._count_today(debit, today)
        debit.debits_posted += amount
        credit.credits_posted += amount
        self._accept(spec, None)
        self._journal(spec, debit, credit, amount)
        return OK

    def _validate(self, spec: TransferSpec) -> ResultCode:
        if spec.id in self.existing:
            # Only a whole chain can "exist"; one stored id inside a new chain is a clash.
            return ResultCode.EXISTS_WITH_DIFFERENT_FIELDS
        code = check_fields(spec)
        if code is not OK:
            return code
        if (
            spec.debit_account_id not in self.accounts
            or spec.credit_account_id not in self.accounts
        ):
            return ResultCode.ACCOUNT_NOT_FOUND
        return OK

    def _debits_today(self, debit: AccountState, spec: TransferSpec) -> int | None:
        """The debit account's debits today with this transfer, if it counts against a limit."""
        if not spec.flags & DAILY_LIMIT or debit.daily_debit_limit is None:
            return None
        before = debit.debits_today if debit.debits_today_date == self.today else 0
        return before + spec.amount

    def _count_today(self, debit: AccountState, today: int | None) -> None:
        if today is not None:
            debit.debits_today_date = self.today
            debit.debits_today = today

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
        posting = bool(spec.flags & POST_PENDING)
        if posting and pending.expires_at is not None and pending.expires_at <= self.now:
            return ResultCode.PENDING_EXPIRED
        debit = self.accounts[held.debit_account_id]
        credit = self.accounts[held.credit_account_id]
        if posting and (debit.flags | credit.flags) & CLOSED:
            return ResultCode.ACCOUNT_CLOSED
        # The whole hold is released; a post then moves what it names (a partial post).
        posted = spec.amount if posting else 0
        code = check_limits(debit, credit, posted, -held.amount, posted, -held.amount)
        if code is not OK:
            return code
        debit.debits_pending -= held.amount
        credit.credits_pending -= held.amount
        debit.debits_posted += posted
        credit.credits_posted += posted
        pending.resolved = True
        self._accept(spec, None)
        if posting:
            self._journal(spec, debit, credit, spec.amount)
        return OK

    def _accept(self, spec: TransferSpec, expires_at: datetime | None) -> None:
        self.existing[spec.id] = spec
        self.outcome.transfers.append(AcceptedTransfer(spec, expires_at))

    def _journal(
        self, spec: TransferSpec, debit: AccountState, credit: AccountState, amount: int
    ) -> None:
        self.outcome.journal.append(
            JournalEntry(debit.id, spec.id, "D", amount, spec.currency, debit.net_posted, self.now)
        )
        self.outcome.journal.append(
            JournalEntry(
                credit.id, spec.id, "C", amount, spec.currency, credit.net_posted, self.now
            )
        )


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
    touched = batch.outcome.touched
    for accepted in batch.outcome.transfers:
        touched[accepted.spec.debit_account_id] = accounts[accepted.spec.debit_account_id]
        touched[accepted.spec.credit_account_id] = accounts[accepted.spec.credit_account_id]
    _assert_balanced(batch.outcome)
    return batch.outcome


def _assert_balanced(outcome: BatchOutcome) -> None:
    """The engine's half of double entry: the journal of a batch balances per currency."""
    net: dict[str, int] = {}
    for entry in outcome.journal:
        signed = entry.amount if entry.side == "D" else -entry.amount
        net[entry.currency] = net.get(entry.currency, 0) + signed
    assert all(v == 0 for v in net.values()), f"ledger bug: batch journal does not balance {net}"
