"""HTTP routes for transfers, deposits, fees and promotions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from neobank.api.deps import Caller, IdempotencyKey, Ops, ServicesDep, claim_for
from neobank.api.idempotent import run_idempotent
from neobank.api.keyed import Keyed, KeyedJson, serve_first
from neobank.api.responses import FastJSON, answer_response
from neobank.payments import pricing, service
from neobank.payments.errors import ReportRangeInvalid
from neobank.payments.schemas import (
    KEY_PROBLEMS,
    BatchIn,
    BatchOut,
    DepositIn,
    FeeReportOut,
    FeeRuleIn,
    FeeRuleOut,
    FeeRulePage,
    PromotionIn,
    PromotionOut,
    TransferIn,
    TransferOut,
    problem_responses,
)
from neobank.payments.submit import payment_deps

router = APIRouter(tags=["payments"])

# The hot routes validate their bodies from the raw bytes (see neobank.api.json_body) and
# resolve everything they need in one dependency (see neobank.api.keyed).
_TRANSFER_CALL = KeyedJson(TransferIn)
_BATCH_CALL = KeyedJson(BatchIn, ops_only=True)
TransferCall = Annotated[Keyed[TransferIn], Depends(_TRANSFER_CALL)]
BatchCall = Annotated[Keyed[BatchIn], Depends(_BATCH_CALL)]


@router.post(
    "/v1/transfers",
    status_code=201,
    response_model=TransferOut,
    responses=problem_responses(
        KEY_PROBLEMS
        | {
            404: "`account_not_found`: unknown, or (customer token) not the caller's source",
            422: "`insufficient_funds` (amount plus fee), `currency_mismatch`, `same_account`, "
            "`account_closed`, `account_frozen`, `limit_exceeded`, `idempotency_key_mismatch`, "
            "`validation_error`",
        }
    ),
    openapi_extra=_TRANSFER_CALL.openapi,
)
async def create_transfer(call: TransferCall) -> Response:
    """Move money between two accounts of this bank; the fee (less any promotion's waiver)
    is charged in the same commit."""
    body = call.parsed.get()
    # model_dump() hashes as model_dump(mode="json") did (orjson writes UUIDs the same way).
    claim = call.claim(body.model_dump())
    deps = payment_deps(call.services)
    answer = await service.submit_transfer(deps, body, call.caller.customer_id, claim)
    return answer_response(answer.answer, replayed=answer.replayed)


@router.get(
    "/v1/transfers/{transfer_id}",
    response_model=TransferOut,
    responses=problem_responses({404: "`transfer_not_found` (also: not the customer's)"}),
)
async def get_transfer(transfer_id: uuid.UUID, caller: Caller, services: ServicesDep) -> FastJSON:
    return FastJSON(await service.get_transfer(services.pool, transfer_id, caller.customer_id))


@router.post(
    "/v1/transfers/batch",
    response_model=BatchOut,
    responses=problem_responses(
        KEY_PROBLEMS
        | {403: "`forbidden`: a customer token", 413: "`request_too_large` (over 4 MiB)"}
    ),
    openapi_extra=_BATCH_CALL.openapi,
)
async def create_batch(call: BatchCall) -> Response:
    """Ops: 1 to 8190 transfers, all in one ledger commit; each stands or falls alone.

    Each item's `id` (a client-chosen UUID) makes it idempotent: sent again, under any key, it
    answers `exists` and moves nothing. Results come in input order: `posted`, `exists`, or
    `failed` with the item's `code` (the codes of POST /v1/transfers, and
    `transfer_id_conflict` for an id already used by a different transfer). The batch writes
    one `transfer.batch_applied` event (its posted items and the ledger's refusals), not one
    event per item."""
    body = call.parsed.get()
    claim = call.claim(body.dump_flat())
    answer = await service.submit_batch(payment_deps(call.services), body, claim)
    return answer_response(answer.answer, replayed=answer.replayed)


@router.post(
    "/v1/deposits",
    status_code=201,
    response_model=TransferOut,
    responses=problem_responses(
        KEY_PROBLEMS
        | {
            403: "`forbidden`: a customer token",
            404: "`account_not_found`",
            422: "`currency_mismatch`, `account_closed`, `idempotency_key_mismatch`, "
            "`validation_error`",
        }
    ),
)
async def create_deposit(
    body: DepositIn, request: Request, caller: Ops, services: ServicesDep, key: IdempotencyKey
) -> Response:
    """Ops: cash or incoming funds credited to an account."""
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    answer = await service.submit_deposit(payment_deps(services), body, claim)
    return answer_response(answer.answer, replayed=answer.replayed)


@router.post("/v1/fees/rules", response_model=FeeRuleOut)
async def set_fee_rule(
    body: FeeRuleIn, request: Request, caller: Ops, services: ServicesDep, key: IdempotencyKey
) -> Response:
    """Ops: set the fee of a transfer kind in a currency (0 for none); the next transfer pays
    it."""
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    response = await run_idempotent(
        services, claim, 200, lambda conn, outbox: pricing.set_rule(conn, outbox, body)
    )
    services.fees.invalidate()
    return response


@router.get("/v1/fees/rules", response_model=FeeRulePage)
async def list_fee_rules(caller: Caller, services: ServicesDep) -> FastJSON:
    return FastJSON(await pricing.list_rules(services.pool))


@router.post(
    "/v1/fees/promotions",
    status_code=201,
    response_model=PromotionOut,
    responses=problem_responses(
        KEY_PROBLEMS | {422: "`promotion_invalid`, `idempotency_key_mismatch`, `validation_error`"}
    ),
)
async def create_promotion(
    body: PromotionIn, request: Request, caller: Ops, services: ServicesDep, key: IdempotencyKey
) -> Response:
    """Ops: waive a percentage of the fees of some kinds within [starts_at, ends_at)."""
    claim = claim_for(request, caller, key, body.model_dump(mode="json"))
    response = await run_idempotent(
        services, claim, 201, lambda conn, outbox: pricing.create_promotion(conn, outbox, body)
    )
    services.fees.invalidate()
    return response


@router.get("/v1/fees/promotions")
async def list_promotions(caller: Caller, services: ServicesDep) -> FastJSON:
    return FastJSON(await pricing.list_promotions(services.pool))


@router.get(
    "/v1/reports/fees",
    response_model=FeeReportOut,
    responses=problem_responses(
        {403: "`forbidden`", 422: "`report_range_invalid`, `validation_error`"}
    ),
)
async def fee_report(
    caller: Ops,
    services: ServicesDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    currency: Annotated[str, Query(pattern=r"^[A-Z]{3}$")] = "KRW",
) -> FastJSON:
    """Fees charged and waived (what the promotions cost) on transfers in [from, to)."""
    if any(b is not None and b.tzinfo is None for b in (start, end)) or (
        start and end and start >= end
    ):
        raise ReportRangeInvalid()
    return FastJSON(await pricing.fee_report(services.pool, start, end, currency))


# The hot routes, served ahead of FastAPI's routes above (see neobank.api.keyed).
HOT_ROUTES = (
    serve_first(router, "/v1/transfers", _TRANSFER_CALL, create_transfer),
    serve_first(router, "/v1/transfers/batch", _BATCH_CALL, create_batch),
)
