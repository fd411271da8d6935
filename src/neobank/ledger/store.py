"""SQL for the engine's hot path: plain asyncpg with one multi-row statement per table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from neobank.db.sql import in_ids
from neobank.db.statement import WriteStatement
from neobank.ledger.domain import (
    AcceptedTransfer,
    AccountState,
    BatchOutcome,
    JournalEntry,
    PendingState,
    TransferFlags,
    TransferSpec,
)

__all__ = [
    "COPY_TRANSFERS_MIN",
    "LOAD_FOR_BATCH_SQL",
    "LOCK_ACCOUNTS_SQL",
    "add_account",
    "add_ledger_writes",
    "copy_journal",
    "copy_transfers",
    "create_account",
    "load_for_batch",
    "load_pendings",
    "lock_accounts",
    "read_accounts",
    "set_overdraft_limit",
]

_TRANSFER_COLUMNS = ", ".join(TransferSpec._fields)


def account_from_row(row: asyncpg.Record) -> AccountState:
    return AccountState(
        id=row["id"],
        currency=row["currency"],
        code=row["code"],
        flags=row["flags"],
        debits_posted=row["debits_posted"],
        credits_posted=row["credits_posted"],
        debits_pending=row["debits_pending"],
        credits_pending=row["credits_pending"],
        daily_debit_limit=row["daily_debit_limit"],
        debits_today=row["debits_today"],
        debits_today_date=row["debits_today_date"],
        overdraft_limit=row["overdraft_limit"],
    )


def spec_from_row(row: asyncpg.Record) -> TransferSpec:
    return TransferSpec(
        id=row["id"],
        debit_account_id=row["debit_account_id"],
        credit_account_id=row["credit_account_id"],
        amount=row["amount"],
        currency=row["currency"],
        code=row["code"],
        flags=row["flags"],
        pending_id=row["pending_id"],
        timeout_s=row["timeout_s"],
    )


LOCK_ACCOUNTS_SQL = f"SELECT * FROM ledger_accounts WHERE id {in_ids()} ORDER BY id FOR UPDATE"


async def lock_accounts(
    conn: asyncpg.Connection, account_ids: Sequence[UUID]
) -> dict[UUID, AccountState]:
    """Lock the accounts in id order (so concurrent batches never deadlock) and load them."""
    rows = await conn.fetch(LOCK_ACCOUNTS_SQL, list(account_ids))
    return {row["id"]: account_from_row(row) for row in rows}


async def read_accounts(
    conn: asyncpg.Connection, account_ids: Sequence[UUID]
) -> dict[UUID, AccountState]:
    """The accounts as last committed, without a lock (a forecast batch checks them later)."""
    rows = await conn.fetch(f"SELECT * FROM ledger_accounts WHERE id {in_ids()}", list(account_ids))
    return {row["id"]: account_from_row(row) for row in rows}


LOAD_FOR_BATCH_SQL = f"""
SELECT false AS pending, {_TRANSFER_COLUMNS}, NULL::timestamptz AS expires_at,
       NULL::boolean AS resolved
FROM transfers WHERE id {in_ids("$1")}
UNION ALL
SELECT true, {_TRANSFER_COLUMNS}, expires_at,
       EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id)
