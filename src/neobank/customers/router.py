"""HTTP routes for customers, their devices, and device-bound authentication."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response

from neobank.api.deps import Caller, IdempotencyKey, Ops, ServicesDep, claim_for
from neobank.api.idempotent import run_idempotent
from neobank.api.responses import FastJSON
from neobank.customers import auth, service
from neobank.customers.errors import CustomerNotFound
from neobank.customers.schemas import (
    ChallengeIn,
    ChallengeOut,
    CustomerIn,
    CustomerOut,
    DeviceIn,
    DeviceOut,
    TokenIn,
    TokenOut,
)
from neobank.errors import NeobankError

router = APIRouter(tags=["customers"])


@router.post("/v1/customers", status_code=201, response_model=CustomerOut)
async def create_customer(
    body: CustomerIn, request: Request, caller: Ops, services: ServicesDep, key: IdempotencyKey
) -> Response:
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    return await run_idempotent(
        services,
        claim,
        201,
        lambda conn, outbox: service.create_customer(
            conn, outbox, body.name, body.birth_date, body.phone
        ),
    )


@router.get("/v1/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: uuid.UUID, caller: Caller, services: ServicesDep) -> FastJSON:
    if not caller.may_touch(customer_id):
        raise CustomerNotFound()
    return FastJSON(await service.get_customer(services.pool, customer_id))


@router.post("/v1/customers/{customer_id}/devices", status_code=201, response_model=DeviceOut)
async def register_device(
    customer_id: uuid.UUID,
    body: DeviceIn,
    request: Request,
    caller: Ops,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Response:
    """Ops: bind an Ed25519 public key (32 raw bytes, base64url) to a customer."""
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    return await run_idempotent(
        services,
        claim,
        201,
        lambda conn, outbox: service.register_device(conn, outbox, customer_id, body.public_key),
    )


@router.post("/v1/auth/challenge", response_model=ChallengeOut)
async def challenge(body: ChallengeIn, services: ServicesDep) -> FastJSON:
    """A single-use challenge (valid 120 s) for the device to sign."""
    async with services.pool.acquire() as conn, conn.transaction():
        return FastJSON(await auth.issue_challenge(conn, body.device_id))


@router.post("/v1/auth/token", response_model=TokenOut)
async def token(body: TokenIn, services: ServicesDep) -> FastJSON:
    """Exchange a signed challenge for a short-lived bearer token. Five failed signatures in a
    row lock the device for 30 minutes."""
    async with services.pool.acquire() as conn, conn.transaction():
        result = await auth.redeem_challenge(
            conn, services.tokens, body.device_id, body.challenge, body.signature
        )
    if isinstance(result, NeobankError):
        raise result  # after commit: the failed attempt is counted
    # A bearer token must not be kept by caches on the way (RFC 6749 section 5.1).
    return FastJSON(result, headers={"Cache-Control": "no-store"})
