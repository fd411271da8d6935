"""Loan applications: submit (202 at once, decided in the background by
`neobank.lending.application_jobs`), read, list and cancel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from neobank.api.deps import Principal
from neobank.customers.errors import CustomerNotFound
from neobank.deposits.errors import AccountNotFound
from neobank.events import EventRow, write_events
from neobank.lending import catalog
from neobank.lending.errors import (
    AccountNotEligible,
    ApplicationClosed,
    ApplicationNotFound,
    InvalidLoanResidentId,
    LoanTermsOutOfRange,
    ResidentIdRequired,
)
from neobank.lending.schemas import ApplicationIn
from neobank.onboarding.sealing import Sealer
from neobank.onboarding.service import AGENCY_QUEUE
from neobank.pagination import decode_cursor, encode_cursor
from neobank.resident_id import parse_resident_id
from neobank.workers.queue import defer_in_transaction

__all__ = [
    "AGENCY_QUEUE",
    "AGGREGATE",
    "DECIDE_TASK",
    "cancel",
    "list_for_customer",
    "load",
    "submit",
    "view",
]

DECIDE_TASK = "lending.decide_application"
INQUIRY_KEY_PREFIX = "la-"
CANCEL_BY_CUSTOMER = "customer_request"
CANCEL_BY_OPS = "ops_request"
OFFER_EXPIRED = "offer_expired"
AGGREGATE = "loan_application"


def _decision_view(row: asyncpg.Record) -> dict[str, Any] | None:
    if row["decided_at"] is None or row["bureau"] is None:
        return None
    guarantee = row["guarantee"]
    return {
        "bureau_score": row["bureau"]["score"],
        "guarantee": (
            {k: guarantee[k] for k in ("covered", "reason", "fee_rate_bps", "coverage_bps")}
            if guarantee is not None
            else None
        ),
        "rate_bps": row["rate_bps"],
        "limit": row["limit_minor"],
        "reasons": list(row["reasons"] or ()),
    }


def _expired(row: asyncpg.Record, now: datetime) -> bool:
    expires_at: datetime | None = row["offer_expires_at"]
    return row["status"] == "approved" and expires_at is not None and expires_at <= now


def view(row: asyncpg.Record, now: datetime) -> dict[str, Any]:
    """The application as API.md shows it. An offer past its expiry reads as cancelled even
    before the periodic job has moved it (the job runs once a minute)."""
    status, cancel_reason = row["status"], row["cancel_reason"]
    if _expired(row, now):
        status, cancel_reason = "cancelled", OFFER_EXPIRED
    return {
        "id": str(row["id"]),
        "status": status,
        "stage": row["stage"],
        "customer_id": str(row["customer_id"]),
        "account_id": str(row["account_id"]),
        "product": row["product_code"],
        "product_version": row["product_version"],
        "amount": row["amount"],
        "term_months": row["term_months"],
        "annual_income": row["annual_income"],
        "created_at": row["created_at"].isoformat(),
        "decided_at": row["decided_at"].isoformat() if row["decided_at"] else None,
        "offer_expires_at": (
            row["offer_expires_at"].isoformat() if row["offer_expires_at"] else None
        ),
        "cancel_reason": cancel_reason,
        "loan_id": str(row["loan_id"]) if row["loan_id"] else None,
        "agency_attempts": row["agency_attempts"],
        "last_agency_error": row["last_agency_error"],
        "decision": _decision_view(row),
    }


async def _resident_id_sealed(
    conn: asyncpg.Connection, sealer: Sealer, customer_id: uuid.UUID, given: str | None
) -> bytes:
    """The verified number of the customer's completed onboarding (copied as sealed: same
    key, same purpose), or else the one in the body, checked and sealed."""
    on_file: bytes | None = await conn.fetchval(
        "SELECT resident_id_sealed FROM onboardings WHERE customer_id = $1 AND status = "
        "'completed' ORDER BY updated_at DESC LIMIT 1",
        customer_id,
    )
    if on_file is not None:
        return on_file
    if given is None:
        raise ResidentIdRequired()
    parsed = parse_resident_id(given)
    if parsed is None:
        raise InvalidLoanResidentId()
    return sealer.seal(parsed.digits)


async def submit(
    conn: asyncpg.Connection,
    sealer: Sealer,
    caller: Principal,
    body: ApplicationIn,
    now: datetime,
) -> dict[str, Any]:
    """Check and store the application, queue its decision job (caller's transaction)."""
    if not caller.may_touch(body.customer_id):
        raise CustomerNotFound()  # as for one that does not exist: a token learns nothing
    product = await catalog.current_product(conn, body.product, now)
    if not product.terms_in_range(body.amount, body.term_months):
        raise LoanTermsOutOfRange(
            f"{product.code}: amount {product.amount_min}-{product.amount_max}, "
            f"term {product.term_months_min}-{product.term_months_max} months"
        )
    if await conn.fetchval("SELECT 1 FROM customers WHERE id = $1", body.customer_id) is None:
        raise CustomerNotFound()
    account = await conn.fetchrow(
        "SELECT customer_id, currency, status FROM accounts WHERE id = $1", body.account_id
    )
    if account is None or not caller.may_touch(account["customer_id"]):
        raise AccountNotFound()
    if account["customer_id"] != body.customer_id:
        raise AccountNotEligible("The account belongs to another customer")
    if account["status"] != "active" or account["currency"] != product.currency:
        raise AccountNotEligible(f"An active {product.currency} account is needed")
    sealed = await _resident_id_sealed(conn, sealer, body.customer_id, body.resident_id)
    application_id = uuid.uuid4()
    row = await conn.fetchrow(
        """
        INSERT INTO loan_applications (id, customer_id, account_id, product_code,
            product_version, amount, term_months, annual_income, resident_id_sealed, status,
            stage, inquiry_key, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', 'queued', $10, $11, $11)
        RETURNING *
        """,
        application_id,
        body.customer_id,
        body.account_id,
        product.code,
        product.version,
        body.amount,
        body.term_months,
        body.annual_income,
        sealed,
        f"{INQUIRY_KEY_PREFIX}{application_id}",
        now,
    )
    await defer_in_transaction(
        conn,
        DECIDE_TASK,
        {"application_id": str(application_id)},
        queueing_lock=f"loan-application:{application_id}",
        queue=AGENCY_QUEUE,
    )
    out = view(row, now)
    payload = {
        "customer_id": out["customer_id"],
        "account_id": out["account_id"],
        "product": product.code,
        "product_version": product.version,
        "amount": body.amount,
        "term_months": body.term_months,
        "annual_income": body.annual_income,
    }
    await _event(conn, "loan.applied", application_id, payload, now)
    return out


async def load(
    conn: asyncpg.Connection | asyncpg.Pool, application_id: uuid.UUID, caller: Principal
) -> asyncpg.Record:
    row = await conn.fetchrow("SELECT * FROM loan_applications WHERE id = $1", application_id)
    if row is None or not caller.may_touch(row["customer_id"]):
        raise ApplicationNotFound()
    return row


async def list_for_customer(
    conn: asyncpg.Connection | asyncpg.Pool,
    customer_id: uuid.UUID,
    limit: int,
    cursor: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Newest first; the cursor is an offset (a customer has few applications)."""
    offset = decode_cursor(cursor) or 0
    rows = await conn.fetch(
        "SELECT * FROM loan_applications WHERE customer_id = $1"
        " ORDER BY created_at DESC, id OFFSET $2 LIMIT $3",
        customer_id,
        offset,
        limit + 1,
    )
    more = len(rows) > limit
    return {
        "items": [view(r, now) for r in rows[:limit]],
        "next_cursor": encode_cursor(offset + limit) if more else None,
    }


async def cancel(
    conn: asyncpg.Connection, application_id: uuid.UUID, caller: Principal, now: datetime
) -> dict[str, Any]:
    """Withdraw a pending application or decline an offer (caller's transaction). A decided
    decline or an accepted offer cannot be cancelled; cancelling twice answers the same."""
    row = await conn.fetchrow(
        "SELECT * FROM loan_applications WHERE id = $1 FOR UPDATE", application_id
    )
    if row is None or not caller.may_touch(row["customer_id"]):
        raise ApplicationNotFound()
    if row["status"] == "cancelled" or _expired(row, now):
        return view(row, now)
    if row["status"] not in ("pending", "approved"):
        raise ApplicationClosed(f"The application is {row['status']}")
    reason = CANCEL_BY_OPS if caller.is_ops else CANCEL_BY_CUSTOMER
    row = await conn.fetchrow(
        "UPDATE loan_applications SET status = 'cancelled', cancel_reason = $2, updated_at = $3"
        " WHERE id = $1 RETURNING *",
        application_id,
        reason,
        now,
    )
    body = {"reason": reason, "was": "pending" if row["decided_at"] is None else "approved"}
    await _event(conn, "loan.application_cancelled", application_id, body, now)
    return view(row, now)


async def _event(
    conn: asyncpg.Connection,
    kind: str,
    application_id: uuid.UUID,
    payload: dict[str, Any],
    now: datetime,
) -> None:
    await write_events(conn, [EventRow(kind, AGGREGATE, str(application_id), payload)], now)
