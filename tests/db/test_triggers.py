"""The database's half of double entry: raw SQL that the engine would never send is refused
by PostgreSQL itself (statement triggers, check constraints, the deferred commit check)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from asyncpg.exceptions import (
    CheckViolationError,
    ForeignKeyViolationError,
    IntegrityConstraintViolationError,
)

from neobank.ledger.check import check_ledger

Refused = IntegrityConstraintViolationError  # check violations are a kind of it too
PENDING, POST, VOID = 2, 4, 8


async def open_account(db: asyncpg.Connection, flags: int = 0, currency: str = "KRW") -> uuid.UUID:
    account_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO ledger_accounts (id, currency, code, flags) VALUES ($1, $2, 2000, $3)",
        account_id,
        currency,
        flags,
    )
    return account_id


async def insert_transfer(
    db: asyncpg.Connection,
    debit: uuid.UUID,
    credit: uuid.UUID,
    amount: int,
    *,
    flags: int = 0,
    pending_id: uuid.UUID | None = None,
    currency: str = "KRW",
) -> uuid.UUID:
    transfer_id = uuid.uuid4()
    await db.execute(
        "INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, currency, code, "
        "flags, pending_id, created_at) VALUES ($1, $2, $3, $4, $5, 1, $6, $7, now())",
        transfer_id,
        debit,
        credit,
        amount,
        currency,
        flags,
        pending_id,
    )
    return transfer_id


async def insert_journal(
    db: asyncpg.Connection, transfer_id: uuid.UUID, *entries: tuple[uuid.UUID, str, int]
) -> None:
    await db.execute(
        "INSERT INTO journal_entries (account_id, transfer_id, side, amount, currency, "
        "balance_after, created_at) "
        "SELECT a, $1, s, am, 'KRW', l.credits_posted - l.debits_posted "
        "    + CASE s WHEN 'C' THEN am ELSE -am END, now() "
        "FROM unnest($2::uuid[], $3::text[], $4::bigint[]) AS u(a, s, am) "
        "JOIN ledger_accounts l ON l.id = u.a",
        transfer_id,
        [e[0] for e in entries],
        [e[1] for e in entries],
        [e[2] for e in entries],
    )


async def move_counters(
    db: asyncpg.Connection, debit: uuid.UUID, credit: uuid.UUID, amount: int, kind: str = "posted"
) -> None:
    await db.execute(
        f"UPDATE ledger_accounts SET "
        f"debits_{kind} = debits_{kind} + CASE WHEN id = $1 THEN $3::bigint ELSE 0 END, "
        f"credits_{kind} = credits_{kind} + CASE WHEN id = $2 THEN $3::bigint ELSE 0 END "
        f"WHERE id IN ($1, $2)",
        debit,
        credit,
        amount,
    )


async def post(
    db: asyncpg.Connection, debit: uuid.UUID, credit: uuid.UUID, amount: int
) -> uuid.UUID:
    """Everything the engine writes for one posted transfer, in one transaction."""
    async with db.transaction():
        transfer_id = await insert_transfer(db, debit, credit, amount)
        await insert_journal(db, transfer_id, (debit, "D", amount), (credit, "C", amount))
        await move_counters(db, debit, credit, amount)
    return transfer_id


@pytest.fixture
async def pair(db: asyncpg.Connection) -> AsyncIterator[tuple[uuid.UUID, uuid.UUID]]:
    """The bank's cash and a customer's deposit account holding 1,000."""
    cash, customer = await open_account(db), await open_account(db, flags=1)
    await post(db, cash, customer, 1_000)
    yield cash, customer
    # Whatever a test tried, what committed must still check out.
    report = await check_ledger(db)
    assert report["balanced"] is True, report


async def test_a_whole_posting_commits(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    await post(db, customer, cash, 400)
    row = await db.fetchrow("SELECT * FROM ledger_accounts WHERE id = $1", customer)
    assert (row["debits_posted"], row["credits_posted"]) == (400, 1_000)


async def test_a_journal_that_does_not_balance_is_refused(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    with pytest.raises(Refused, match="do not balance"):
        async with db.transaction():
            transfer_id = await insert_transfer(db, cash, customer, 10)
            await insert_journal(db, transfer_id, (cash, "D", 10), (customer, "C", 9))


async def test_journal_entries_must_book_their_transfer(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    other = await open_account(db)
    for entries, flags in [
        (((cash, "D", 11), (customer, "C", 11)), 0),  # not the transfer's amount
        (((cash, "D", 10), (other, "C", 10)), 0),  # not the transfer's credit account
        (((customer, "D", 10), (cash, "C", 10)), 0),  # sides swapped
        (((cash, "D", 10), (customer, "C", 10)), PENDING),  # a hold moves nothing
    ]:
        with pytest.raises(Refused, match="does not book transfer"):
            async with db.transaction():
                transfer_id = await insert_transfer(db, cash, customer, 10, flags=flags)
                await insert_journal(db, transfer_id, *entries)


async def test_counters_that_change_debits_but_not_credits_are_refused(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, _ = pair
    with pytest.raises(Refused, match="change unevenly"):
        await db.execute(
            "UPDATE ledger_accounts SET debits_posted = debits_posted + 5 WHERE id = $1", cash
        )
    with pytest.raises(Refused, match="change unevenly"):
        await db.execute(
            "UPDATE ledger_accounts SET credits_pending = credits_pending + 5 WHERE id = $1", cash
        )


async def test_counters_that_balance_only_across_currencies_are_refused(
    db: asyncpg.Connection,
) -> None:
    """The check sums each currency's changes apart (migration 0011 sums the new rows minus
    the old ones by currency instead of joining them): won debited against dollars credited
    is refused."""
    won, dollars = await open_account(db), await open_account(db, currency="USD")
    with pytest.raises(Refused, match=r"change unevenly in (KRW|USD)"):
        await db.execute(
            "UPDATE ledger_accounts SET "
            "debits_posted = debits_posted + CASE WHEN id = $1 THEN 5 ELSE 0 END, "
            "credits_posted = credits_posted + CASE WHEN id = $2 THEN 5 ELSE 0 END "
            "WHERE id IN ($1, $2)",
            won,
            dollars,
        )


@pytest.mark.parametrize(
    ("transfer", "journal", "counters", "flags"),
    [
        (True, False, False, 0),  # a posted transfer alone
        (True, True, False, 0),  # its journal, not its counters
        (True, False, True, 0),  # its counters, not its journal
        (False, False, True, 0),  # counters alone
        (True, False, False, PENDING),  # a hold without its pending counters
    ],
)
async def test_a_commit_whose_parts_disagree_fails_at_commit(
    db: asyncpg.Connection,
    pair: tuple[uuid.UUID, uuid.UUID],
    transfer: bool,
    journal: bool,
    counters: bool,
    flags: int,
) -> None:
    cash, customer = pair
    tx = db.transaction()
    await tx.start()
    # Every statement passes on its own: only COMMIT sees that a part is missing.
    if transfer:
        transfer_id = await insert_transfer(db, customer, cash, 100, flags=flags)
    if journal:
        await insert_journal(db, transfer_id, (customer, "D", 100), (cash, "C", 100))
    if counters:
        await move_counters(db, customer, cash, 100)
    with pytest.raises(Refused, match=r"commit (posts|holds)"):
        await tx.commit()
    assert not db.is_in_transaction()


async def test_pending_counters_without_a_hold_fail_at_commit(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    tx = db.transaction()
    await tx.start()
    await move_counters(db, customer, cash, 100, kind="pending")
    with pytest.raises(Refused, match="commit holds 0 in pending transfers but 100"):
        await tx.commit()
    assert not db.is_in_transaction()


async def test_transfers_and_journal_entries_are_immutable(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    for sql in [
        "UPDATE transfers SET amount = amount + 1",
        "DELETE FROM transfers",
        "TRUNCATE transfers CASCADE",
        "UPDATE journal_entries SET amount = amount + 1",
        "DELETE FROM journal_entries",
        "TRUNCATE journal_entries",
    ]:
        with pytest.raises(Refused, match="immutable"):
            await db.execute(sql)


async def test_references_are_checked_per_statement(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    """No foreign keys on transfers and journal entries (migration 0007): the statement
    triggers refuse what the keys refused."""
    cash, customer = pair
    nobody = uuid.uuid4()
    with pytest.raises(ForeignKeyViolationError, match="names an account that does not exist"):
        await insert_transfer(db, customer, nobody, 10)
    with pytest.raises(ForeignKeyViolationError, match="names an account that does not exist"):
        await insert_transfer(db, nobody, customer, 10)
    with pytest.raises(Refused, match="does not resolve its pending transfer"):
        await insert_transfer(db, customer, cash, 10, flags=POST, pending_id=uuid.uuid4())
    with pytest.raises(Refused, match="does not book transfer"):
        await insert_journal(db, uuid.uuid4(), (customer, "D", 10), (cash, "C", 10))


async def test_ledger_accounts_are_never_deleted(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    unused = await open_account(db)
    for sql, args in [
        ("DELETE FROM ledger_accounts WHERE id = $1", (unused,)),
        ("DELETE FROM ledger_accounts WHERE id = $1", (pair[1],)),
        ("TRUNCATE ledger_accounts CASCADE", ()),
    ]:
        with pytest.raises(Refused, match="accounts are never deleted"):
            await db.execute(sql, *args)


async def test_an_account_opens_with_zero_counters(db: asyncpg.Connection) -> None:
    with pytest.raises(Refused, match="must open with zero counters"):
        await db.execute(
            "INSERT INTO ledger_accounts (id, currency, code, credits_posted) "
            "VALUES ($1, 'KRW', 2000, 5)",
            uuid.uuid4(),
        )


async def test_an_account_keeps_its_id_and_currency(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    _, customer = pair
    for change in ["currency = 'USD'", "id = gen_random_uuid()"]:
        with pytest.raises(Refused, match="may not change its id or currency"):
            await db.execute(f"UPDATE ledger_accounts SET {change} WHERE id = $1", customer)


async def test_a_limited_account_never_goes_negative(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    with pytest.raises(CheckViolationError, match="ck_debits_must_not_exceed_credits"):
        await post(db, customer, cash, 1_001)
    with pytest.raises(CheckViolationError, match="ck_debits_must_not_exceed_credits"):
        await move_counters(db, customer, cash, 1_001, kind="pending")


async def test_a_transfer_stays_in_its_accounts_currency(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    with pytest.raises(Refused, match="not in its accounts' currency"):
        await insert_transfer(db, cash, customer, 10, currency="USD")


async def test_a_post_or_void_resolves_a_pending_transfer_between_the_same_accounts(
    db: asyncpg.Connection, pair: tuple[uuid.UUID, uuid.UUID]
) -> None:
    cash, customer = pair
    plain = await post(db, customer, cash, 10)
    async with db.transaction():
        hold = await insert_transfer(db, customer, cash, 300, flags=PENDING)
        await move_counters(db, customer, cash, 300, kind="pending")
    for debit, credit, amount, flags, pending_id in [
        (customer, cash, 301, POST, hold),  # more than held
        (cash, customer, 300, VOID, hold),  # the other direction
        (customer, cash, 10, POST, plain),  # not a pending transfer
    ]:
        with pytest.raises(Refused, match="does not resolve its pending transfer"):
            await insert_transfer(db, debit, credit, amount, flags=flags, pending_id=pending_id)
    with pytest.raises(CheckViolationError, match="ck_transfer_one_phase"):
        await insert_transfer(db, customer, cash, 1, flags=PENDING | POST, pending_id=hold)
    with pytest.raises(CheckViolationError, match="ck_transfer_pending_id"):
        await insert_transfer(db, customer, cash, 1, pending_id=hold)
    with pytest.raises(CheckViolationError, match="ck_transfer_pending_id"):
        await insert_transfer(db, customer, cash, 1, flags=VOID)
