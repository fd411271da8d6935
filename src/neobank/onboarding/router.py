"""HTTP routes of the onboarding flow (API.md "Launch-day onboarding and the waiting room")."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response

from neobank.api.deps import (
    IdempotencyKey,
    Services,
    ServicesDep,
    bearer_token,
    is_ops_token,
)
from neobank.api.idempotent import run_idempotent
from neobank.api.limits import wait_ms_query
from neobank.api.responses import FastJSON
from neobank.events import Outbox
from neobank.idempotency import Claim, request_hash
from neobank.onboarding import service
from neobank.onboarding.errors import OnboardingNotFound
from neobank.onboarding.flow import Application, view
from neobank.onboarding.schemas import (
    AccountCheckIn,
    CodeIn,
    CompletedOut,
    IdCheckIn,
    OnboardingIn,
    OnboardingOut,
)
from neobank.onboarding.sealing import sealer_for
from neobank.onboarding.tokens import issue_onboarding_token, onboarding_of_token

__all__ = ["router"]

router = APIRouter(tags=["onboarding"])

_ONBOARDING_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "unauthorized, admission_token_invalid, admission_token_expired"},
    404: {"description": "onboarding_not_found"},
    409: {
        "description": "admission_token_used, already_customer, onboarding_closed, "
        "step_not_ready, device_key_in_use, idempotency_key_in_use"
    },
    410: {"description": "onboarding_expired"},
    422: {
        "description": "invalid_resident_id, birth_date_mismatch, invalid_public_key, "
        "verification_code_mismatch, verification_failed, validation_failed"
    },
}


def _waiting_room(services: Services) -> Any:
    room = services.waiting_room
    assert room is not None, "the app builds a waiting room at start-up"
    return room


async def _onboarding_caller(
    onboarding_id: uuid.UUID,
    services: ServicesDep,
    authorization: Annotated[str | None, Header()] = None,
) -> uuid.UUID:
    """The onboarding token of this onboarding, or the ops token; another onboarding's token
    answers 404 (it must not learn whether this one exists)."""
    token = bearer_token(authorization)
    if is_ops_token(services, token):
        return onboarding_id
    if onboarding_of_token(services.tokens.signing_key, token) != onboarding_id:
        raise OnboardingNotFound()
    return onboarding_id


OnboardingCaller = Annotated[uuid.UUID, Depends(_onboarding_caller)]


def _claim(request: Request, scope: str, key: str, body: Any) -> Claim:
    return Claim(scope, key, request_hash(request.method, request.url.path, body))


@router.post(
    "/v1/onboarding", status_code=201, response_model=OnboardingOut, responses=_ONBOARDING_ERRORS
)
async def start_onboarding(
    body: OnboardingIn,
    request: Request,
    services: ServicesDep,
    key: IdempotencyKey,
    admission_token: Annotated[str, Header(alias="X-Admission-Token", max_length=4096)],
) -> Response:
    """Start with an admission token from the waiting room (one onboarding per token). The
    answer carries the onboarding token for the later steps."""
    admission = _waiting_room(services).verify_admission(admission_token)
    claim = _claim(request, f"admission:{admission.ticket_id}", key, body.model_dump(mode="json"))
    sealer = await sealer_for(services.pool)

    async def work(conn: Any, outbox: Outbox) -> dict[str, Any]:
        now = datetime.now(UTC)
        out = await service.start(conn, outbox, sealer, admission.ticket_id, body, now)
        expires_at = datetime.fromisoformat(out["expires_at"])
        token = issue_onboarding_token(
            services.tokens.signing_key, uuid.UUID(out["id"]), expires_at
        )
        return {**out, "onboarding_token": token}

    return await run_idempotent(services, claim, 201, work)


@router.get(
    "/v1/onboarding/{onboarding_id}", response_model=OnboardingOut, responses=_ONBOARDING_ERRORS
)
async def get_onboarding(
    onboarding_id: OnboardingCaller,
    services: ServicesDep,
    wait_ms: Annotated[
        int,
        wait_ms_query(
            "While an agency check runs (a step `pending`), answer as soon as "
            "the onboarding moves or after this many milliseconds, whichever comes first "
            "(long poll); 0 answers at once"
        ),
    ] = 0,
) -> FastJSON:
    """Where the onboarding stands: each step, the overall status and the next step (with
    `poll_after_ms` while an agency check runs). Onboarding token or ops token."""
    feed = services.onboarding_changes
    if wait_ms == 0 or feed is None:
        return FastJSON(await _read_view(services, onboarding_id))
    await feed.ensure_listening()
    # Watch before reading: a change between the read and the wait is not missed.
    with feed.watch(str(onboarding_id)) as changed:
        out = await _read_view(services, onboarding_id)
        if _agency_pending(out):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_ms / 1000):
                    await changed.wait()
            out = await _read_view(services, onboarding_id)
    return FastJSON(out)


def _agency_pending(out: dict[str, Any]) -> bool:
    """Whether an agency job may still move this onboarding (what a long poll waits for)."""
    return any(step["status"] == "pending" for step in out["steps"].values())


async def _read_view(services: Services, onboarding_id: uuid.UUID) -> dict[str, Any]:
    row = await service.load(services.pool, onboarding_id)
    return view(Application.from_row(row), datetime.now(UTC))


@router.post(
    "/v1/onboarding/{onboarding_id}/id-verification",
    status_code=202,
    response_model=OnboardingOut,
    responses=_ONBOARDING_ERRORS,
)
async def verify_identity(
    onboarding_id: OnboardingCaller, body: IdCheckIn, services: ServicesDep
) -> FastJSON:
    """Ask the identity agency, in the background; poll GET until the step is decided."""
    outbox = Outbox()
    async with services.pool.acquire() as conn, conn.transaction():
        out = await service.request_id_check(
            conn, outbox, onboarding_id, body.id_card_issue_date, datetime.now(UTC)
        )
        await outbox.write(conn)
    return FastJSON(out, status_code=202)


@router.post(
    "/v1/onboarding/{onboarding_id}/account-verification",
    status_code=202,
    response_model=OnboardingOut,
    responses=_ONBOARDING_ERRORS,
)
async def verify_account(
    onboarding_id: OnboardingCaller,
    body: AccountCheckIn,
    request: Request,
    services: ServicesDep,
    key: IdempotencyKey,
) -> Response:
    """Send 1 KRW to the person's account at another bank, with a 4-digit code in the memo."""
    claim = _claim(request, f"onboarding:{onboarding_id}", key, body.model_dump(mode="json"))
    return await run_idempotent(
        services,
        claim,
        202,
        lambda conn, outbox: service.request_account_check(
            conn, outbox, onboarding_id, body, datetime.now(UTC)
        ),
    )


