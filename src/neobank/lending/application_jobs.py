"""The loan application's background job: ask the credit bureau (one stable inquiry key per
application), then the guarantee insurer when the product needs it, then decide; and the
periodic job that expires offers.

Each stage commits on its own (the functions below the task), guarded by the application's
status and by its column still being empty: a job that is retried or requeued after a crash
starts at the first stage not yet recorded and never repeats a finished agency call, and a
job that runs twice changes nothing the second time. Agency trouble (timeouts, 5xx, 429,
an open circuit) is counted on the application, which stays pending with an honest stage,
and the job retries (the onboarding's AgencyRetry: backoff, or the breaker's own time when
it is open); nobody is declined for an agency's fault.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import procrastinate
import structlog
from procrastinate import JobContext

from neobank.agencies.client import (
    AgencyClients,
    AgencyError,
    AgencyRejected,
    BureauReport,
    GuaranteeQuote,
)
from neobank.events import EventRow, write_events
from neobank.lending import applications, catalog
from neobank.lending.applications import AGGREGATE
from neobank.lending.offers import expire_offers
from neobank.lending.policy import (
    ApplicationFacts,
    BureauFacts,
    Decision,
    GuaranteeFacts,
    decide,
)
from neobank.onboarding.jobs import AgencyRetry
from neobank.onboarding.sealing import sealer_for
from neobank.workers.maintenance import EVERY_MINUTE, MAINTENANCE_PRIORITY, MAINTENANCE_QUEUE
from neobank.workers.queue import JobResources, resources_of

__all__ = [
    "EXPIRE_TASK",
    "agency_refused",
    "agency_trouble",
    "bank_exposure",
    "blueprint",
    "decide_and_record",
    "decide_application",
    "enter_stage",
    "expire_offers_job",
    "load_for_job",
    "record_bureau",
    "record_guarantee",
]

log = structlog.get_logger(__name__)

EXPIRE_TASK = "lending.expire_offers"
AGENCY_ERROR_TEXT_MAX = 200
AGENCY_REFUSED = "agency_refused"

blueprint = procrastinate.Blueprint()


def _agencies(resources: JobResources) -> AgencyClients:
    if resources.agencies is None:
        raise RuntimeError("this worker has no agency clients: loan decisions cannot run")
    return resources.agencies


@blueprint.task(
    name=applications.DECIDE_TASK,
    queue=applications.AGENCY_QUEUE,
    pass_context=True,
    retry=AgencyRetry(),
)
async def decide_application(context: JobContext, application_id: str) -> None:
    resources = resources_of(context)
    pool, the_id = resources.pool, uuid.UUID(application_id)
    row = await load_for_job(pool, the_id)
    if row is None or row["status"] != "pending":
        return  # decided, cancelled, or a duplicate run: nothing to do
    product = await catalog.product_version(pool, row["product_code"], row["product_version"])
    agencies = _agencies(resources)
    if row["bureau"] is None:
        await enter_stage(pool, the_id, "bureau", datetime.now(UTC))
        sealer = await sealer_for(pool)
        try:
            report = await agencies.bureau.inquire(
                inquiry_key=row["inquiry_key"],
                resident_id=sealer.open(row["resident_id_sealed"]),
                name=row["customer_name"],
            )
        except AgencyRejected as exc:
            await agency_refused(pool, the_id, exc, datetime.now(UTC))
            return
        except AgencyError as exc:
            await agency_trouble(pool, the_id, exc, datetime.now(UTC))
            raise
        next_stage = "guarantee" if product.guarantee_required else "deciding"
        row = await record_bureau(pool, the_id, report, next_stage, datetime.now(UTC))
        if row is None:
            return  # cancelled meanwhile, or another run recorded it first
    if product.guarantee_required and row["guarantee"] is None:
        assert product.guarantee_product is not None  # LoanProduct checks it
        await enter_stage(pool, the_id, "guarantee", datetime.now(UTC))
        try:
            quote = await agencies.guarantee.quote(
                score=row["bureau"]["score"],
                amount=row["amount"],
                product=product.guarantee_product,
            )
        except AgencyRejected as exc:
            await agency_refused(pool, the_id, exc, datetime.now(UTC))
            return
        except AgencyError as exc:
            await agency_trouble(pool, the_id, exc, datetime.now(UTC))
            raise
        if await record_guarantee(pool, the_id, quote, datetime.now(UTC)) is None:
            return
    decision = await decide_and_record(pool, the_id, datetime.now(UTC))
    if decision is not None:
        log.info(
            "lending.application_decided",
            application_id=application_id,
            approved=decision.approved,
            reasons=decision.reasons,
        )


# --- the stages, each committed on its own ---------------------------------------------------


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


async def agency_refused(
    pool: asyncpg.Pool, application_id: uuid.UUID, error: AgencyRejected, now: datetime
) -> None:
    """The agency refused the request itself (a 4xx: retrying cannot help). The application
    is cancelled with the reason, not declined (no credit decision was taken) and not left
    pending forever; the event tells an engineer what the agency said."""
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetchval(
            "UPDATE loan_applications SET status = 'cancelled', cancel_reason = $2,"
            " last_agency_error = $3, updated_at = $4"
            " WHERE id = $1 AND status = 'pending' RETURNING 1",
            application_id,
            AGENCY_REFUSED,
            f"{error.agency}: {error.agency_code}"[:AGENCY_ERROR_TEXT_MAX],
            now,
        )
        if done:
            body = {
                "reason": AGENCY_REFUSED,
                "agency": error.agency,
                "agency_status": error.agency_status,
                "agency_code": error.agency_code,
            }
            await write_events(
                conn,
                [EventRow("loan.application_cancelled", AGGREGATE, str(application_id), body)],
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
SELECT coalesce((
    SELECT sum(CASE WHEN l.kind = 'revolving' THEN l.principal
                    ELSE coalesce(r.debits_posted - r.credits_posted, l.principal) END)
    FROM loans l LEFT JOIN ledger_accounts r ON r.id = l.receivable_account_id
    WHERE l.customer_id = $1 AND l.status = 'active'), 0)
 + coalesce((
    SELECT sum(a.limit_minor) FROM loan_applications a
    WHERE a.customer_id = $1 AND a.id <> $2 AND a.limit_minor IS NOT NULL
      AND ((a.status = 'approved' AND a.offer_expires_at > $3)
           OR (a.status = 'accepted'
               AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.application_id = a.id)))), 0)
"""


