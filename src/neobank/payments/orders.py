"""A payment order: one transfer as the customer sees it, and the ledger transfers it becomes."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any, NamedTuple

import asyncpg

from neobank.db.sql import in_ids
from neobank.db.statement import WriteStatement
from neobank.events import EventRow
from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.domain import TransferFlags, TransferSpec
from neobank.ledger.store import COPY_TRANSFERS_MIN
from neobank.payments.fees import FeeQuote, Promotion

__all__ = [
    "COPY_PAYMENTS_MIN",
    "PaymentOrder",
    "TransferCode",
    "add_payments",
    "copy_payments",
    "fee_transfer_id",
    "stored_quotes",
]


class TransferCode(enum.IntEnum):
    """Ledger transfer codes used by payments (the `code` column of transfers)."""

    INTERNAL = 1
    DEPOSIT = 2
    FEE = 3
    INTERBANK = 4
    ATM_WITHDRAWAL = 5
    PARTNER = 6
    HOLD = 7


_CODES = {
    "internal": int(TransferCode.INTERNAL),
    "deposit": int(TransferCode.DEPOSIT),
    "interbank": int(TransferCode.INTERBANK),
    "atm_withdrawal": int(TransferCode.ATM_WITHDRAWAL),
    "partner": int(TransferCode.PARTNER),
}


# The flags as plain ints: enum.Flag arithmetic is slow, and this runs for every batch item.
_DAILY_LIMIT = int(TransferFlags.DAILY_LIMIT)
_LINKED = int(TransferFlags.LINKED)
_NO_FLAGS = int(TransferFlags.NONE)


def fee_transfer_id(payment_id: uuid.UUID) -> uuid.UUID:
    """The fee's ledger transfer id follows from the payment's, so a retried batch item
    rebuilds exactly the same chain."""
    return uuid.uuid5(payment_id, "fee")


class PaymentOrder(NamedTuple):
    """Immutable; a NamedTuple because a batch builds one an item (see
    `neobank.ledger.values.TransferSpec`)."""

    id: uuid.UUID
    kind: str
    from_account_id: uuid.UUID | None  # None: money comes in from the bank's cash
    to_account_id: uuid.UUID
    amount: int
    currency: str
    memo: str | None
    fee: FeeQuote

    def chain(self) -> list[TransferSpec]:
        """The principal transfer and, when a fee is charged, the fee linked to it."""
        debit = self.from_account_id or bank_account_id(AccountCode.CASH, self.currency)
        principal_flags = _DAILY_LIMIT if self.from_account_id else _NO_FLAGS
        principal = TransferSpec(
            id=self.id,
            debit_account_id=debit,
            credit_account_id=self.to_account_id,
            amount=self.amount,
            currency=self.currency,
            code=_CODES[self.kind],
            flags=principal_flags | (_LINKED if self.fee.charged else 0),
        )
        if not self.fee.charged:
            return [principal]
        assert self.from_account_id is not None, "only transfers out of an account pay fees"
        fee = TransferSpec(
            id=fee_transfer_id(self.id),
            debit_account_id=self.from_account_id,
            credit_account_id=bank_account_id(AccountCode.FEE_INCOME, self.currency),
            amount=self.fee.charged,
            currency=self.currency,
            code=int(TransferCode.FEE),
        )
        return [principal, fee]

    def fee_out(self) -> dict[str, Any]:
        return {
            "amount": self.fee.charged,
            "waived_amount": self.fee.waived,
            "promotion": self.fee.promotion.name if self.fee.promotion else None,
        }

    def out(self, created_at: datetime) -> dict[str, Any]:
        """The answer's transfer."""
        return {
            "id": str(self.id),
            "status": "posted",
            "from_account_id": str(self.from_account_id) if self.from_account_id else None,
            "to_account_id": str(self.to_account_id),
            "amount": self.amount,
            "currency": self.currency,
            "kind": self.kind,
            "memo": self.memo,
            "fee": self.fee_out(),
            "created_at": created_at.isoformat(),
        }

    def posted_event(self, body: dict[str, Any]) -> EventRow:
        payload = {**body, "fee_gross": self.fee.gross}
        if self.fee.promotion:
            payload["promotion_id"] = str(self.fee.promotion.id)
        return EventRow("transfer.posted", "transfer", str(self.id), payload)

    def event_row(self) -> list[Any]:
        """The order as a row of a batch's event (`neobank.payments.batch_event`)."""
        # The ids stay UUIDs: orjson writes them as strings when the event is stored.
        return [
            self.id,
            self.from_account_id,
            self.to_account_id,
            self.amount,
            self.currency,
            self.memo,
            self.fee.charged,
            self.fee.waived,
            self.fee.gross,
            str(self.fee.promotion.id) if self.fee.promotion else None,
        ]

    def rejected_event(self, code: str) -> EventRow:
        return EventRow(
            "transfer.rejected",
            "transfer",
            str(self.id),
            {
                "id": str(self.id),
                "kind": self.kind,
                "from_account_id": str(self.from_account_id) if self.from_account_id else None,
                "to_account_id": str(self.to_account_id),
                "amount": self.amount,
                "currency": self.currency,
                # The fee the transfer would have paid: what the refusal cost the bank.
                "fee": self.fee_out(),
                "fee_gross": self.fee.gross,
                "code": code,
            },
        )

    def row(self, created_at: datetime) -> tuple[Any, ...]:
        return (
            self.id,
            self.kind,
            self.from_account_id,
            self.to_account_id,
            self.amount,
            self.currency,
            self.memo,
            self.fee.charged,
            self.fee.waived,
            self.fee.promotion.id if self.fee.promotion else None,
            fee_transfer_id(self.id) if self.fee.charged else None,
            created_at,
        )