@router.post(
    "/v1/onboarding/{onboarding_id}/account-verification/confirm",
    response_model=OnboardingOut,
    responses=_ONBOARDING_ERRORS,
)
async def confirm_account(
    onboarding_id: OnboardingCaller, body: CodeIn, services: ServicesDep
) -> FastJSON:
    """Type the code back (5 tries). A wrong code costs a try even when the answer is lost."""
    sealer = await sealer_for(services.pool)
    outbox = Outbox()
    async with services.pool.acquire() as conn, conn.transaction():
        out, error = await service.confirm_code(
            conn, outbox, sealer, onboarding_id, body.code, datetime.now(UTC)
        )
        await outbox.write(conn)
    if error is not None:
        if out["status"] == "failed":
            await _release(services, onboarding_id)
        raise error
    return FastJSON(out)


@router.post(
    "/v1/onboarding/{onboarding_id}/complete",
    status_code=201,
    response_model=CompletedOut,
    responses=_ONBOARDING_ERRORS,
)
async def complete_onboarding(
    onboarding_id: OnboardingCaller, request: Request, services: ServicesDep, key: IdempotencyKey
) -> Response:
    """Open the customer, the device and the account, in one transaction."""
    claim = _claim(request, f"onboarding:{onboarding_id}", key, {})
    ticket_id: str | None = None  # known unless the answer is a replay

    async def work(conn: Any, outbox: Outbox) -> dict[str, Any]:
        nonlocal ticket_id
        done = await service.complete(conn, outbox, onboarding_id, datetime.now(UTC))
        ticket_id = done.ticket_id
        return done.out

    response = await run_idempotent(services, claim, 201, work)
    await _release(services, onboarding_id, ticket_id)
    return response


async def _release(
    services: Services, onboarding_id: uuid.UUID, ticket_id: str | None = None
) -> None:
    """Free the waiting-room slot the onboarding held (releasing twice is harmless); its
    ticket is looked up unless the caller knows it."""
    if ticket_id is None:
        ticket_id = await services.pool.fetchval(
            "SELECT ticket_id FROM onboardings WHERE id = $1", onboarding_id
        )
    if ticket_id is not None:
        await _waiting_room(services).release(ticket_id)
