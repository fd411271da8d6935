"""SQL for the engine's hot path: plain asyncpg with one multi-row statement per table."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import asyncpg

from neobank.ledger.domain import (
    AcceptedTransfer,
    AccountState,
    JournalEntry,
    PendingState,
    TransferFlags,
    TransferSpec,
)

__all__ = [
    "insert_journal",
    "insert_transfers",
    "load_existing",
    "load_pendings",
    "lock_accounts",
    "update_accounts",
]

_TRANSFER_COLUMNS = (
    "id, debit_account_id, credit_account_id, amount, currency, code, flags, pending_id, timeout_s"
)


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


async def lock_accounts(
    conn: asyncpg.Connection, account_ids: Sequence[UUID]
) -> dict[UUID, AccountState]:
    """Lock the accounts in id order (so concurrent batches never deadlock) and load them."""
    rows = await conn.fetch(
        "SELECT * FROM ledger_accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
        list(account_ids),
    )
    return {row["id"]: account_from_row(row) for row in rows}


async def load_existing(
    conn: asyncpg.Connection, transfer_ids: Sequence[UUID]
) -> dict[UUID, TransferSpec]:
    rows = await conn.fetch(
        f"SELECT {_TRANSFER_COLUMNS} FROM transfers WHERE id = ANY($1::uuid[])",
        list(transfer_ids),
    )
    return {row["id"]: spec_from_row(row) for row in rows}


async def load_pendings(
    conn: asyncpg.Connection, pending_ids: Sequence[UUID]
) -> dict[UUID, PendingState]:
    """Pending transfers referenced by post/void transfers (read after their accounts' locks)."""
    if not pending_ids:
        return {}
    rows = await conn.fetch(
        f"""
        SELECT {_TRANSFER_COLUMNS}, expires_at,
               EXISTS (SELECT 1 FROM transfers r WHERE r.pending_id = t.id) AS resolved
        FROM transfers t WHERE id = ANY($1::uuid[]) AND (flags & $2) <> 0
        """,
        list(pending_ids),
        int(TransferFlags.PENDING),
    )
    return {
        row["id"]: PendingState(spec_from_row(row), row["expires_at"], row["resolved"])
        for row in rows
    }


async def insert_transfers(
    conn: asyncpg.Connection, accepted: Sequence[AcceptedTransfer], now: datetime
) -> None:
    if not accepted:
        return
    specs = [a.spec for a in accepted]
    await conn.execute(
        f"""
        INSERT INTO transfers ({_TRANSFER_COLUMNS}, expires_at, created_at)
        SELECT *, $11::timestamptz FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::bigint[],
            $5::text[], $6::int[], $7::int[], $8::uuid[], $9::int[], $10::timestamptz[])
        """,
        [s.id for s in specs],
        [s.debit_account_id for s in specs],
        [s.credit_account_id for s in specs],
        [s.amount for s in specs],
        [s.currency for s in specs],
        [s.code for s in specs],
        [s.flags for s in specs],
        [s.pending_id for s in specs],
        [s.timeout_s for s in specs],
        [a.expires_at for a in accepted],
        now,
    )


async def insert_journal(
    conn: asyncpg.Connection, entries: Sequence[JournalEntry], now: datetime
) -> None:
    if not entries:
        return
    await conn.execute(
        """
        INSERT INTO journal_entries
            (account_id, transfer_id, side, amount, currency, balance_after, created_at)
        SELECT a, t, s, am, c, b, $7
        FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::bigint[], $5::text[], $6::bigint[])
            WITH ORDINALITY AS u(a, t, s, am, c, b, n)
        ORDER BY n
        """,
        [e.account_id for e in entries],
        [e.transfer_id for e in entries],
        [e.side for e in entries],
        [e.amount for e in entries],
        [e.currency for e in entries],
        [e.balance_after for e in entries],
        now,
    )


async def update_accounts(conn: asyncpg.Connection, accounts: Sequence[AccountState]) -> None:
    """Write each touched account once per batch."""
    if not accounts:
        return
    await conn.execute(
        """
        UPDATE ledger_accounts a SET
            debits_posted = u.dp, credits_posted = u.cp,
            debits_pending = u.dpe, credits_pending = u.cpe,
            debits_today = u.dt, debits_today_date = u.dtd
        FROM unnest($1::uuid[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[],
                    $6::bigint[], $7::date[]) AS u(id, dp, cp, dpe, cpe, dt, dtd)
        WHERE a.id = u.id
        """,
        [a.id for a in accounts],
        [a.debits_posted for a in accounts],
        [a.credits_posted for a in accounts],
        [a.debits_pending for a in accounts],
        [a.credits_pending for a in accounts],
        [a.debits_today for a in accounts],
        [a.debits_today_date for a in accounts],
    )


async def create_account(
    conn: asyncpg.Connection,
    account_id: UUID,
    currency: str,
    code: int,
    flags: int,
    daily_debit_limit: int | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO ledger_accounts (id, currency, code, flags, daily_debit_limit) "
        "VALUES ($1, $2, $3, $4, $5)",
        account_id,
        currency,
        code,
        flags,
        daily_debit_limit,
    )


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
