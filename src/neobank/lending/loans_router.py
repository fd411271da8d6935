"""HTTP routes of loans: accept an offer, read loans and statements, repay, and close of
business (ops)."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, date, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from neobank.api.deps import Caller, IdempotencyKey, ServicesDep, claim_for
from neobank.api.responses import FastJSON, answer_response
from neobank.customers.errors import CustomerNotFound
from neobank.lending import close_of_business as cob
from neobank.lending import loans, repayments
from neobank.lending.booking import business_day
from neobank.lending.cob_jobs import COB_TASK, LENDING_QUEUE
from neobank.lending.errors import StatementNotAvailable
from neobank.lending.loan_schemas import (
    CloseOfBusinessIn,
    CloseOfBusinessOut,
    LoanOut,
    LoanPage,
    RepaymentIn,
    RepaymentOut,
)
from neobank.ops.deps import OperationsReader, Operator
from neobank.ops.service import write_audit
from neobank.workers.errors import JobAlreadyQueued
from neobank.workers.queue import defer_in_transaction

__all__ = ["router"]

router = APIRouter(tags=["lending"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "unauthorized"},
    404: {"description": "loan_not_found, loan_application_not_found, account_not_found"},
    409: {
        "description": "loan_application_not_approved, loan_offer_expired, loan_closed, "
        "idempotency_key_in_use"
    },
    422: {
        "description": "insufficient_funds, repayment_exceeds_balance, currency_mismatch, "
        "account_not_eligible, account_closed, account_frozen (a disbursement the ledger "
        "refused: the offer stands again), invalid_business_date, idempotency_key_mismatch, "
        "statement_not_available, validation_failed"
    },
}


@router.post(
    "/v1/loan-applications/{application_id}/accept",
    status_code=201,
    response_model=LoanOut,
    responses=_ERRORS,
)
async def accept_offer(
    application_id: uuid.UUID,
    request: Request,
    caller: Caller,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Response:
    """Take up an approved offer: the loan is disbursed to the application's account."""
    claim = claim_for(request, caller, key, {"application_id": str(application_id)})
    answer, replayed = await loans.accept(
        services, application_id, caller.customer_id, claim, services.inflight
    )
    return answer_response(answer, replayed=replayed)


@router.get("/v1/loans/{loan_id}", response_model=LoanOut, responses=_ERRORS)
async def get_loan(loan_id: uuid.UUID, caller: Caller, services: ServicesDep) -> FastJSON:
    return FastJSON(await loans.get_loan(services.pool, loan_id, caller.customer_id))


@router.get("/v1/loans", response_model=LoanPage, responses=_ERRORS)
async def list_loans(
    caller: Caller, services: ServicesDep, customer_id: uuid.UUID | None = None
) -> FastJSON:
    """A customer's loans, newest first (a customer token: its own by default)."""
    customer_id = customer_id or caller.customer_id
    if customer_id is None or not caller.may_touch(customer_id):
        raise CustomerNotFound()
    return FastJSON(await loans.list_loans(services.pool, customer_id))


@router.get("/v1/loans/{loan_id}/statement", responses=_ERRORS)
async def get_statement(
    loan_id: uuid.UUID,
    caller: Caller,
    services: ServicesDep,
    from_: date | None = Query(default=None, alias="from"),
    to: date | None = None,
) -> FastJSON:
    """What happened to an installment loan between two business dates (inclusive). An
    overdraft line has no statement here: its charges are in `GET /v1/loans/{id}` and its
    use in the account's transactions."""
    loan = await loans.loan_for(services.pool, loan_id, caller.customer_id)
    if loan.kind == "revolving":
        raise StatementNotAvailable()
    return FastJSON(await loans.statement(services.pool, loan, from_, to))


@router.post(
    "/v1/loans/{loan_id}/repayments",
    status_code=201,
    response_model=RepaymentOut,
    responses=_ERRORS,
)
async def repay_loan(
    loan_id: uuid.UUID,
    body: RepaymentIn,
    request: Request,
    caller: Caller,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Response:
    """Pay late interest, then interest, then principal due; the rest repays early."""
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    answer, replayed = await repayments.repay(
        services,
        loan_id,
        body.from_account_id,
        body.amount,
        caller.customer_id,
        claim,
        services.inflight,
    )
    return answer_response(answer, replayed=replayed)


@router.post(
    "/v1/ops/close-of-business",
    status_code=202,
    response_model=CloseOfBusinessOut,
    responses=_ERRORS,
)
async def start_close_of_business(
    body: CloseOfBusinessIn, ops: Operator, services: ServicesDep
) -> FastJSON:
    """Close a business date (and any before it not yet closed) in the background. The ops
    token, or an ops user with the `operations` role; each request is audited."""
    day = body.business_date
    await cob.validate_business_date(services, day, business_day(datetime.now(UTC)))
    status = await cob.run_status(services, day)
    if status["status"] == "completed":
        return FastJSON(status, status_code=202)
    async with services.pool.acquire() as conn, conn.transaction():
        await write_audit(
            conn,
            ops.name,
            "close_of_business.requested",
            f"business_date:{day.isoformat()}",
            {"was": status["status"]},
            datetime.now(UTC),
        )
        # One waiting job per date; a second request finds it queued.
        with contextlib.suppress(JobAlreadyQueued):
            await defer_in_transaction(
                conn,
                COB_TASK,
                {"business_date": day.isoformat()},
                queueing_lock=f"{COB_TASK}:{day.isoformat()}",
                queue=LENDING_QUEUE,
            )
    if status["status"] == "not_started":
        status["status"] = "queued"
    return FastJSON(status, status_code=202)


@router.get(
    "/v1/ops/close-of-business/{business_date}",
    response_model=CloseOfBusinessOut,
    responses=_ERRORS,
)
async def close_of_business_status(
    business_date: date, ops: OperationsReader, services: ServicesDep
) -> FastJSON:
    status = await cob.run_status(services, business_date)
    if status["status"] == "not_started":
        queued = await services.pool.fetchval(
            "SELECT 1 FROM procrastinate.procrastinate_jobs WHERE queueing_lock = $1 "
            "AND status = 'todo'",
            f"{COB_TASK}:{business_date.isoformat()}",
        )
        status["status"] = "queued" if queued else "not_started"
    return FastJSON(status)
