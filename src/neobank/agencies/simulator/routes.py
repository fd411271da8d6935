"""The four agencies' endpoints: thin HTTP over the plain rules in ``neobank.agencies``."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from neobank.agencies.bureau import InquiryKeyConflict
from neobank.agencies.guarantee import quote_guarantee
from neobank.agencies.identity import verify_identity
from neobank.agencies.simulator.problems import problem_response
from neobank.agencies.simulator.schemas import (
    CreditRequest,
    GuaranteeRequest,
    InquiryRequest,
    VerificationRequest,
)
from neobank.agencies.simulator.state import SimulatorState

__all__ = ["agency_router"]

# The identity agency judges "not in the future" by the date in Korea.
korea_time = timezone(timedelta(hours=9), "KST")


def agency_router(state: SimulatorState) -> APIRouter:
    router = APIRouter()

    @router.post("/identity/verifications", tags=["identity"])
    async def verify(body: VerificationRequest) -> dict[str, Any]:
        verdict = verify_identity(
            body.name,
            body.resident_id,
            body.issue_date,
            today=datetime.now(korea_time).date(),
            stolen_resident_ids=state.config.stolen_resident_ids,
        )
        return asdict(verdict)

    @router.post("/bureau/inquiries", tags=["bureau"], response_model=None)
    async def inquire(body: InquiryRequest) -> dict[str, Any] | JSONResponse:
        try:
            report = state.inquiries.inquire(body.inquiry_key, body.resident_id)
        except InquiryKeyConflict:
            return problem_response(
                409,
                "inquiry_key_conflict",
                "Inquiry key already used",
                "This inquiry key was sent before for another resident id.",
            )
        return asdict(report)

    @router.post("/guarantee/quotes", tags=["guarantee"])
    async def quote(body: GuaranteeRequest) -> dict[str, Any]:
        return asdict(quote_guarantee(body.score, body.amount, body.product))

    @router.post("/clearing/credits", tags=["clearing"], status_code=201)
    async def credit(body: CreditRequest) -> dict[str, Any]:
        delivered = state.clearing.deliver(
            body.bank_code,
            body.account_number,
            body.amount,
            body.currency,
            body.memo,
            body.reference,
            datetime.now(UTC),
        )
        return asdict(delivered)

    return router
