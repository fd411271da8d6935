"""Loan applications: submit (202 at once, decided in the background), read, list, cancel,
and the steps the decision job records (bureau report, guarantee quote, decision).

Each step commits on its own, so a job that dies resumes at the next step and never repeats
a finished agency call; every step is guarded by the application's status, so a job that runs
twice (a retry after a crash, a requeued stalled job) changes nothing the second time.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from neobank.agencies.client import AgencyError, BureauReport, GuaranteeQuote
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
from neobank.lending.policy import (
    ApplicationFacts,
    BureauFacts,
    Decision,
    GuaranteeFacts,
    decide,
)
from neobank.lending.schemas import ApplicationIn
from neobank.onboarding.sealing import Sealer
from neobank.onboarding.service import AGENCY_QUEUE
from neobank.pagination import decode_cursor, encode_cursor
from neobank.resident_id import parse_resident_id
from neobank.workers.queue import defer_in_transaction

__all__ = [
    "AGENCY_QUEUE",
    "DECIDE_TASK",
    "agency_trouble",
    "cancel",
    "decide_and_record",
    "enter_stage",
    "list_for_customer",
    "load",
    "load_for_job",
    "record_bureau",
    "record_guarantee",
    "submit",
    "view",
]

DECIDE_TASK = "lending.decide_application"
INQUIRY_KEY_PREFIX = "la-"
AGENCY_ERROR_TEXT_MAX = 200
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


# --- the decision job's steps ---------------------------------------------------------------


async def load_for_job(pool: asyncpg.Pool, application_id: uuid.UUID) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await pool.fetchrow(
        "SELECT a.*, c.name AS customer_name FROM loan_applications a"
        " JOIN customers c ON c.id = a.customer_id WHERE a.id = $1",
        application_id,
    )
    return row


async def enter_stage(
    pool: asyncpg.Pool, application_id: uuid.UUID, stage: str, now: datetime
) -> None:
    """Say honestly where a pending application is, before the agency call of that stage."""
    await pool.execute(
        "UPDATE loan_applications SET stage = $2, updated_at = $3"
        " WHERE id = $1 AND status = 'pending' AND stage <> $2",
        application_id,
        stage,
        now,
    )


async def agency_trouble(
    pool: asyncpg.Pool, application_id: uuid.UUID, error: AgencyError, now: datetime
) -> None:
    """Count a failed agency call; the application stays pending (the job retries)."""
    text = f"{error.agency}: {error.code}"[:AGENCY_ERROR_TEXT_MAX]
    await pool.execute(
        "UPDATE loan_applications SET agency_attempts = agency_attempts + 1,"
        " last_agency_error = $2, updated_at = $3 WHERE id = $1 AND status = 'pending'",
        application_id,
        text,
        now,
    )


async def _record_step(
    pool: asyncpg.Pool,
    application_id: uuid.UUID,
    column: str,
    data: dict[str, Any],
    next_stage: str,
    event: EventRow,
    now: datetime,
) -> asyncpg.Record | None:
    """Store one agency's answer once (a second run of the step finds it stored)."""
    async with pool.acquire() as conn, conn.transaction():
        row: asyncpg.Record | None = await conn.fetchrow(
            f"UPDATE loan_applications SET {column} = $2, stage = $3, updated_at = $4"
            f" WHERE id = $1 AND status = 'pending' AND {column} IS NULL RETURNING *",
            application_id,
            data,
            next_stage,
            now,
        )
        if row is not None:
            await write_events(conn, [event], now)
    return row


async def record_bureau(
    pool: asyncpg.Pool,
    application_id: uuid.UUID,
    report: BureauReport,
    next_stage: str,
    now: datetime,
) -> asyncpg.Record | None:
    data = asdict(report)
    event = EventRow("loan.bureau_inquired", AGGREGATE, str(application_id), data)
    return await _record_step(pool, application_id, "bureau", data, next_stage, event, now)


