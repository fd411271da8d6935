"""HTTP routes for holds: place, capture, void and read money reserved on an account."""

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
from neobank.api.responses import FastJSON, answer_response
from neobank.pagination import PAGE_LIMIT_DEFAULT
from neobank.payments import hold_service, holds
from neobank.payments.schemas import (
    KEY_PROBLEMS,
    HoldCaptureIn,
    HoldIn,
    HoldOut,
    HoldPage,
    problem_responses,
)
from neobank.payments.submit import payment_deps

router = APIRouter(tags=["payments", "holds"])


_OPS_KEY_PROBLEMS = KEY_PROBLEMS | {403: "`forbidden`: a customer token"}
_RESOLVE_PROBLEMS = _OPS_KEY_PROBLEMS | {
    404: "`hold_not_found`",
    409: "`hold_already_resolved`, `idempotency_key_in_use`",
}


@router.post(
    "/v1/holds",
    status_code=201,
    response_model=HoldOut,
    responses=problem_responses(
        _OPS_KEY_PROBLEMS
        | {
            404: "`account_not_found`",
            422: "`insufficient_funds`, `currency_mismatch`, `account_closed`, "
            "`account_frozen`, `idempotency_key_mismatch`, `validation_error`",
        }
    ),
)
async def place_hold(
    body: HoldIn, request: Request, caller: Ops, services: ServicesDep, key: IdempotencyKey
) -> Response:
    """Ops: reserve `amount` on an account for up to `timeout_seconds` (1 s to 30 days).

    The account's `available_balance` drops by the amount at once; its `balance` only when
    the hold is captured. Unresolved at `expires_at`, the hold expires and its money is
    released."""
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    answer = await hold_service.place_hold(payment_deps(services), body, claim)
    return answer_response(answer.answer, replayed=answer.replayed)


@router.post(
    "/v1/holds/{hold_id}/capture",
    response_model=HoldOut,
    responses=problem_responses(
        _RESOLVE_PROBLEMS
        | {
            422: "`hold_expired`, `exceeds_hold_amount`, `account_closed`, "
            "`idempotency_key_mismatch`, `validation_error`"
        }
    ),
)
async def capture_hold(
    hold_id: uuid.UUID,
    request: Request,
    caller: Ops,
    services: ServicesDep,
    key: IdempotencyKey,
    body: HoldCaptureIn | None = None,
) -> Response:
    """Ops: post `amount` of the hold (all of it when absent) from the account to the bank's
    settlement account; the rest of the hold is released. Answers the hold, `captured`."""
    body = body or HoldCaptureIn()
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    answer = await hold_service.capture_hold(payment_deps(services), hold_id, body.amount, claim)
    return answer_response(answer.answer, replayed=answer.replayed)


@router.post(
    "/v1/holds/{hold_id}/void",
    response_model=HoldOut,
    responses=problem_responses(
        _RESOLVE_PROBLEMS | {422: "`hold_expired`, `idempotency_key_mismatch`"}
    ),
)
async def void_hold(
    hold_id: uuid.UUID, request: Request, caller: Ops, services: ServicesDep, key: IdempotencyKey
) -> Response:
    """Ops: release all of the hold. Answers the hold, `voided`."""
    claim = claim_for(request, caller, key, None)
    answer = await hold_service.void_hold(payment_deps(services), hold_id, claim)
    return answer_response(answer.answer, replayed=answer.replayed)


@router.get(
    "/v1/holds/{hold_id}",
    response_model=HoldOut,
    responses=problem_responses({404: "`hold_not_found` (also for another customer's hold)"}),
)
async def get_hold(hold_id: uuid.UUID, caller: Caller, services: ServicesDep) -> FastJSON:
    """The hold: `pending`, `captured`, `voided`, or `expired` once `expires_at` has passed
    unresolved. A customer sees the holds on their own accounts."""
    return FastJSON(await holds.get_hold(services.pool, hold_id, caller.customer_id))


@router.get(
    "/v1/holds",
    response_model=HoldPage,
    responses=problem_responses({404: "`account_not_found` (also for another customer's account)"}),
)
async def list_holds(
    account_id: uuid.UUID,
    caller: Caller,
    services: ServicesDep,
    limit: PageLimit = PAGE_LIMIT_DEFAULT,
    cursor: PageCursor = None,
) -> FastJSON:
    """An account's holds, newest first: what stands between its `balance` and its
    `available_balance`, and what became of earlier ones."""
    page = await holds.list_holds(services.pool, account_id, caller.customer_id, limit, cursor)
    return FastJSON(page)
