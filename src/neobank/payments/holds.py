"""Holds: money reserved on a deposit account, then captured (in full or in part), voided, or
left to expire. This module holds the record and its SQL; `hold_service` the use cases.

A hold is a ledger pending transfer from the customer's account to the bank's settlement
account, so it lowers the account's available balance at once and its balance only when
captured. A capture posts the pending transfer (the rest of the hold is released); a void, or
the ledger's expiry worker after `timeout_seconds`, releases it all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg

from neobank.db.sql import in_ids
from neobank.deposits.service import account_owners
from neobank.events import EventRow
from neobank.ledger import store as ledger_store
from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.domain import TransferFlags, TransferSpec
from neobank.pagination import decode_cursor, encode_cursor
from neobank.payments.errors import (
    HoldAlreadyResolved,
    HoldExpired,
    HoldNotFound,
    PaymentAccountNotFound,
)
from neobank.payments.orders import TransferCode

__all__ = [
    "CAPTURE_KIND",
    "Hold",
    "get_hold",
    "insert_holds",
    "list_holds",
    "load_hold",
    "resolve_holds",
]

# The kind of the payment a capture becomes in the account's history.
CAPTURE_KIND = "hold_capture"


@dataclass(frozen=True)
class Hold:
    id: uuid.UUID
    account_id: uuid.UUID
    amount: int
    currency: str
    memo: str | None
    status: str  # pending, captured or voided as stored; expired once the ledger voided it
    captured_amount: int | None
    resolution_transfer_id: uuid.UUID | None
    timeout_seconds: int
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None

    @property
    def settlement_id(self) -> uuid.UUID:
        return bank_account_id(AccountCode.SETTLEMENT, self.currency)

    def status_at(self, now: datetime) -> str:
        """A pending hold past its expiry is expired, whether or not the worker voided it yet."""
        if self.status == "pending" and self.expires_at <= now:
            return "expired"
        return self.status

    def check_resolvable(self, now: datetime) -> None:
        status = self.status_at(now)
        if status == "expired":
            raise HoldExpired()
        if status != "pending":
            raise HoldAlreadyResolved(f"the hold is {status}")

    def resolution(self, flag: TransferFlags, amount: int) -> TransferSpec:
        """The ledger transfer that posts (part of) or voids the pending transfer."""
        return TransferSpec(
            id=uuid.uuid4(),
            debit_account_id=self.account_id,
            credit_account_id=self.settlement_id,
            amount=amount,
            currency=self.currency,
            code=int(TransferCode.HOLD),
            flags=int(flag),
            pending_id=self.id,
        )

    def out(self, now: datetime) -> dict[str, Any]:
        captured = self.status == "captured"
        return {
            "id": str(self.id),
            "status": self.status_at(now),
            "account_id": str(self.account_id),
            "amount": self.amount,
            "currency": self.currency,
            "memo": self.memo,
            "captured_amount": self.captured_amount,
            "capture_transfer_id": str(self.resolution_transfer_id) if captured else None,
            "timeout_seconds": self.timeout_seconds,
            "expires_at": self.expires_at.isoformat(),
            "created_at": self.created_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }

    def row(self) -> tuple[Any, ...]:
        """The columns `insert_holds` writes."""
        return (
            self.id,
            self.account_id,
            self.amount,
            self.currency,
            self.memo,
            self.timeout_seconds,
            self.expires_at,
            self.created_at,
        )

    def event(self, event_type: str, now: datetime) -> EventRow:
        return EventRow(event_type, "hold", str(self.id), self.out(now))


async def insert_holds(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    columns = list(zip(*rows, strict=True))
    await conn.execute(
        """
        INSERT INTO holds (id, account_id, amount, currency, memo, timeout_seconds, expires_at,
                           created_at)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[],
                             $6::int[], $7::timestamptz[], $8::timestamptz[])
        """,
        *[list(column) for column in columns],
    )


async def resolve_holds(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    columns = list(zip(*rows, strict=True))
    await conn.execute(
        """
        UPDATE holds h SET status = u.status, captured_amount = u.captured,
            resolution_transfer_id = u.transfer_id, resolved_at = u.at
        FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::uuid[], $5::timestamptz[])
            AS u(id, status, captured, transfer_id, at)
        WHERE h.id = u.id
        """,
        *[list(column) for column in columns],
    )


_COLUMNS = (
    "id, account_id, amount, currency, memo, status, captured_amount, resolution_transfer_id, "
    "timeout_seconds, expires_at, created_at, resolved_at"
)


async def _as_of_ledger(conn: asyncpg.Connection | asyncpg.Pool, holds: list[Hold]) -> list[Hold]:
    """Captures and voids are recorded here with the money; a pending hold the ledger has
    resolved anyway was voided by its expiry worker (whose clock may run ahead of ours)."""
    pending_ids = [h.id for h in holds if h.status == "pending"]
    if not pending_ids:
        return holds
    pendings = await ledger_store.load_pendings(conn, pending_ids)
    resolved = [i for i in pending_ids if i in pendings and pendings[i].resolved]
    if not resolved:
        return holds
    # Read the rows again, after the ledger: a capture or void commits its row with its ledger
    # transfer, so only a hold the expiry worker voided can still read pending now.
    rows = await conn.fetch(f"SELECT {_COLUMNS} FROM holds WHERE id {in_ids()}", resolved)
    fresh = {row["id"]: Hold(*row.values()) for row in rows}
    for hold_id, hold in fresh.items():
        if hold.status == "pending":
            fresh[hold_id] = replace(hold, status="expired")
    return [fresh.get(h.id, h) for h in holds]


async def load_hold(conn: asyncpg.Connection | asyncpg.Pool, hold_id: uuid.UUID) -> Hold | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM holds WHERE id = $1", hold_id)
    if row is None:
        return None
    (hold,) = await _as_of_ledger(conn, [Hold(*row.values())])
    return hold


async def get_hold(
    conn: asyncpg.Connection | asyncpg.Pool, hold_id: uuid.UUID, customer_id: uuid.UUID | None
) -> dict[str, Any]:
    """The hold as it stands; a customer sees only holds on their own accounts."""
    hold = await load_hold(conn, hold_id)
    if hold is None:
        raise HoldNotFound()
    if customer_id is not None:
        owners = await account_owners(conn, [hold.account_id])
        if owners.get(hold.account_id, (None, ""))[0] != customer_id:
            raise HoldNotFound()
    return hold.out(datetime.now(UTC))


async def list_holds(
    conn: asyncpg.Connection | asyncpg.Pool,
    account_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> dict[str, Any]:
    """An account's holds, newest first; a customer lists only their own accounts'."""
    owner = (await account_owners(conn, [account_id])).get(account_id)
    if owner is None or (customer_id is not None and owner[0] != customer_id):
        raise PaymentAccountNotFound()
    before = decode_cursor(cursor)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS}, seq FROM holds WHERE account_id = $1 "
        "AND ($2::bigint IS NULL OR seq < $2) ORDER BY seq DESC LIMIT $3",
        account_id,
        before,
        limit + 1,
    )
    holds = await _as_of_ledger(conn, [Hold(*list(row.values())[:-1]) for row in rows[:limit]])
    now = datetime.now(UTC)
    next_cursor = encode_cursor(rows[limit - 1]["seq"]) if len(rows) > limit else None
    return {"items": [h.out(now) for h in holds], "next_cursor": next_cursor}
