"""HTTP routes for deposit accounts."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from neobank.api.deps import (
    Caller,
    IdempotencyKey,
    Ops,
    PageCursor,
    PageLimit,
    ServicesDep,
    claim_for,
)
from neobank.api.idempotent import run_idempotent
from neobank.api.responses import FastJSON
from neobank.customers.errors import CustomerNotFound
from neobank.deposits import service
from neobank.deposits.errors import AccountNotFound
from neobank.deposits.schemas import AccountIn, AccountOut, AccountStatusIn, TransactionPage
from neobank.pagination import PAGE_LIMIT_DEFAULT

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])


@router.post("", status_code=201, response_model=AccountOut)
async def open_account(
    body: AccountIn, request: Request, caller: Caller, services: ServicesDep, key: IdempotencyKey
) -> Response:
    """Open a deposit account. A customer may open one for themselves; ops for anyone."""
    if not caller.may_touch(body.customer_id):
        # As for a customer that does not exist: a token learns nothing about others.
        raise CustomerNotFound()
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    return await run_idempotent(
        services,
        claim,
        201,
        lambda conn, outbox: service.open_account(conn, outbox, body.customer_id, body.product),
    )


async def _owned_account(
    services: ServicesDep, caller: Caller, account_id: uuid.UUID
) -> dict[str, object]:
    account = await service.get_account(services.pool, account_id)
    if not caller.may_touch(uuid.UUID(str(account["customer_id"]))):
        raise AccountNotFound()
    return account


@router.get("/{account_id}", response_model=AccountOut)
async def get_account(account_id: uuid.UUID, caller: Caller, services: ServicesDep) -> FastJSON:
    return FastJSON(await _owned_account(services, caller, account_id))


@router.get("/{account_id}/transactions", response_model=TransactionPage)
async def list_transactions(
    account_id: uuid.UUID,
    caller: Caller,
    services: ServicesDep,
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> FastJSON:
    """Posted entries, newest first, each with the balance after it."""
    await _owned_account(services, caller, account_id)
    return FastJSON(await service.list_transactions(services.pool, account_id, limit, cursor))


@router.post("/{account_id}/status", response_model=AccountOut)
async def change_status(
    account_id: uuid.UUID,
    body: AccountStatusIn,
    request: Request,
    caller: Ops,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Response:
    """Ops: freeze (nothing leaves), reactivate, or close (zero balance only) an account."""
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    return await run_idempotent(
        services,
        claim,
        200,
        lambda conn, outbox: service.change_status(conn, outbox, account_id, body.status),
    )
