"""HTTP routes of ops users, maker-checker changes and the audit log (under /v1/ops)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from neobank.api.deps import IdempotencyKey, PageCursor, PageLimit, ServicesDep
from neobank.api.idempotent import run_idempotent
from neobank.api.responses import FastJSON
from neobank.idempotency import Claim, request_hash
from neobank.ops import service, users
from neobank.ops.deps import Admin, Auditor, ChangeReader, Checker, Maker, OpsActor, UserReader
from neobank.ops.schemas import (
    AuditPage,
    ChangeDecisionIn,
    ChangeIn,
    ChangeOut,
    ChangePage,
    ChangeRejectIn,
    ChangeStatus,
    OpsUserCreated,
    OpsUserIn,
    OpsUserOut,
    OpsUserPage,
)
from neobank.pagination import PAGE_LIMIT_DEFAULT

__all__ = ["router"]

router = APIRouter(prefix="/v1/ops", tags=["ops"])

SUBJECT_LENGTH_MAX = 128

_AUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "unauthorized (no token, an unknown one, or a disabled ops user's)"},
    403: {"description": "forbidden (the ops user lacks the role; a customer token)"},
}
_CHANGE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_AUTH_ERRORS,
    404: {"description": "ops_change_not_found"},
    409: {
        "description": "ops_change_not_pending, four_eyes_required, ops_change_stale, "
        "ops_change_out_of_order, idempotency_key_in_use"
    },
}


def _claim(request: Request, actor: OpsActor, key: str, body: Any) -> Claim:
    return Claim(actor.scope, key, request_hash(request.method, request.url.path, body))


def _now() -> datetime:
    return datetime.now(UTC)


@router.post("/users", status_code=201, response_model=OpsUserCreated, responses=_AUTH_ERRORS)
async def create_user(body: OpsUserIn, actor: Admin, services: ServicesDep) -> FastJSON:
    """Admin: create an ops user with roles. The answer holds the user's bearer token, shown
    this once (only its SHA-256 digest is kept). No Idempotency-Key: a replayed answer would
    have to keep the token; the unique name (409 ops_user_name_taken) stops a double create."""
    async with services.pool.acquire() as conn, conn.transaction():
        out = await users.create_user(conn, actor, body.name, body.roles, _now())
    return FastJSON(out, status_code=201)


@router.get("/users", response_model=OpsUserPage, responses=_AUTH_ERRORS)
async def list_users(
    actor: UserReader,
    services: ServicesDep,
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> FastJSON:
    """Admin or auditor: every ops user, oldest first."""
    return FastJSON(await users.list_users(services.pool, limit, cursor))


@router.post(
    "/users/{user_id}/disable",
    response_model=OpsUserOut,
    responses={**_AUTH_ERRORS, 404: {"description": "ops_user_not_found"}},
)
async def disable_user(user_id: uuid.UUID, actor: Admin, services: ServicesDep) -> FastJSON:
    """Admin: the user's token stops working at once (401). Disabling again changes nothing."""
    async with services.pool.acquire() as conn, conn.transaction():
        out = await users.disable_user(conn, actor, user_id, _now())
    return FastJSON(out)


@router.post(
    "/changes",
    status_code=201,
    response_model=ChangeOut,
    responses={
        **_AUTH_ERRORS,
        409: {"description": "idempotency_key_in_use"},
        422: {
            "description": "invalid_change_body, invalid_change_target, invalid_effective_at, "
            "loan_product_not_found, idempotency_key_mismatch"
        },
    },
)
async def propose_change(
    body: ChangeIn, request: Request, actor: Maker, services: ServicesDep, key: IdempotencyKey
) -> Response:
    """Lending maker: propose a new version of a loan product (target: its code) or of the
    credit policy (target: "policy"). Keys left out of `body` keep the latest version's value.
    It takes effect only once another person, a lending checker, approves it."""
    claim = _claim(request, actor, key, body.model_dump(mode="json"))
    return await run_idempotent(
        services,
        claim,
        201,
        lambda conn, _outbox: service.propose_change(
            conn, actor, body.kind, body.target, body.body, body.effective_at, _now()
        ),
    )


@router.get("/changes", response_model=ChangePage, responses=_AUTH_ERRORS)
async def list_changes(
    actor: ChangeReader,
    services: ServicesDep,
    status: ChangeStatus | None = None,
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> FastJSON:
    """Lending makers, checkers, auditors: changes, newest first; ?status=proposed lists
    those waiting for a checker."""
    return FastJSON(await service.list_changes(services.pool, status, limit, cursor, _now()))


@router.get("/changes/{change_id}", response_model=ChangeOut, responses=_CHANGE_ERRORS)
async def get_change(change_id: uuid.UUID, actor: ChangeReader, services: ServicesDep) -> FastJSON:
    return FastJSON(await service.get_change(services.pool, change_id, _now()))


@router.post("/changes/{change_id}/approve", response_model=ChangeOut, responses=_CHANGE_ERRORS)
async def approve_change(
    change_id: uuid.UUID,
    request: Request,
    actor: Checker,
    services: ServicesDep,
    key: IdempotencyKey,
    body: ChangeDecisionIn | None = None,
) -> Response:
    """Lending checker other than the proposer: the new version enters the catalog, in force
    from the change's effective_at (status "approved" until then, "effective" after)."""
    decision = body or ChangeDecisionIn()
    claim = _claim(request, actor, key, decision.model_dump(mode="json"))
    return await run_idempotent(
        services,
        claim,
        200,
        lambda conn, _outbox: service.approve_change(
            conn, actor, change_id, decision.comment, _now()
        ),
    )


@router.post("/changes/{change_id}/reject", response_model=ChangeOut, responses=_CHANGE_ERRORS)
async def reject_change(
    change_id: uuid.UUID,
    body: ChangeRejectIn,
    request: Request,
    actor: Checker,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Response:
    """Lending checker other than the proposer: refuse the change, saying why."""
    claim = _claim(request, actor, key, body.model_dump(mode="json"))
    return await run_idempotent(
        services,
        claim,
        200,
        lambda conn, _outbox: service.reject_change(conn, actor, change_id, body.comment, _now()),
    )


@router.post("/changes/{change_id}/cancel", response_model=ChangeOut, responses=_CHANGE_ERRORS)
async def cancel_change(
    change_id: uuid.UUID,
    request: Request,
    actor: Maker,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Response:
    """The proposer withdraws a change nobody has decided on yet."""
    claim = _claim(request, actor, key, None)
    return await run_idempotent(
        services,
        claim,
        200,
        lambda conn, _outbox: service.cancel_change(conn, actor, change_id, _now()),
    )


@router.get("/audit", response_model=AuditPage, responses=_AUTH_ERRORS)
async def list_audit(
    actor: Auditor,
    services: ServicesDep,
    subject: str | None = Query(default=None, max_length=SUBJECT_LENGTH_MAX),
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> FastJSON:
    """Auditor: the audit log, newest first. Subjects: ops_user:<id>, ops_change:<id>,
    loan_product:<code>, credit_policy."""
    return FastJSON(await service.list_audit(services.pool, subject, limit, cursor))
