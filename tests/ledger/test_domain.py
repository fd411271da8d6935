"""The ledger's rules, one at a time, on the pure `apply_batch` (no database)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest

from neobank.ledger.domain import (
    AMOUNT_MAX_MINOR,
    PENDING_TIMEOUT_MAX_S,
    AccountFlags,
    AccountState,
    ResultCode,
    TransferFlags,
    TransferSpec,
)
from neobank.ledger.values import COUNTER_MAX_MINOR
from tests.ledger.fake import NOW, FakeLedger, account, assert_books, resolve, transfer

LIMITED = AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS
POST, VOID = TransferFlags.POST_PENDING, TransferFlags.VOID_PENDING


def funded(
    amount: int = 1_000, **kw: int
) -> tuple[FakeLedger, AccountState, AccountState, AccountState]:
    """A bank cash account, and two customer deposit accounts, the first holding `amount`."""
    cash, a, b = account(), account(LIMITED, **kw), account(LIMITED)
    ledger = FakeLedger.of(cash, a, b)
    assert ledger.apply([[transfer(cash, a, amount)]]).items[0].code is ResultCode.OK
    return ledger, cash, a, b


def codes(ledger: FakeLedger, *chains: list[TransferSpec], now: datetime = NOW) -> list[ResultCode]:
    outcome = ledger.apply(list(chains), now)
    assert_books(ledger)
    return [item.code for item in outcome.items]


def test_a_transfer_moves_money_and_journals_both_sides() -> None:
    ledger, _, a, b = funded(1_000)
    t = transfer(a, b, 300)
    outcome = ledger.apply([[t]])
    assert [i.code for i in outcome.items] == [ResultCode.OK]
    assert (ledger.balance(a), ledger.balance(b)) == (700, 300)
    assert [(e.side, e.amount, e.balance_after) for e in outcome.journal] == [
        ("D", 300, 700),
        ("C", 300, 300),
    ]
    assert_books(ledger)


def test_insufficient_funds_counts_pending_holds() -> None:
    ledger, _, a, b = funded(1_000)
    hold = transfer(a, b, 600, flags=TransferFlags.PENDING)
    assert codes(ledger, [hold], [transfer(a, b, 401)], [transfer(a, b, 400)]) == [
        ResultCode.OK,
        ResultCode.INSUFFICIENT_FUNDS,
        ResultCode.OK,
    ]
    assert ledger.balance(a) == 600


def test_credits_must_not_exceed_debits() -> None:
    source, capped = account(), account(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
    ledger = FakeLedger.of(source, capped)
    assert codes(ledger, [transfer(source, capped, 1)]) == [ResultCode.EXCEEDS_DEBITS]
    assert codes(ledger, [transfer(capped, source, 5)], [transfer(source, capped, 5)]) == [
        ResultCode.OK,
        ResultCode.OK,
    ]


@pytest.mark.parametrize(
    ("amount", "code"),
    [
        (0, ResultCode.AMOUNT_INVALID),
        (-1, ResultCode.AMOUNT_INVALID),
        (AMOUNT_MAX_MINOR + 1, ResultCode.AMOUNT_INVALID),
        (AMOUNT_MAX_MINOR, ResultCode.OK),
        (1, ResultCode.OK),
    ],
)
def test_amount_bounds(amount: int, code: ResultCode) -> None:
    cash, other = account(), account()
    assert codes(FakeLedger.of(cash, other), [transfer(cash, other, amount)]) == [code]


def test_same_account_currency_mismatch_and_unknown_account() -> None:
    ledger, cash, a, _ = funded(1_000)
    dollars = account(currency="USD")
    ledger.accounts[dollars.id] = dollars
    assert codes(
        ledger,
        [transfer(a, a, 1)],
        [transfer(cash, dollars, 1)],
        [transfer(cash, a, 1, currency="USD")],
        [transfer(a, uuid.uuid4(), 1)],
    ) == [
        ResultCode.SAME_ACCOUNT,
        ResultCode.CURRENCY_MISMATCH,
        ResultCode.CURRENCY_MISMATCH,
        ResultCode.ACCOUNT_NOT_FOUND,
    ]


def test_frozen_account_takes_money_in_but_not_out_and_closed_neither() -> None:
    ledger, cash, a, _ = funded(1_000)
    ledger.accounts[a.id].flags |= AccountFlags.DEBITS_BLOCKED
    assert codes(ledger, [transfer(a, cash, 1)], [transfer(cash, a, 1)]) == [
        ResultCode.ACCOUNT_FROZEN,
        ResultCode.OK,
    ]
    ledger.accounts[a.id].flags |= AccountFlags.CLOSED
    assert codes(ledger, [transfer(a, cash, 1)], [transfer(cash, a, 1)]) == [
        ResultCode.ACCOUNT_CLOSED,
        ResultCode.ACCOUNT_CLOSED,
    ]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"code": 0}, ResultCode.CODE_INVALID),
        ({"code": 2**31}, ResultCode.CODE_INVALID),
        ({"flags": 64}, ResultCode.FLAGS_INVALID),
        ({"flags": TransferFlags.PENDING | POST, "pending_id": uuid.uuid4()}, "flags"),
        ({"flags": POST | VOID, "pending_id": uuid.uuid4()}, ResultCode.FLAGS_INVALID),
        ({"pending_id": uuid.uuid4()}, ResultCode.PENDING_ID_INVALID),
        ({"flags": POST}, ResultCode.PENDING_ID_INVALID),
        ({"timeout_s": 60}, ResultCode.TIMEOUT_INVALID),
        ({"flags": TransferFlags.PENDING, "timeout_s": -1}, ResultCode.TIMEOUT_INVALID),
        (
            {"flags": TransferFlags.PENDING, "timeout_s": PENDING_TIMEOUT_MAX_S + 1},
            ResultCode.TIMEOUT_INVALID,
        ),
        ({"flags": TransferFlags.PENDING, "timeout_s": PENDING_TIMEOUT_MAX_S}, ResultCode.OK),
    ],
)
def test_fields_that_the_columns_or_the_semantics_refuse(
    fields: dict[str, object], code: ResultCode | str
) -> None:
    # Each of these used to be stored (breaking the books) or to fail the whole batch's SQL.
    ledger, cash, a, _ = funded(1_000)
    expected = ResultCode.FLAGS_INVALID if code == "flags" else code
    assert codes(ledger, [transfer(a, cash, 10, **fields)]) == [expected]


def test_counters_never_overflow_a_bigint() -> None:
    cash, sink = account(), account(credits_posted=COUNTER_MAX_MINOR - 5, debits_posted=0)
    ledger = FakeLedger(accounts={cash.id: cash, sink.id: sink})
    outcome = ledger.apply([[transfer(cash, sink, 6)], [transfer(cash, sink, 5)]])
    assert [i.code for i in outcome.items] == [ResultCode.OVERFLOW, ResultCode.OK]


def test_daily_limit_counts_only_flagged_debits_and_resets_the_next_day() -> None:
    ledger, _, a, b = funded(10_000, daily_debit_limit=1_000)
    daily = TransferFlags.DAILY_LIMIT
    assert codes(
        ledger,
        [transfer(a, b, 600, flags=daily)],
        [transfer(a, b, 401, flags=daily)],
        [transfer(a, b, 5_000)],  # not a customer transfer out: not counted
        [transfer(a, b, 400, flags=daily)],
        [transfer(a, b, 1, flags=daily)],
    ) == [
        ResultCode.OK,
        ResultCode.LIMIT_EXCEEDED,
        ResultCode.OK,
        ResultCode.OK,
        ResultCode.LIMIT_EXCEEDED,
    ]
    tomorrow = NOW + timedelta(days=1)
    assert codes(ledger, [transfer(a, b, 1_000, flags=daily)], now=tomorrow) == [ResultCode.OK]
    assert ledger.accounts[a.id].debits_today == 1_000


def test_a_failed_link_undoes_the_whole_chain_including_daily_counters() -> None:
    ledger, cash, a, b = funded(1_000, daily_debit_limit=900)
    before = ledger.snapshot()
    principal = transfer(a, b, 800, flags=TransferFlags.DAILY_LIMIT | TransferFlags.LINKED)
    fee = transfer(a, cash, 300)  # 800 + 300 > 1,000: the fee fails, so must the principal
    outcome = ledger.apply([[principal, fee]])
    assert outcome.items[0].code is ResultCode.INSUFFICIENT_FUNDS
    assert outcome.items[0].failed_index == 1
    assert (outcome.transfers, outcome.journal, outcome.touched) == ([], [], {})
    assert ledger.snapshot() == before
    # The daily counter was given back: 900 of the limit are still free today.
    assert codes(ledger, [transfer(a, b, 900, flags=TransferFlags.DAILY_LIMIT)]) == [ResultCode.OK]


def test_a_failed_chain_gives_back_the_pending_it_resolved() -> None:
    ledger, cash, a, b = funded(1_000)
    hold = transfer(a, b, 500, flags=TransferFlags.PENDING)
    assert codes(ledger, [hold]) == [ResultCode.OK]
    post = resolve(hold, POST)
    outcome = ledger.apply([[post, transfer(a, cash, 10**6)], [resolve(hold, VOID)]])
    # The first chain failed on its 2nd transfer, so the hold was still open for the void.
    assert [i.code for i in outcome.items] == [ResultCode.INSUFFICIENT_FUNDS, ResultCode.OK]
    assert ledger.accounts[a.id].debits_pending == 0
    assert ledger.balance(a) == 1_000
    assert_books(ledger)


def test_a_pending_created_by_a_failed_chain_does_not_exist() -> None:
    ledger, cash, a, b = funded(1_000)
    hold = transfer(a, b, 500, flags=TransferFlags.PENDING)
    outcome = ledger.apply([[hold, transfer(a, cash, 10**6)], [resolve(hold, POST)], [hold]])
    assert [i.code for i in outcome.items] == [
        ResultCode.INSUFFICIENT_FUNDS,
        ResultCode.PENDING_NOT_FOUND,
        ResultCode.OK,
    ]
    assert_books(ledger)


def test_retries_answer_exists_and_change_nothing() -> None:
    ledger, cash, a, b = funded(1_000)
    chain = [transfer(a, b, 100, flags=TransferFlags.LINKED), transfer(a, cash, 5)]
    assert codes(ledger, chain) == [ResultCode.OK]
    before = ledger.snapshot()
    changed = chain[0]._replace(amount=101)
    stray = transfer(a, cash, 5)
    outcome = ledger.apply([chain, chain, [changed], [chain[0], stray], [stray, chain[1]]])
    assert [(i.code, i.failed_index) for i in outcome.items] == [
        (ResultCode.EXISTS, None),
        (ResultCode.EXISTS, None),
        (ResultCode.EXISTS_WITH_DIFFERENT_FIELDS, 0),
        # The first id is stored but the chain is not the stored one: refused, not "exists".
        (ResultCode.EXISTS_WITH_DIFFERENT_FIELDS, 1),
        (ResultCode.EXISTS_WITH_DIFFERENT_FIELDS, 1),
    ]
    assert ledger.snapshot() == before


def test_the_same_new_transfer_twice_in_one_batch_applies_once() -> None:
    ledger, _, a, b = funded(1_000)
    t = transfer(a, b, 100)
    assert codes(ledger, [t], [t]) == [ResultCode.OK, ResultCode.EXISTS]
    assert ledger.balance(b) == 100


def test_partial_post_moves_part_and_releases_the_whole_hold() -> None:
    ledger, _, a, b = funded(1_000)
    hold = transfer(a, b, 500, flags=TransferFlags.PENDING, timeout_s=60)
    assert codes(ledger, [hold]) == [ResultCode.OK]
    assert ledger.transfers[hold.id].expires_at == NOW + timedelta(seconds=60)
    assert codes(ledger, [resolve(hold, POST, 501)], [resolve(hold, POST, 200)]) == [
        ResultCode.EXCEEDS_PENDING_AMOUNT,
        ResultCode.OK,
    ]
    a_state = ledger.accounts[a.id]
    assert (a_state.net_posted, a_state.debits_pending) == (800, 0)
    assert codes(ledger, [resolve(hold, POST, 100)], [resolve(hold, VOID)]) == [
        ResultCode.PENDING_ALREADY_RESOLVED,
        ResultCode.PENDING_ALREADY_RESOLVED,
    ]


def test_void_releases_the_hold_and_moves_nothing() -> None:
    ledger, _, a, b = funded(1_000)
    hold = transfer(a, b, 1_000, flags=TransferFlags.PENDING)
    assert codes(ledger, [hold], [transfer(a, b, 1)], [resolve(hold, VOID)]) == [
        ResultCode.OK,
        ResultCode.INSUFFICIENT_FUNDS,
        ResultCode.OK,
    ]
    assert ledger.balance(a) == 1_000
    assert not [e for e in ledger.journal if e.transfer_id == hold.id]
    assert codes(ledger, [transfer(a, b, 1_000)], [resolve(hold, POST)]) == [
        ResultCode.OK,
        ResultCode.PENDING_ALREADY_RESOLVED,
    ]


def test_expiry_refuses_a_post_but_allows_a_void() -> None:
    ledger, _, a, b = funded(1_000)
    hold = transfer(a, b, 300, flags=TransferFlags.PENDING, timeout_s=60)
    assert codes(ledger, [hold]) == [ResultCode.OK]
    later = NOW + timedelta(seconds=60)
    assert codes(ledger, [resolve(hold, POST)], [resolve(hold, VOID)], now=later) == [
        ResultCode.PENDING_EXPIRED,
        ResultCode.OK,
    ]


def test_post_of_unknown_mismatched_or_plain_transfer_is_not_found() -> None:
    ledger, cash, a, b = funded(1_000)
    plain = transfer(a, b, 10)
    hold = transfer(a, b, 10, flags=TransferFlags.PENDING)
    assert codes(ledger, [plain], [hold]) == [ResultCode.OK, ResultCode.OK]
    elsewhere = resolve(hold, POST)._replace(credit_account_id=cash.id)
    assert (
        codes(
            ledger,
            [transfer(a, b, 1, flags=POST, pending_id=uuid.uuid4())],
            [resolve(plain, POST)],
            [elsewhere],
        )
        == [ResultCode.PENDING_NOT_FOUND] * 3
    )


def test_closed_account_refuses_a_post_but_allows_its_void() -> None:
    ledger, _, a, b = funded(1_000)
    hold = transfer(a, b, 300, flags=TransferFlags.PENDING)
    assert codes(ledger, [hold]) == [ResultCode.OK]
    ledger.accounts[b.id].flags |= AccountFlags.CLOSED
    assert codes(ledger, [resolve(hold, POST)], [resolve(hold, VOID)]) == [
        ResultCode.ACCOUNT_CLOSED,
        ResultCode.OK,
    ]
