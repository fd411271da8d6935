"""A fake of what the engine does around `apply_batch`: load copies of the stored state, apply,
write back only what the outcome reports. It lets pure tests see what the database would hold,
and check it the way `neobank.ledger.check` does."""

from __future__ import annotations

import copy
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from uuid import UUID

from neobank.ledger.domain import (
    AcceptedTransfer,
    AccountFlags,
    AccountState,
    BatchOutcome,
    JournalEntry,
    PendingState,
    TransferFlags,
    TransferSpec,
    apply_batch,
    touched_account_ids,
)

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KRW = "KRW"


def account(
    flags: int = AccountFlags.NONE,
    currency: str = KRW,
    daily_debit_limit: int | None = None,
    **counters: int,
) -> AccountState:
    return AccountState(
        uuid.uuid4(), currency, 2000, int(flags), daily_debit_limit=daily_debit_limit, **counters
    )


def transfer(
    debit: AccountState | UUID,
    credit: AccountState | UUID,
    amount: int,
    *,
    flags: int = 0,
    pending_id: UUID | None = None,
    timeout_s: int = 0,
    currency: str = KRW,
    code: int = 1,
    id: UUID | None = None,
) -> TransferSpec:
    return TransferSpec(
        id=id or uuid.uuid4(),
        debit_account_id=debit.id if isinstance(debit, AccountState) else debit,
        credit_account_id=credit.id if isinstance(credit, AccountState) else credit,
        amount=amount,
        currency=currency,
        code=code,
        flags=int(flags),
        pending_id=pending_id,
        timeout_s=timeout_s,
    )


def resolve(held: TransferSpec, flag: TransferFlags, amount: int | None = None) -> TransferSpec:
    """The post or void of a pending transfer (all of it unless an amount is given)."""
    return transfer(
        held.debit_account_id,
        held.credit_account_id,
        held.amount if amount is None else amount,
        flags=flag,
        pending_id=held.id,
        currency=held.currency,
    )


@dataclass
class FakeLedger:
    accounts: dict[UUID, AccountState] = field(default_factory=dict)
    transfers: dict[UUID, AcceptedTransfer] = field(default_factory=dict)
    resolved: set[UUID] = field(default_factory=set)
    journal: list[JournalEntry] = field(default_factory=list)
    applied_at: dict[UUID, datetime] = field(default_factory=dict)

    @classmethod
    def of(cls, *accounts: AccountState) -> FakeLedger:
        return cls(accounts={a.id: copy.copy(a) for a in accounts})

    def apply(self, chains: list[list[TransferSpec]], now: datetime = NOW) -> BatchOutcome:
        specs = [s for chain in chains for s in chain]
        loaded = {
            i: copy.copy(self.accounts[i])
            for i in touched_account_ids(chains)
            if i in self.accounts
        }
        existing = {s.id: self.transfers[s.id].spec for s in specs if s.id in self.transfers}
        pendings = {
            s.pending_id: PendingState(
                self.transfers[s.pending_id].spec,
                self.transfers[s.pending_id].expires_at,
                s.pending_id in self.resolved,
            )
            for s in specs
            if s.pending_id in self.transfers
            and self.transfers[s.pending_id].spec.flags & TransferFlags.PENDING
        }
        outcome = apply_batch(chains, loaded, pendings, existing, now)
        for state in outcome.touched.values():
            self.accounts[state.id] = copy.copy(state)
        for accepted in outcome.transfers:
            assert accepted.spec.id not in self.transfers, "a transfer id stored twice"
            self.transfers[accepted.spec.id] = accepted
            self.applied_at[accepted.spec.id] = now
            if accepted.spec.pending_id is not None:
                assert accepted.spec.pending_id not in self.resolved, "a pending resolved twice"
                self.resolved.add(accepted.spec.pending_id)
        self.journal.extend(outcome.journal)
        return outcome

    def balance(self, state: AccountState) -> int:
        return self.accounts[state.id].net_posted

    def snapshot(self) -> tuple[object, ...]:
        return (
            {i: copy.copy(a) for i, a in self.accounts.items()},
            dict(self.transfers),
            set(self.resolved),
            list(self.journal),
        )


def assert_books(ledger: FakeLedger) -> None:
    """Every invariant the database and `check_ledger` hold, on the fake's stored state."""
    _assert_conserved(ledger.accounts.values())
    _assert_counters_follow_transfers(ledger)
    _assert_journal_replays(ledger)
    for state in ledger.accounts.values():
        assert (
            min(
                state.debits_posted,
                state.credits_posted,
                state.debits_pending,
                state.credits_pending,
            )
            >= 0
        ), state
        if state.flags & AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS:
            assert state.debits_posted + state.debits_pending <= state.credits_posted, state
        if state.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
            assert state.credits_posted + state.credits_pending <= state.debits_posted, state
        if state.daily_debit_limit is not None and state.debits_today_date is not None:
            assert state.debits_today == _debited_on(ledger, state, state.debits_today_date)
            assert state.debits_today <= state.daily_debit_limit, state


def _debited_on(ledger: FakeLedger, state: AccountState, day: date) -> int:
    """What the account's daily limit counted on a day: its flagged debits (holds included)."""
    return sum(
        a.spec.amount
        for a in ledger.transfers.values()
        if a.spec.debit_account_id == state.id
        and a.spec.flags & TransferFlags.DAILY_LIMIT
        and not a.spec.flags & (TransferFlags.POST_PENDING | TransferFlags.VOID_PENDING)
        and ledger.applied_at[a.spec.id].date() == day
    )


def _assert_conserved(accounts: Iterable[AccountState]) -> None:
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for a in accounts:
        t = totals[a.currency]
        t[0] += a.debits_posted
        t[1] += a.credits_posted
        t[2] += a.debits_pending
        t[3] += a.credits_pending
    for currency, (dp, cp, dpe, cpe) in totals.items():
        assert dp == cp, f"{currency}: posted debits {dp} != credits {cp}"
        assert dpe == cpe, f"{currency}: pending debits {dpe} != credits {cpe}"


def _assert_counters_follow_transfers(ledger: FakeLedger) -> None:
    expected: dict[UUID, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for accepted in ledger.transfers.values():
        spec = accepted.spec
        debit, credit = expected[spec.debit_account_id], expected[spec.credit_account_id]
        if spec.flags & TransferFlags.PENDING:
            if spec.id not in ledger.resolved:
                debit[2] += spec.amount
                credit[3] += spec.amount
        elif not spec.flags & TransferFlags.VOID_PENDING:
            debit[0] += spec.amount
            credit[1] += spec.amount
    for a in ledger.accounts.values():
        stored = [a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending]
        assert stored == expected[a.id], f"counters of {a.id} do not follow its transfers"


def _assert_journal_replays(ledger: FakeLedger) -> None:
    running: dict[UUID, int] = defaultdict(int)
    sides: dict[UUID, list[int]] = defaultdict(lambda: [0, 0])
    for entry in ledger.journal:
        signed = -entry.amount if entry.side == "D" else entry.amount
        running[entry.account_id] += signed
        sides[entry.account_id][0 if entry.side == "D" else 1] += entry.amount
        assert entry.balance_after == running[entry.account_id], "balance_after is not running"
        assert entry.currency == ledger.accounts[entry.account_id].currency
    for a in ledger.accounts.values():
        assert sides[a.id] == [a.debits_posted, a.credits_posted]
        assert running[a.id] == a.net_posted
