"""HTTP route for the ledger check."""

from __future__ import annotations

from fastapi import APIRouter

from neobank.api.deps import Ops, ServicesDep
from neobank.api.responses import FastJSON
from neobank.ledger.check import check_ledger

router = APIRouter(tags=["ledger"])


@router.get("/v1/ledger/check")
async def ledger_check(caller: Ops, services: ServicesDep) -> FastJSON:
    """Ops: recompute every balance from the journal; debits must equal credits per currency."""
    async with services.pool.acquire() as conn:
        return FastJSON(await check_ledger(conn))