async def record_guarantee(
    pool: asyncpg.Pool, application_id: uuid.UUID, quote: GuaranteeQuote, now: datetime
) -> asyncpg.Record | None:
    data = asdict(quote)
    event = EventRow("loan.guarantee_quoted", AGGREGATE, str(application_id), data)
    return await _record_step(pool, application_id, "guarantee", data, "deciding", event, now)


_BANK_EXPOSURE = """
SELECT coalesce(sum(CASE WHEN l.kind = 'revolving' THEN l.principal
                         ELSE coalesce(r.debits_posted - r.credits_posted, l.principal) END), 0)
FROM loans l LEFT JOIN ledger_accounts r ON r.id = l.receivable_account_id
WHERE l.customer_id = $1 AND l.status = 'active'
"""


async def bank_exposure(conn: asyncpg.Connection, customer_id: uuid.UUID) -> int:
    """What the customer owes this bank now: installment loans' principal outstanding (from
    the ledger) and revolving lines at their full limit (they may be drawn at any time)."""
    return int(await conn.fetchval(_BANK_EXPOSURE, customer_id))


def _facts(row: asyncpg.Record, exposure: int) -> tuple[ApplicationFacts, BureauFacts]:
    bureau = row["bureau"]
    return (
        ApplicationFacts(
            product_code=row["product_code"],
            amount_minor=row["amount"],
            term_months=row["term_months"],
            annual_income_minor=row["annual_income"],
            bank_exposure_minor=exposure,
        ),
        BureauFacts(
            score=bureau["score"],
            grade=bureau["grade"],
            open_loans=bureau["open_loans"],
            delinquencies=bureau["delinquencies"],
            total_debt=bureau["total_debt"],
        ),
    )


async def decide_and_record(
    pool: asyncpg.Pool, application_id: uuid.UUID, now: datetime
) -> Decision | None:
    """Decide by the product version applied for and the policy in force now, in one
    transaction with its event. None if the application was no longer pending."""
    async with pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM loan_applications WHERE id = $1 FOR UPDATE", application_id
        )
        if row is None or row["status"] != "pending" or row["bureau"] is None:
            return None
        product = await catalog.product_version(conn, row["product_code"], row["product_version"])
        policy = await catalog.current_policy(conn, now)
        facts, bureau = _facts(row, await bank_exposure(conn, row["customer_id"]))
        quote = row["guarantee"]
        guarantee = (
            GuaranteeFacts(
                quote["covered"], quote["reason"], quote["fee_rate_bps"], quote["coverage_bps"]
            )
            if quote is not None
            else None
        )
        decision = decide(product, policy, facts, bureau, guarantee)
        expires_at = now + timedelta(seconds=product.offer_ttl_s) if decision.approved else None
        await conn.execute(
            """
            UPDATE loan_applications SET status = $2, stage = 'decided', policy_version = $3,
                rate_bps = $4, limit_minor = $5, reasons = $6, offer_expires_at = $7,
                decided_at = $8, updated_at = $8
            WHERE id = $1
            """,
            application_id,
            "approved" if decision.approved else "declined",
            policy.version,
            decision.rate_bps,
            decision.limit_minor,
            list(decision.reasons),
            expires_at,
            now,
        )
        # Declined applicants too, with what the bank knew: the bank's own scoring model
        # will learn from these.
        payload = {
            "approved": decision.approved,
            "reasons": list(decision.reasons),
            "rate_bps": decision.rate_bps,
            "limit": decision.limit_minor,
            "product": product.code,
            "product_version": product.version,
            "policy_version": policy.version,
            "amount": facts.amount_minor,
            "term_months": facts.term_months,
            "annual_income": facts.annual_income_minor,
            "bank_exposure": facts.bank_exposure_minor,
            "bureau": asdict(bureau),
            "guarantee_covered": guarantee.covered if guarantee else None,
            "offer_expires_at": expires_at.isoformat() if expires_at else None,
        }
        await _event(conn, "loan.decided", application_id, payload, now)
    return decision
