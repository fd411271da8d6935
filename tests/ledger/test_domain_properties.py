"""Property tests of `apply_batch`: random batches of random chains against a few accounts.

After every batch: money is conserved, counters follow the transfers, the journal replays to
the balances, no limit is crossed (`assert_books`); a chain applies whole or leaves no trace;
a retry of what was applied changes nothing.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from neobank.ledger.domain import (
    AccountFlags,
    AccountState,
    ResultCode,
    TransferFlags,
    TransferSpec,
)
from tests.ledger.fake import NOW, FakeLedger, account, assert_books, resolve, transfer

LIMITED = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


def accounts() -> list[AccountState]:
    return [
        account(),  # the bank's cash: no limit
        account(LIMITED),
        account(LIMITED, daily_debit_limit=400),
        account(LIMITED | AccountFlags.DEBITS_BLOCKED),  # frozen
        account(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS),
        account(currency="USD"),
        account(LIMITED, currency="USD"),
    ]


class Scenario:
    """Draws transfers that refer to what was drawn before (pendings to post, chains to retry)."""

    def __init__(self, data: st.DataObject, books: list[AccountState]) -> None:
        self.data = data
        self.books = books
        self.pendings: list[TransferSpec] = []
        self.chains: list[list[TransferSpec]] = []

    def draw(self, strategy: st.SearchStrategy[object]) -> object:
        return self.data.draw(strategy)

    def spec(self, linked: TransferFlags) -> TransferSpec:
        kind = self.draw(st.sampled_from(["plain", "plain", "pending", "post", "void"]))
        if kind in ("post", "void") and self.pendings:
            held: TransferSpec = self.draw(st.sampled_from(self.pendings))  # type: ignore[assignment]
            if kind == "void":
                spec = resolve(held, TransferFlags.VOID_PENDING)
            else:
                part: int = self.draw(st.integers(1, held.amount + 5))  # type: ignore[assignment]
                spec = resolve(held, TransferFlags.POST_PENDING, part)
            return spec._replace(flags=spec.flags | linked)
        debit: AccountState = self.draw(st.sampled_from(self.books))  # type: ignore[assignment]
        peers = [b for b in self.books if b.currency == debit.currency and b is not debit]
        odd = self.draw(st.integers(0, 9)) == 0  # now and then: any account, any currency
        credit: AccountState = self.draw(st.sampled_from(self.books if odd else peers))  # type: ignore[assignment]
        currency = self.draw(st.sampled_from(["KRW", "USD"])) if odd else debit.currency
        amount = self.draw(st.integers(0 if odd else 1, 600))
        flags = linked
        if self.draw(st.booleans()):
            flags |= TransferFlags.DAILY_LIMIT
        timeout_s = 0
        if kind == "pending":
            flags |= TransferFlags.PENDING
            timeout_s = self.draw(st.sampled_from([0, 30, 3600]))  # type: ignore[assignment]
        spec = transfer(
            debit,
            credit,
            amount,  # type: ignore[arg-type]
            flags=flags,
            timeout_s=timeout_s,
            currency=currency,  # type: ignore[arg-type]
        )
        if kind == "pending":
            self.pendings.append(spec)
        return spec

    def chain(self) -> list[TransferSpec]:
        if self.chains and self.draw(st.integers(0, 5)) == 0:
            old: list[TransferSpec] = self.draw(st.sampled_from(self.chains))  # type: ignore[assignment]
            if self.draw(st.booleans()):
                return old  # a plain retry
            return [old[0]._replace(amount=old[0].amount + 1), *old[1:]]
        size: int = self.draw(st.integers(1, 3))  # type: ignore[assignment]
        last = size - 1
        chain = [
            self.spec(TransferFlags.LINKED if i < last else TransferFlags.NONE) for i in range(size)
        ]
        self.chains.append(chain)
        return chain


def assert_whole_or_nothing(
    before: FakeLedger,
    after: FakeLedger,
    results: list[tuple[list[TransferSpec], ResultCode]],
    now: datetime,
) -> None:
    """Applying only the chains that succeeded, from the same start, gives the same books:
    a failed chain changed nothing (counters, daily totals, pendings), however far it got."""
    new_ids = set(after.transfers) - set(before.transfers)
    ok_chains = [chain for chain, code in results if code is ResultCode.OK]
    ok_ids = {s.id for chain in ok_chains for s in chain}
    assert ok_ids == new_ids
    replay = copy.deepcopy(before)
    outcome = replay.apply(ok_chains, now)
    assert all(item.code is ResultCode.OK for item in outcome.items)
    assert replay.accounts == after.accounts
    assert replay.journal == after.journal
    assert replay.transfers.keys() == after.transfers.keys()
    assert replay.resolved == after.resolved


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_random_batches_keep_the_books(data: st.DataObject) -> None:
    books = accounts()
    ledger = FakeLedger.of(*books)
    cash, usd_cash, usd = books[0], books[-2], books[-1]
    funding = [[transfer(cash, a, 700)] for a in books[1:4]]
    funding.append([transfer(books[4], cash, 500)])
    funding.append([transfer(usd_cash, usd, 1_000, currency="USD")])
    assert all(i.ok for i in ledger.apply(funding).items)
    scenario = Scenario(data, books)
    now = NOW
    for _ in range(data.draw(st.integers(2, 4))):
        chains = [scenario.chain() for _ in range(data.draw(st.integers(1, 6)))]
        before = copy.deepcopy(ledger)
        outcome = ledger.apply(chains, now)
        assert_books(ledger)
        results = [(c, i.code) for c, i in zip(chains, outcome.items, strict=True)]
        assert_whole_or_nothing(before, ledger, results, now)
        applied = [c for c, code in results if code is ResultCode.OK]
        snapshot = ledger.snapshot()
        again = ledger.apply(applied, now)
        assert all(i.code is ResultCode.EXISTS for i in again.items)
        assert ledger.snapshot() == snapshot
        now += timedelta(seconds=data.draw(st.sampled_from([0, 45, 90000])))
