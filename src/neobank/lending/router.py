"""HTTP routes of the loan catalog and the loan applications (API.md "Loans through outside
agencies"). Accepting an offer is in `neobank.lending.loans_router`."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
from fastapi import APIRouter, Request
from fastapi.responses import Response

from neobank.api.deps import (
    Caller,
    IdempotencyKey,
    PageCursor,
    PageLimit,
    ServicesDep,
    claim_for,
)
from neobank.api.idempotent import run_idempotent
from neobank.api.responses import FastJSON
from neobank.customers.errors import CustomerNotFound
from neobank.events import Outbox
from neobank.lending import applications, catalog
from neobank.lending.schemas import (
    ApplicationIn,
    ApplicationOut,
    ApplicationPage,
    LoanProductPage,
)
from neobank.onboarding.sealing import sealer_for
from neobank.pagination import PAGE_LIMIT_DEFAULT

__all__ = ["router"]

router = APIRouter(tags=["lending"])

_APPLICATION_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "unauthorized"},
    404: {"description": "customer_not_found, account_not_found, loan_application_not_found"},
    409: {"description": "loan_application_closed, idempotency_key_in_use"},
    422: {
        "description": "loan_product_not_found, loan_terms_out_of_range, account_not_eligible, "
        "resident_id_required, invalid_resident_id, validation_failed"
    },
}


@router.get("/v1/loan-products", response_model=LoanProductPage)
async def list_loan_products(caller: Caller, services: ServicesDep) -> FastJSON:
    """The products in force now (each at its current version)."""
    products = await catalog.list_products(services.pool, datetime.now(UTC))
    return FastJSON({"items": [p.listing() for p in products]})


@router.post(
    "/v1/loan-applications",
    status_code=202,
    response_model=ApplicationOut,
    responses=_APPLICATION_ERRORS,
)
async def submit_application(
    body: ApplicationIn,
    request: Request,
    caller: Caller,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Response:
    """Apply for a loan. Answers 202 `pending` at once; the bureau, the guarantee insurer
    (where the product needs it) and the decision follow in the background: poll GET."""
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    sealer = await sealer_for(services.pool)

    async def work(conn: asyncpg.Connection, _outbox: Outbox) -> dict[str, Any]:
        return await applications.submit(conn, sealer, caller, body, datetime.now(UTC))

    return await run_idempotent(services, claim, 202, work)


@router.get(
    "/v1/loan-applications/{application_id}",
    response_model=ApplicationOut,
    responses=_APPLICATION_ERRORS,
)
async def get_application(
    application_id: uuid.UUID, caller: Caller, services: ServicesDep
) -> FastJSON:
    row = await applications.load(services.pool, application_id, caller)
    return FastJSON(applications.view(row, datetime.now(UTC)))


@router.get("/v1/loan-applications", response_model=ApplicationPage, responses=_APPLICATION_ERRORS)
async def list_applications(
    caller: Caller,
    services: ServicesDep,
    customer_id: uuid.UUID | None = None,
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> FastJSON:
    """A customer's applications, newest first (a customer token: its own by default)."""
    customer_id = customer_id or caller.customer_id
    if customer_id is None or not caller.may_touch(customer_id):
        raise CustomerNotFound()
    page = await applications.list_for_customer(
        services.pool, customer_id, limit, cursor, datetime.now(UTC)
    )
    return FastJSON(page)


@router.post(
    "/v1/loan-applications/{application_id}/cancel",
    response_model=ApplicationOut,
    responses=_APPLICATION_ERRORS,
)
async def cancel_application(
    application_id: uuid.UUID, caller: Caller, services: ServicesDep
) -> FastJSON:
    """Withdraw a pending application or turn down an offer. Repeating it answers the same."""
    async with services.pool.acquire() as conn, conn.transaction():
        out = await applications.cancel(conn, application_id, caller, datetime.now(UTC))
    return FastJSON(out)
