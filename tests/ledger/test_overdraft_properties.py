"""Property tests of `apply_batch` with overdraft lines: random batches against accounts whose
debits may pass their credits by a limit. Money is conserved, no account passes credits plus
its limit, and a refusal for insufficient funds happens exactly when the limit would be passed.
"""

from __future__ import annotations

import copy
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from neobank.ledger.domain import AccountFlags, AccountState, ResultCode, TransferFlags
from tests.ledger.fake import (
    NOW,
    FakeLedger,
    _assert_conserved,
    _assert_counters_follow_transfers,
    _assert_journal_replays,
    account,
    transfer,
)
from tests.ledger.test_domain_properties import Scenario, assert_whole_or_nothing

LIMITED = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS


def books(limits: list[int]) -> list[AccountState]:
    return [
        account(),  # the bank's cash: no limit
        account(LIMITED, overdraft_limit=limits[0]),
        account(LIMITED, overdraft_limit=limits[1], daily_debit_limit=400),
        account(LIMITED, overdraft_limit=limits[2]),
        account(LIMITED),  # no line: the old rule
        # A limit on an account without the flag means nothing: it has no floor anyway.
        account(overdraft_limit=limits[3]),
        account(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS),
    ]


def assert_books_with_limits(ledger: FakeLedger) -> None:
    _assert_conserved(ledger.accounts.values())
    _assert_counters_follow_transfers(ledger)
    _assert_journal_replays(ledger)
    for state in ledger.accounts.values():
        assert min(state.debits_posted, state.credits_posted) >= 0, state
        assert min(state.debits_pending, state.credits_pending) >= 0, state
        if state.flags & LIMITED:
            spent = state.debits_posted + state.debits_pending
            assert spent <= state.credits_posted + state.overdraft_limit, state
        if state.flags & AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS:
            assert state.credits_posted + state.credits_pending <= state.debits_posted, state


LIMITS = st.lists(st.integers(0, 900), min_size=4, max_size=4)


@settings(max_examples=150, deadline=None)
@given(st.data(), LIMITS)
def test_random_batches_with_overdraft_lines_keep_the_books(
    data: st.DataObject, limits: list[int]
) -> None:
    accounts = books(limits)
    ledger = FakeLedger.of(*accounts)
    cash = accounts[0]
    funding = [[transfer(cash, a, 300)] for a in accounts[1:5]]
    funding.append([transfer(accounts[6], cash, 500)])
    assert all(i.ok for i in ledger.apply(funding).items)
    scenario = Scenario(data, accounts)
    now = NOW
    for _ in range(data.draw(st.integers(2, 4))):
        chains = [scenario.chain() for _ in range(data.draw(st.integers(1, 6)))]
        before = copy.deepcopy(ledger)
        outcome = ledger.apply(chains, now)
        assert_books_with_limits(ledger)
        results = [(c, i.code) for c, i in zip(chains, outcome.items, strict=True)]
        assert_whole_or_nothing(before, ledger, results, now)
        now += timedelta(seconds=data.draw(st.sampled_from([0, 45, 90000])))


@settings(max_examples=200, deadline=None)
@given(
    st.integers(0, 1_000),
    st.integers(0, 1_000),
    st.lists(st.tuples(st.integers(1, 700), st.booleans(), st.booleans()), max_size=12),
)
def test_a_line_is_refused_exactly_where_it_ends(
    funded: int, limit: int, moves: list[tuple[int, bool, bool]]
) -> None:
    """One transfer at a time: spending is refused if and only if debits (holds included)
    would pass credits plus the line; coming back in is always accepted."""
    cash = account()
    line = account(LIMITED, overdraft_limit=limit)
    ledger = FakeLedger.of(cash, line)
    if funded:
        assert ledger.apply([[transfer(cash, line, funded)]]).items[0].ok
    for amount, spend, hold in moves:
        state = ledger.accounts[line.id]
        flags = TransferFlags.PENDING if hold else TransferFlags.NONE
        if not spend:
            code = ledger.apply([[transfer(cash, line, amount, flags=flags)]]).items[0].code
            assert code is ResultCode.OK
            continue
        fits = (
            state.debits_posted + state.debits_pending + amount
            <= state.credits_posted + state.overdraft_limit
        )
        code = ledger.apply([[transfer(line, cash, amount, flags=flags)]]).items[0].code
        assert code is (ResultCode.OK if fits else ResultCode.INSUFFICIENT_FUNDS)
        assert_books_with_limits(ledger)
        # The balance may be negative, never below minus the line.
        assert ledger.accounts[line.id].net_posted >= -limit
