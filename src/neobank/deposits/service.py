"""Deposit account use cases: open, read with balances, history, freeze and close."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from neobank.customers.errors import CustomerNotFound
from neobank.db.sql import in_ids
from neobank.db.statement import WriteStatement
from neobank.deposits.errors import AccountNotFound, InvalidStatusChange, ProductNotFound
from neobank.deposits.numbers import account_number
from neobank.deposits.products import PRODUCTS
from neobank.events import EventRow, Outbox
from neobank.ledger import store as ledger_store
from neobank.ledger.chart import AccountCode
from neobank.ledger.domain import AccountFlags
from neobank.pagination import decode_cursor, encode_cursor

__all__ = [
    "account_out",
    "change_status",
    "get_account",
    "list_transactions",
    "open_account",
]

# balance is negative while an overdraft line is in use; available_balance is what may still
# leave the account: the balance less the holds, plus the line (0 without one).
_ACCOUNT_SELECT = """
SELECT a.id, a.number, a.customer_id, a.product, a.currency, a.status, a.created_at,
       l.credits_posted - l.debits_posted AS balance,
       l.credits_posted - l.debits_posted - l.debits_pending + l.overdraft_limit
           AS available_balance
FROM accounts a JOIN ledger_accounts l ON l.id = a.id
"""

_STATUS_FLAGS = {
    "active": 0,
    "frozen": int(AccountFlags.DEBITS_BLOCKED),
    "closed": int(AccountFlags.CLOSED),
}


def account_out(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "number": row["number"],
        "customer_id": str(row["customer_id"]),
        "product": row["product"],
        "currency": row["currency"],
        "status": row["status"],
        "balance": row["balance"],
        "available_balance": row["available_balance"],
        "created_at": row["created_at"].isoformat(),
    }


async def open_account(
    conn: asyncpg.Connection,
    outbox: Outbox,
    customer_id: uuid.UUID,
    product_code: str,
    *,
    daily_debit_limit_minor: int | None = None,
) -> dict[str, Any]:
    """Open a deposit account and its ledger account (caller's transaction), in two
    statements: the number, then both rows (the foreign keys check them and the customer at
    the end of the statement)."""
    product = PRODUCTS.get(product_code)
    if product is None:
        raise ProductNotFound(f"no deposit product {product_code!r}; try 'demand_deposit'")
    account_id = uuid.uuid4()
    limit = daily_debit_limit_minor or product.daily_debit_limit_minor
    # now() is the transaction's start: what the row's created_at defaults to.
    numbered = await conn.fetchrow("SELECT nextval('account_number_seq') AS seq, now() AS at")
    number = account_number(numbered["seq"])
    statement = WriteStatement()
    ledger_store.add_account(
        statement,
        account_id,
        product.currency,
        AccountCode.CUSTOMER_DEPOSIT,
        product.ledger_flags,
        limit,
    )
    p = statement.param
    statement.add(
        "INSERT INTO accounts (id, number, customer_id, product, currency) VALUES "
        f"({p(account_id)}, {p(number)}, {p(customer_id)}, {p(product.code)}, "
        f"{p(product.currency)})"
    )
    try:
        await statement.execute(conn)
    except asyncpg.ForeignKeyViolationError:
        raise CustomerNotFound() from None
    out = {
        "id": str(account_id),
        "number": number,
        "customer_id": str(customer_id),
        "product": product.code,
        "currency": product.currency,
        "status": "active",
        "balance": 0,
        "available_balance": 0,
        "created_at": numbered["at"].isoformat(),
    }
    outbox.add(
        EventRow("account.opened", "account", out["id"], {**out, "daily_debit_limit": limit}),
        datetime.now(UTC),
    )
    return out


async def get_account(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID
) -> dict[str, Any]:
    row = await conn.fetchrow(_ACCOUNT_SELECT + " WHERE a.id = $1", account_id)
    if row is None:
        raise AccountNotFound()
    return account_out(row)


# An account's owner and currency never change, so every process may remember them; the
# hot path then asks the database only about accounts it has not seen yet.
OWNER_CACHE_ENTRIES_MAX = 200_000
_owners: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}


async def account_owners(
    conn: asyncpg.Connection | asyncpg.Pool, account_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """Owner and currency of each deposit account found among the ids."""
    found = {i: _owners[i] for i in account_ids if i in _owners}
    missing = [i for i in account_ids if i not in found]
    if missing:
        rows = await conn.fetch(
            f"SELECT id, customer_id, currency FROM accounts WHERE id {in_ids()}", missing
        )
        if len(_owners) + len(rows) > OWNER_CACHE_ENTRIES_MAX:
            _owners.clear()
        for row in rows:
            found[row["id"]] = _owners[row["id"]] = (row["customer_id"], row["currency"])
    return found


async def change_status(
    conn: asyncpg.Connection, outbox: Outbox, account_id: uuid.UUID, status: str
) -> dict[str, Any]:
    """Freeze, unfreeze or close an account; the ledger flags change in the same transaction."""
    ledger = await conn.fetchrow(
        "SELECT l.flags, l.credits_posted - l.debits_posted AS balance, l.debits_pending, "
        "l.credits_pending, l.overdraft_limit, a.status "
        "FROM accounts a JOIN ledger_accounts l ON l.id = a.id "
        "WHERE a.id = $1 FOR UPDATE OF l, a",
        account_id,
    )
    if ledger is None:
        raise AccountNotFound()
    if ledger["status"] == "closed":
        raise InvalidStatusChange("a closed account stays closed")
    if ledger["status"] == status:
        return await get_account(conn, account_id)  # nothing changed: no event to tell
    if status == "closed" and (
        ledger["balance"] or ledger["debits_pending"] or ledger["credits_pending"]
    ):
        raise InvalidStatusChange("only an account with a zero balance and no holds can close")
    if status == "closed" and ledger["overdraft_limit"]:
        # The line would go on charging interest to an account that can pay nothing.
        raise InvalidStatusChange("an account with an overdraft line cannot close")
    await ledger_store.set_account_flags(
        conn,
        account_id,
        set_flags=_STATUS_FLAGS[status],
        clear_flags=int(AccountFlags.DEBITS_BLOCKED | AccountFlags.CLOSED),
    )
    await conn.execute("UPDATE accounts SET status = $2 WHERE id = $1", account_id, status)
    out = await get_account(conn, account_id)
    outbox.add(
        EventRow(
            "account.status_changed",
            "account",
            str(account_id),
            {"account_id": str(account_id), "from": ledger["status"], "to": status},
        ),
        datetime.now(UTC),
    )
    return out


_HISTORY = """
SELECT j.seq, j.transfer_id, j.side, j.amount, j.balance_after, j.created_at,
       coalesce(p.kind, CASE WHEN pf.id IS NOT NULL THEN 'fee' END, 'ledger') AS kind,
       coalesce(p.memo, CASE WHEN pf.id IS NOT NULL THEN 'Fee for transfer ' || pf.id END) AS memo,
       CASE WHEN j.side = 'D' THEN p.to_account_id ELSE p.from_account_id END AS counterparty
FROM journal_entries j
LEFT JOIN payments p ON p.id = j.transfer_id
LEFT JOIN payments pf ON pf.fee_transfer_id = j.transfer_id
WHERE j.account_id = $1 AND ($2::bigint IS NULL OR j.seq < $2)
ORDER BY j.seq DESC
LIMIT $3
"""


async def list_transactions(
    conn: asyncpg.Connection | asyncpg.Pool, account_id: uuid.UUID, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The account's posted history, newest first, `balance_after` each entry."""
    before = decode_cursor(cursor)
    rows = await conn.fetch(_HISTORY, account_id, before, limit + 1)
    items = [
        {
            "transfer_id": str(row["transfer_id"]),
            "direction": "debit" if row["side"] == "D" else "credit",
            "amount": row["amount"],
            "balance_after": row["balance_after"],
            "kind": row["kind"],
            "memo": row["memo"],
            "counterparty_account_id": str(row["counterparty"]) if row["counterparty"] else None,
            "created_at": row["created_at"].isoformat(),
        }
        for row in rows[:limit]
    ]
    next_cursor = encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
    return {"items": items, "next_cursor": next_cursor}