FROM transfers t WHERE id {in_ids("$2")} AND (flags & $3) <> 0
"""


async def load_for_batch(
    conn: asyncpg.Connection, transfer_ids: Sequence[UUID], pending_ids: Sequence[UUID]
) -> tuple[dict[UUID, TransferSpec], dict[UUID, PendingState]]:
    """In one round trip (after the accounts' locks): the transfers already stored with these
    ids, and the pending transfers referenced by post/void transfers."""
    rows = await conn.fetch(
        LOAD_FOR_BATCH_SQL, list(transfer_ids), list(pending_ids), int(TransferFlags.PENDING)
    )
    existing: dict[UUID, TransferSpec] = {}
    pendings: dict[UUID, PendingState] = {}
    for row in rows:
        if row["pending"]:
            pendings[row["id"]] = PendingState(
                spec_from_row(row), row["expires_at"], row["resolved"]
            )
        else:
            existing[row["id"]] = spec_from_row(row)
    return existing, pendings


async def load_pendings(
    conn: asyncpg.Connection, pending_ids: Sequence[UUID]
) -> dict[UUID, PendingState]:
    """Pending transfers referenced by post/void transfers (read after their accounts' locks)."""
    if not pending_ids:
        return {}
    return (await load_for_batch(conn, [], pending_ids))[1]


# From this many transfers on, a batch copies its transfers and journal entries (binary
# COPY, two more round trips) instead of inserting them from arrays in its one statement:
# PostgreSQL inserts copied rows in bulk, and asyncpg encodes array parameters element by
# element through an abstract-class check (7% of a batch's API process in a py-spy profile).
COPY_TRANSFERS_MIN = 256


def add_ledger_writes(
    statement: WriteStatement,
    outcome: BatchOutcome,
    now: datetime,
    *,
    accounts: bool = True,
    rows: bool = True,
) -> None:
    """Add a batch's writes to one statement: its transfers and journal entries (unless
    `rows` is False: `copy_transfers` and `copy_journal` copy them), and each touched account
    once (unless `accounts` is False: a forecast batch updates them apart, under its locks).
    The statement triggers see all of them at the statement's end."""
    if rows:
        _add_transfers(statement, outcome.transfers, now)
        _add_journal(statement, outcome.journal)
    if accounts:
        _add_account_updates(statement, list(outcome.touched.values()))


async def copy_transfers(conn: asyncpg.Connection, outcome: BatchOutcome, now: datetime) -> None:
    """Copy a batch's transfers (before its journal: the journal's trigger looks them up)."""
    await conn.copy_records_to_table(
        "transfers",
        columns=[*TransferSpec._fields, "expires_at", "created_at"],
        records=[(*a.spec, a.expires_at, now) for a in outcome.transfers],
    )


async def copy_journal(conn: asyncpg.Connection, outcome: BatchOutcome) -> None:
    """Copy a batch's journal entries, numbered in the order copied (each entry is its row)."""
    await conn.copy_records_to_table(
        "journal_entries", columns=JournalEntry._fields, records=outcome.journal
    )


# A transfer's row as `WriteStatement.rows` sends it: the spec's fields, then its expiry.
_TRANSFER_ROW = (
    ("id", "uuid"),
    ("debit_account_id", "uuid"),
    ("credit_account_id", "uuid"),
    ("amount", "bigint"),
    ("currency", "text"),
    ("code", "int"),
    ("flags", "int"),
    ("pending_id", "uuid"),
    ("timeout_s", "int"),
    ("expires_at", "timestamptz"),
)
# A journal entry's (its fields, then its place in the batch).
_JOURNAL_ROW = (
    ("account_id", "uuid"),
    ("transfer_id", "uuid"),
    ("side", "text"),
    ("amount", "bigint"),
    ("currency", "text"),
    ("balance_after", "bigint"),
    ("created_at", "timestamptz"),
    ("n", "int"),
)


def _add_transfers(
    statement: WriteStatement, accepted: Sequence[AcceptedTransfer], now: datetime
) -> None:
    if not accepted:
        return
    rows = statement.rows(_TRANSFER_ROW, [(*a.spec, a.expires_at) for a in accepted])
    statement.add(
        f"""
        INSERT INTO transfers ({_TRANSFER_COLUMNS}, expires_at, created_at)
        SELECT u.*, {statement.param(now)}::timestamptz FROM {rows}
        """
    )


def _add_journal(statement: WriteStatement, entries: Sequence[JournalEntry]) -> None:
    """Numbered (`seq`) in the order given, which each account's balances follow."""
    if not entries:
        return
    rows = statement.rows(_JOURNAL_ROW, [(*e, n) for n, e in enumerate(entries)])
    statement.add(
        f"""
        INSERT INTO journal_entries ({", ".join(JournalEntry._fields)})
        SELECT {", ".join(JournalEntry._fields)} FROM {rows} ORDER BY n
        """
    )


# An account's new counters (`AccountState.counters`), by id.
_COUNTERS_ROW = (
    ("id", "uuid"),
    ("dp", "bigint"),
    ("cp", "bigint"),
    ("dpe", "bigint"),
    ("cpe", "bigint"),
    ("dt", "bigint"),
    ("dtd", "date"),
)


def _add_account_updates(statement: WriteStatement, accounts: Sequence[AccountState]) -> None:
    if not accounts:
        return
    rows = statement.rows(_COUNTERS_ROW, [(a.id, *a.counters()) for a in accounts])
    statement.add(
        f"""
        UPDATE ledger_accounts a SET
            debits_posted = u.dp, credits_posted = u.cp,
            debits_pending = u.dpe, credits_pending = u.cpe,
            debits_today = u.dt, debits_today_date = u.dtd
        FROM {rows}
        WHERE a.id = u.id
        """
    )


def add_account(
    statement: WriteStatement,
    account_id: UUID,
    currency: str,
    code: int,
    flags: int,
    daily_debit_limit: int | None = None,
) -> None:
    """Add creating a ledger account to a statement of several writes."""
    p = statement.param
    statement.add(
        "INSERT INTO ledger_accounts (id, currency, code, flags, daily_debit_limit) VALUES "
        f"({p(account_id)}, {p(currency)}, {p(code)}, {p(flags)}, {p(daily_debit_limit)})"
    )


async def create_account(
    conn: asyncpg.Connection,
    account_id: UUID,
    currency: str,
    code: int,
    flags: int,
    daily_debit_limit: int | None = None,
) -> None:
    statement = WriteStatement()
    add_account(statement, account_id, currency, code, flags, daily_debit_limit)
    await statement.execute(conn)


async def set_account_flags(
    conn: asyncpg.Connection, account_id: UUID, set_flags: int, clear_flags: int
) -> None:
    """Set and clear an account's flags (freeze, close): the one way other domains change them."""
    await conn.execute(
        "UPDATE ledger_accounts SET flags = (flags & ~$3::int) | $2::int WHERE id = $1",
        account_id,
        set_flags,
        clear_flags,
    )


async def set_overdraft_limit(conn: asyncpg.Connection, account_id: UUID, limit_minor: int) -> None:
    """Set a deposit account's overdraft line (0 removes it). The row lock orders this after
    any batch holding the account; lowering it below what is used already fails the
    ck_debits_must_not_exceed_credits CHECK, so a line is only cut once it is repaid."""
    if limit_minor < 0:
        raise ValueError("an overdraft limit is never negative")
    await conn.execute(
        "UPDATE ledger_accounts SET overdraft_limit = $2 WHERE id = $1", account_id, limit_minor
    )
