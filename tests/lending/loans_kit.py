"""Helpers of the loan tests: approved applications written straight into the table (the
application pipeline has tests of its own), accepting them, and reading the books."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from neobank.lending.booking import interest_account_id

OFFER_TTL = timedelta(days=7)


async def approved_application(
    db: asyncpg.Connection,
    customer_id: object,
    account_id: object,
    *,
    product: str = "credit_loan",
    limit: int = 12_000_000,
    rate_bps: int = 600,
    term_months: int = 12,
    expires_at: datetime | None = None,
) -> uuid.UUID:
    """An application approved a moment ago, as the decision job would leave it."""
    app_id = uuid.uuid4()
    now = datetime.now(UTC)
    await db.execute(
        """
        INSERT INTO loan_applications (id, customer_id, account_id, product_code,
            product_version, policy_version, amount, term_months, annual_income, status, stage,
            inquiry_key, bureau, rate_bps, limit_minor, reasons, offer_expires_at, created_at,
            updated_at, decided_at)
        VALUES ($1, $2, $3, $4, 1, 1, $5, $6, 60000000, 'approved', 'decided', $7,
            '{"score": 800}'::jsonb, $8, $5, '{}', $9, $10, $10, $10)
        """,
        app_id,
        uuid.UUID(str(customer_id)),
        uuid.UUID(str(account_id)),
        product,
        limit,
        term_months,
        f"la-{app_id}",
        rate_bps,
        expires_at or now + OFFER_TTL,
        now,
    )
    return app_id


async def ledger_balance(db: asyncpg.Connection, account_id: uuid.UUID) -> int:
    """Debits minus credits (an asset account's balance)."""
    value = await db.fetchval(
        "SELECT debits_posted - credits_posted FROM ledger_accounts WHERE id = $1", account_id
    )
    return int(value or 0)


async def receivables(db: asyncpg.Connection, loan_id: uuid.UUID) -> tuple[int, int]:
    """The loan's principal and interest receivable balances in the ledger."""
    return (
        await ledger_balance(db, loan_id),
        await ledger_balance(db, interest_account_id(loan_id)),
    )


def seoul_noon(day: date) -> datetime:
    """A moment inside a business date (Korea), for calling the services as of that day."""
    return datetime(day.year, day.month, day.day, 3, 0, tzinfo=UTC)


def idem() -> dict[str, Any]:
    return {"Idempotency-Key": uuid.uuid4().hex}