# A payment's row: its columns in the table, as `PaymentOrder.row` gives them.
_PAYMENT_ROW = (
    ("id", "uuid"),
    ("kind", "text"),
    ("from_account_id", "uuid"),
    ("to_account_id", "uuid"),
    ("amount", "bigint"),
    ("currency", "text"),
    ("memo", "text"),
    ("fee_amount", "bigint"),
    ("fee_waived_amount", "bigint"),
    ("promotion_id", "uuid"),
    ("fee_transfer_id", "uuid"),
    ("created_at", "timestamptz"),
)
_PAYMENT_COLUMNS = tuple(name for name, _ in _PAYMENT_ROW)
# From this many payments on, a submission copies its payment rows (binary COPY, a round trip
# of its own) instead of adding them to the batch's one statement: COPY cost the API process
# less than half as much as array parameters (1.5-2.5 against 3.3-5.8 µs a payment, 8,190
# rows, 2026-11-25), and spares PostgreSQL the parsing of thousands of JSON rows, which is
# how the statement now takes rows (`WriteStatement.rows`).
COPY_PAYMENTS_MIN = COPY_TRANSFERS_MIN


def add_payments(statement: WriteStatement, rows: list[tuple[Any, ...]]) -> None:
    """Row part for the ledger engine: a batch's payments join its one write statement."""
    statement.add(
        f"""
        INSERT INTO payments ({", ".join(_PAYMENT_COLUMNS)})
        SELECT * FROM {statement.rows(_PAYMENT_ROW, rows)}
        """
    )


async def copy_payments(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Row writer for the ledger engine: a big submission's payments, copied."""
    await conn.copy_records_to_table("payments", columns=_PAYMENT_COLUMNS, records=rows)


async def stored_quotes(
    conn: asyncpg.Connection | asyncpg.Pool, payment_ids: list[uuid.UUID]
) -> dict[uuid.UUID, FeeQuote]:
    """The fees that payments already stored were charged. A resubmitted batch item must rebuild
    its chain with the fee it had then (its flags say whether a fee is linked), or a fee rule
    changed since would make the ledger answer "exists with different fields"."""
    rows = await conn.fetch(
        f"""
        SELECT p.id, p.fee_amount, p.fee_waived_amount, pr.id AS promotion_id, pr.name,
               pr.kinds, pr.waive_percent, pr.starts_at, pr.ends_at
        FROM payments p LEFT JOIN promotions pr ON pr.id = p.promotion_id
        WHERE p.id {in_ids()}
        """,
        payment_ids,
    )
    quotes = {}
    for r in rows:
        promotion = None
        if r["promotion_id"] is not None:
            promotion = Promotion(
                r["promotion_id"],
                r["name"],
                tuple(r["kinds"]),
                r["waive_percent"],
                r["starts_at"],
                r["ends_at"],
            )
        gross = r["fee_amount"] + r["fee_waived_amount"]
        quotes[r["id"]] = FeeQuote(gross, r["fee_waived_amount"], promotion)
    return quotes
