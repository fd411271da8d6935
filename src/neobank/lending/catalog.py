"""The loan catalog and the credit policy as versioned data: what is in force at a moment is
the highest version whose effective_at has come. New versions arrive through maker-checker
(`neobank.ops`); version 1 of each is seeded from the code's defaults at start-up."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg

from neobank.lending.errors import LoanProductNotFound
from neobank.lending.policy import DEFAULT_POLICY, CreditPolicy
from neobank.lending.products import DEFAULT_PRODUCTS, LoanProduct

__all__ = [
    "SEED_EFFECTIVE_AT",
    "add_policy_version",
    "add_product_version",
    "current_policy",
    "current_product",
    "list_products",
    "policy_version",
    "product_version",
    "seed_catalog",
]

# Version 1 has always been in force.
SEED_EFFECTIVE_AT = datetime(2026, 1, 1, tzinfo=UTC)

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool


async def seed_catalog(conn: Conn) -> None:
    """Write version 1 of every default product and of the policy (idempotent)."""
    await conn.executemany(
        """
        INSERT INTO loan_product_versions (code, version, effective_at, body)
        VALUES ($1, 1, $2, $3) ON CONFLICT DO NOTHING
        """,
        [(code, SEED_EFFECTIVE_AT, p.to_data()) for code, p in DEFAULT_PRODUCTS.items()],
    )
    await conn.execute(
        """
        INSERT INTO credit_policy_versions (version, effective_at, body)
        VALUES (1, $1, $2) ON CONFLICT DO NOTHING
        """,
        SEED_EFFECTIVE_AT,
        DEFAULT_POLICY.to_data(),
    )


_CURRENT_PRODUCTS = """
SELECT DISTINCT ON (code) code, version, body FROM loan_product_versions
WHERE effective_at <= $1 ORDER BY code, version DESC
"""


async def list_products(conn: Conn, at: datetime) -> list[LoanProduct]:
    rows = await conn.fetch(_CURRENT_PRODUCTS, at)
    return [LoanProduct.from_data(r["code"], r["version"], r["body"]) for r in rows]


async def current_product(conn: Conn, code: str, at: datetime) -> LoanProduct:
    row = await conn.fetchrow(
        """
        SELECT version, body FROM loan_product_versions
        WHERE code = $1 AND effective_at <= $2 ORDER BY version DESC LIMIT 1
        """,
        code,
        at,
    )
    if row is None:
        raise LoanProductNotFound(f"no loan product {code!r}")
    return LoanProduct.from_data(code, row["version"], row["body"])


async def product_version(conn: Conn, code: str, version: int) -> LoanProduct:
    """The terms an application was made under, whatever is in force now."""
    body = await conn.fetchval(
        "SELECT body FROM loan_product_versions WHERE code = $1 AND version = $2", code, version
    )
    if body is None:
        raise LoanProductNotFound(f"no loan product {code!r} version {version}")
    return LoanProduct.from_data(code, version, body)


async def current_policy(conn: Conn, at: datetime) -> CreditPolicy:
    row = await conn.fetchrow(
        """
        SELECT version, body FROM credit_policy_versions
        WHERE effective_at <= $1 ORDER BY version DESC LIMIT 1
        """,
        at,
    )
    if row is None:
        return DEFAULT_POLICY
    return CreditPolicy.from_data(row["version"], row["body"])


async def policy_version(conn: Conn, version: int) -> CreditPolicy:
    body = await conn.fetchval(
        "SELECT body FROM credit_policy_versions WHERE version = $1", version
    )
    if body is None:
        raise LookupError(f"no credit policy version {version}")
    return CreditPolicy.from_data(version, body)


async def add_product_version(
    conn: asyncpg.Connection,
    code: str,
    body: dict[str, Any],
    effective_at: datetime,
    change_id: uuid.UUID | None,
) -> int:
    """Store the next version of a product (caller's transaction); returns its number."""
    # The lock serialises two approvals of the same product: versions stay gapless.
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('loan_product:' || $1))", code)
    version: int = await conn.fetchval(
        """
        INSERT INTO loan_product_versions (code, version, effective_at, body, change_id)
        SELECT $1::varchar, coalesce(max(version), 0) + 1, $2, $3, $4
        FROM loan_product_versions WHERE code = $1::varchar
        RETURNING version
        """,
        code,
        effective_at,
        body,
        change_id,
    )
    return version


async def add_policy_version(
    conn: asyncpg.Connection, body: dict[str, Any], effective_at: datetime, change_id: uuid.UUID
) -> int:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('credit_policy'))")
    version: int = await conn.fetchval(
        """
        INSERT INTO credit_policy_versions (version, effective_at, body, change_id)
        SELECT coalesce(max(version), 0) + 1, $1, $2, $3 FROM credit_policy_versions
        RETURNING version
        """,
        effective_at,
        body,
        change_id,
    )
    return version