async def bank_exposure(
    conn: asyncpg.Connection, customer_id: uuid.UUID, application_id: uuid.UUID, now: datetime
) -> int:
    """What the customer owes this bank, or may owe at any moment: installment loans'
    principal outstanding (from the ledger), revolving lines at their full limit (they may be
    drawn at any time), and the limits of offers still open or accepted and not yet disbursed
    (else several applications at once would each be approved against the same headroom)."""
    return int(await conn.fetchval(_BANK_EXPOSURE, customer_id, application_id, now))


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
        # One decision per customer at a time: each sees the offers the others made.
        await conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext('lending-exposure:' || $1::uuid::text))",
            row["customer_id"],
        )
        product = await catalog.product_version(conn, row["product_code"], row["product_version"])
        policy = await catalog.current_policy(conn, now)
        exposure = await bank_exposure(conn, row["customer_id"], application_id, now)
        facts, bureau = _facts(row, exposure)
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
        await write_events(
            conn, [EventRow("loan.decided", AGGREGATE, str(application_id), payload)], now
        )
    return decision


@blueprint.periodic(cron=EVERY_MINUTE)
@blueprint.task(
    name=EXPIRE_TASK,
    queue=MAINTENANCE_QUEUE,
    priority=MAINTENANCE_PRIORITY,
    lock=EXPIRE_TASK,
    queueing_lock=EXPIRE_TASK,
    pass_context=True,
)
async def expire_offers_job(context: JobContext, timestamp: int) -> int:
    expired = await expire_offers(resources_of(context).pool, datetime.now(UTC))
    if expired:
        log.info("lending.offers_expired", items=expired)
    return expired
