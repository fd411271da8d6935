"""The bank's chart of accounts: the roles ledger accounts play, and the bank's own books."""

from __future__ import annotations

import enum
import uuid

import asyncpg

from neobank.ledger.domain import AccountFlags

__all__ = ["AccountCode", "bank_account_id", "ensure_bank_books"]

_NAMESPACE = uuid.UUID("6f1c1e52-5a0b-4c57-9a51-3b0f1d2c0a10")


class AccountCode(enum.IntEnum):
    CASH = 1000  # asset: the vault and incoming funds
    SETTLEMENT = 1100  # asset: the clearing house settlement account
    LOAN_RECEIVABLE = 1200  # asset
    INTEREST_RECEIVABLE = 1210  # asset: interest a loan has earned and not yet been paid
    CUSTOMER_DEPOSIT = 2000  # liability: what the bank owes its depositors
    FEE_INCOME = 4000  # income
    INTEREST_INCOME = 4100  # income
    PROMOTION_EXPENSE = 5000  # expense
    VERIFICATION_EXPENSE = 5100  # expense: 1 KRW account checks sent to other banks


BANK_BOOKS = (
    AccountCode.CASH,
    AccountCode.SETTLEMENT,
    AccountCode.FEE_INCOME,
    AccountCode.INTEREST_INCOME,
    AccountCode.PROMOTION_EXPENSE,
    AccountCode.VERIFICATION_EXPENSE,
)


def bank_account_id(code: AccountCode, currency: str) -> uuid.UUID:
    """The well-known id of one of the bank's own accounts in a currency."""
    return uuid.uuid5(_NAMESPACE, f"{int(code)}:{currency}")


async def ensure_bank_books(conn: asyncpg.Connection | asyncpg.Pool, currency: str) -> None:
    """Open the bank's own accounts in a currency (idempotent)."""
    await conn.execute(
        """
        INSERT INTO ledger_accounts (id, currency, code, flags)
        SELECT id, $2, code, $3 FROM unnest($1::uuid[], $4::int[]) AS u(id, code)
        ON CONFLICT (id) DO NOTHING
        """,
        [bank_account_id(code, currency) for code in BANK_BOOKS],
        currency,
        int(AccountFlags.NONE),
        [int(code) for code in BANK_BOOKS],
    )
