"""The onboarding's agency calls, as durable jobs: the identity check and the 1 KRW credit.

Each job reads the application, does nothing if its step is no longer pending (a job may run
twice: a retry after a crash, a duplicate), calls the agency through its adapter, and records
the result in one transaction. An agency that is slow, throttling, failing or behind an open
circuit makes the job wait and retry (``AgencyRetry``); nobody fails for the agency's fault.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import procrastinate
import structlog
from procrastinate import JobContext
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from neobank.agencies.client import AgencyClients, AgencyError, AgencyRejected, CircuitOpen
from neobank.db.statement import WriteStatement
from neobank.events import EventRow
from neobank.events.outbox import add_events
from neobank.idempotency import StoredAnswer
from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.domain import ItemOutcome, TransferSpec
from neobank.ledger.engine import LedgerEngine, Rendered, Submission
from neobank.onboarding.changes import CHANNEL, notice
from neobank.onboarding.flow import RETRYABLE_ID_REASONS
from neobank.onboarding.sealing import Sealer, sealer_for
from neobank.onboarding.service import (
    AGENCY_QUEUE,
    CHECK_PENDING,
    CHECKS_TASK,
    CLEARING_TASK,
    IDENTITY_TASK,
    verification_code,
)
from neobank.workers.queue import JobResources, resources_of

__all__ = ["AgencyRetry", "blueprint"]

log = structlog.get_logger(__name__)

RETRY_BACKOFF_BASE_S = 1.0
RETRY_BACKOFF_MAX_S = 60.0
# A bug or a database error is retried a few times, then left failed for an engineer; an
# agency's trouble is retried for as long as it lasts.
OTHER_ERROR_ATTEMPTS_MAX = 8
VERIFICATION_AMOUNT_MINOR = 1
VERIFICATION_CURRENCY = "KRW"
VERIFICATION_TRANSFER_CODE = 20  # ledger transfer code: 1 KRW account check
MEMO_PREFIX = "NEOBANK"
# Reads of the onboarding per job run: the checks pending at start, then any asked for since.
CHECK_ROUNDS_MAX = 3
_TRANSFER_NAMESPACE = uuid.UUID("2d0c4f0e-7b7e-4d55-a1c3-5e1f4b7b9a21")


class AgencyRetry(BaseRetryStrategy):
    """Capped exponential backoff with jitter; an open circuit says when to come back."""

    def get_retry_decision(self, *, exception: BaseException, job: Any) -> RetryDecision | None:
        if isinstance(exception, AgencyRejected):
            return None
        attempts = int(job.attempts)
        if not isinstance(exception, AgencyError) and attempts >= OTHER_ERROR_ATTEMPTS_MAX:
            return None
        if isinstance(exception, CircuitOpen):
            wait_s = max(exception.retry_after_s, RETRY_BACKOFF_BASE_S)
        else:
            wait_s = min(RETRY_BACKOFF_BASE_S * 2**attempts, RETRY_BACKOFF_MAX_S)
        return RetryDecision(retry_in={"seconds": int(wait_s * random.uniform(0.5, 1.0)) + 1})


blueprint = procrastinate.Blueprint()


def _agencies(resources: JobResources) -> AgencyClients:
    if resources.agencies is None:
        raise RuntimeError("this worker has no agency clients: onboarding jobs cannot run")
    return resources.agencies


@blueprint.task(name=CHECKS_TASK, queue=AGENCY_QUEUE, pass_context=True, retry=AgencyRetry())
async def run_agency_checks(context: JobContext, onboarding_id: str) -> None:
    """Every pending check of the onboarding, at once; then the onboarding is read again, for
    a check asked for while this job ran (its request saw a check pending and queued nothing).
    A check that raised is not tried again in this run: the job raises its error and is
    retried (a retryable agency error first, so that a refusal elsewhere cannot stop it)."""
    await _run_checks(resources_of(context), uuid.UUID(onboarding_id), tuple(_CHECKS))


@blueprint.task(name=IDENTITY_TASK, queue=AGENCY_QUEUE, pass_context=True, retry=AgencyRetry())
async def verify_identity(context: JobContext, onboarding_id: str) -> None:
    """The identity check alone: jobs queued before CHECKS_TASK existed."""
    await _run_checks(resources_of(context), uuid.UUID(onboarding_id), ("id_status",))


@blueprint.task(name=CLEARING_TASK, queue=AGENCY_QUEUE, pass_context=True, retry=AgencyRetry())
async def send_verification_credit(context: JobContext, onboarding_id: str) -> None:
    """The 1 KRW check alone: jobs queued before CHECKS_TASK existed."""
    await _run_checks(resources_of(context), uuid.UUID(onboarding_id), ("acct_status",))


async def _run_checks(
    resources: JobResources, onboarding_id: uuid.UUID, columns: tuple[str, ...]
) -> None:
    """The checks among `columns` that the onboarding has pending, as run_agency_checks says."""
    raised: dict[str, BaseException] = {}
    for _ in range(CHECK_ROUNDS_MAX):
        row = await resources.pool.fetchrow(
            "SELECT * FROM onboardings WHERE id = $1", onboarding_id
        )
        if row is None or row["status"] != "in_progress":
            break
        due = [c for c in columns if row[c] == CHECK_PENDING and c not in raised]
        if not due:
            break
        sealer = await sealer_for(resources.pool)
        outcomes = await asyncio.gather(
            *(_CHECKS[c](resources, row, sealer) for c in due), return_exceptions=True
        )
        raised |= {c: o for c, o in zip(due, outcomes, strict=True) if isinstance(o, BaseException)}
    if raised:
        errors = list(raised.values())
        retryable = [e for e in errors if _retryable(e)]
        raise (retryable or errors)[0]


def _retryable(error: BaseException) -> bool:
    return isinstance(error, AgencyError) and not isinstance(error, AgencyRejected)


async def _check_identity(resources: JobResources, row: Any, sealer: Sealer) -> None:
    onboarding_id = str(row["id"])
    result = await _agencies(resources).identity.verify(
        name=row["name"],
        resident_id=sealer.open(row["resident_id_sealed"]),
        issue_date=row["id_card_issue_date"],
    )
    now = datetime.now(UTC)
    final_failure = not result.verified and result.reason not in RETRYABLE_ID_REASONS
    # The step was requested when the row read says: only this job moves it out of pending.
    turnaround_s = (now - row["id_requested_at"]).total_seconds()
    release = str(row["ticket_id"]) if final_failure else None
    if resources.waiting_room is None:  # the API process's room learns it from the notice
        payload = notice(onboarding_id, sample_s=turnaround_s, release_ticket=release)
    else:
        payload = notice(onboarding_id)
    statement = WriteStatement()
    p = statement.param
    done = statement.add(
        f"""
        UPDATE onboardings SET id_status = {p("passed" if result.verified else "failed")}::varchar,
            id_reason = {p(result.reason)}, id_verification_id = {p(result.verification_id)},
            id_checked_at = {p(now)}, updated_at = {p(now)},
            status = CASE WHEN {p(final_failure)}::boolean THEN 'failed'
                          WHEN {p(result.verified)}::boolean AND acct_status = 'passed'
                              THEN 'ready'
                          ELSE status END
        WHERE id = {p(row["id"])} AND id_status = 'pending' AND status = 'in_progress'
        RETURNING 1
        """
    )
    kind = "onboarding.id_verified" if result.verified else "onboarding.id_rejected"
    body = {"verification_id": result.verification_id, "reason": result.reason}
    add_events(statement, [EventRow(kind, "onboarding", onboarding_id, body)], now, when=done)
    if not await _record(resources.pool, statement, done, payload):
        return
    if resources.waiting_room is not None:
        resources.waiting_room.observe(turnaround_s)
        if release is not None:
            await resources.waiting_room.release(release)


async def _send_credit(resources: JobResources, row: Any, sealer: Sealer) -> None:
    """Send 1 KRW with the code in the memo, book it, and mark the step sent. Safe to repeat:
    the clearing house delivers once per reference and the ledger posts once per transfer id."""
    the_id: uuid.UUID = row["id"]
    onboarding_id = str(the_id)
    salt: bytes = row["acct_code_salt"]
    code = verification_code(sealer, the_id, salt)
    credit = await _agencies(resources).clearing.send_credit(
        bank_code=row["acct_bank_code"],
        account_number=row["acct_number"],
        amount=VERIFICATION_AMOUNT_MINOR,
        currency=VERIFICATION_CURRENCY,
        memo=f"{MEMO_PREFIX} {code}",
        reference=f"onb-{onboarding_id}-{salt.hex()[:8]}",
    )
    await _book_verification_credit(
        resources.engine, uuid.uuid5(_TRANSFER_NAMESPACE, f"{the_id}|{salt.hex()}")
    )
    now = datetime.now(UTC)
    statement = WriteStatement()
    p = statement.param
    done = statement.add(
        f"""
        UPDATE onboardings SET acct_status = 'sent', acct_credit_id = {p(credit.credit_id)},
            acct_sent_at = {p(now)}, updated_at = {p(now)}
        WHERE id = {p(the_id)} AND acct_status = 'pending' RETURNING 1
        """
    )
    body = {"credit_id": credit.credit_id, "bank_code": row["acct_bank_code"]}
    event = EventRow("onboarding.verification_credit_sent", "onboarding", onboarding_id, body)
    add_events(statement, [event], now, when=done)
    await _record(resources.pool, statement, done, notice(onboarding_id))


async def _record(pool: asyncpg.Pool, statement: WriteStatement, step: str, payload: str) -> bool:
    """Record a check's result in one statement (no transaction of its own): the step's
    update (part `step`, which returns a row only if the step was still pending), its event,
    and the notice that wakes the long polls; whether the step was still pending."""
    p = statement.param
    notified = await statement.fetchval(
        pool, f"SELECT count(pg_notify({p(CHANNEL)}, {p(payload)})) FROM {step}"
    )
    return bool(notified)


# Each check: the onboarding column that says it is pending, and what runs it.
_CHECKS = {"id_status": _check_identity, "acct_status": _send_credit}


async def _book_verification_credit(engine: LedgerEngine, transfer_id: uuid.UUID) -> None:
    """The 1 KRW left the bank through the clearing house: an expense against settlement."""
    spec = TransferSpec(
        id=transfer_id,
        debit_account_id=bank_account_id(AccountCode.VERIFICATION_EXPENSE, VERIFICATION_CURRENCY),
        credit_account_id=bank_account_id(AccountCode.SETTLEMENT, VERIFICATION_CURRENCY),
        amount=VERIFICATION_AMOUNT_MINOR,
        currency=VERIFICATION_CURRENCY,
        code=VERIFICATION_TRANSFER_CODE,
    )

    def render(outcomes: list[ItemOutcome], at: datetime) -> Rendered:
        return Rendered(StoredAnswer(200, {"booked": str(transfer_id)}))

    answer = await engine.submit(Submission([[spec]], render))
    outcome = answer.outcomes[0] if answer.outcomes else None
    if outcome is None or not outcome.ok:
        # The bank's own books refused: a bug, not the person's fault; the job retries.
        raise RuntimeError(f"booking the 1 KRW check failed: {outcome!r}")
