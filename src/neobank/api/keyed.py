"""One dependency for a hot keyed write: its body, caller, services and Idempotency-Key.

FastAPI solves each dependency of a route on every request; at the single-transfer peak,
solving `POST /v1/transfers`'s five (body, caller with its services and header, services,
key) was ~13% of the API process's samples. `KeyedJson(M)` resolves the same things in one
dependency, checked in the order the separate ones were: a JSON syntax error first, then the
caller (401), ops-only routes' 403, then the key; a body that fails validation is answered
when the route calls `parsed.get()`. The headers stay declared, so the OpenAPI document is
unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Header, Request
from pydantic import BaseModel

from neobank.api.deps import (
    Principal,
    Services,
    claim_for,
    get_idempotency_key,
    get_principal,
    require_ops,
)
from neobank.api.json_body import JsonBody, Parsed
from neobank.idempotency import Claim

__all__ = ["Keyed", "KeyedJson"]

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True, slots=True)
class Keyed(Generic[M]):
    request: Request
    parsed: Parsed[M]
    services: Services
    caller: Principal
    key: str

    def claim(self, body: Any) -> Claim:
        return claim_for(self.request, self.caller, self.key, body)


class KeyedJson(Generic[M]):
    """The dependency: `Annotated[Keyed[M], Depends(KeyedJson(M))]`; `openapi` is the
    route's `openapi_extra` (see `neobank.api.json_body`)."""

    def __init__(self, model: type[M], *, ops_only: bool = False) -> None:
        self._body = JsonBody(model)
        self._ops_only = ops_only
        self.openapi = self._body.openapi

    async def __call__(
        self,
        request: Request,
        authorization: Annotated[str | None, Header()] = None,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    ) -> Keyed[M]:
        parsed = await self._body(request)
        services: Services = request.app.state.services
        caller = await get_principal(services, authorization)
        if self._ops_only:
            await require_ops(caller)
        key = await get_idempotency_key(idempotency_key)
        return Keyed(request, parsed, services, caller, key)
