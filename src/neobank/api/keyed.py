"""The hot keyed writes: one dependency for their body, caller, services and key, and a
plain Starlette route that serves them ahead of FastAPI's.

FastAPI solves each dependency of a route on every request; at the single-transfer peak,
solving `POST /v1/transfers`'s five (body, caller with its services and header, services,
key) was ~13% of the API process's samples. `KeyedJson(M)` resolves the same things in one
dependency, checked in the order the separate ones were: a JSON syntax error first, then the
caller (401), ops-only routes' 403, then the key; a body that fails validation is answered
when the route calls `parsed.get()`. The headers stay declared, so the OpenAPI document is
unchanged.

FastAPI still runs such a route's requests through its own handler (dependency solving,
exit stacks, parameters) although it has one dependency and returns a `Response`: with the
call already one dependency, that was 18-25% of the API process's CPU a transfer at the
single-transfer peak. `serve_first` puts a plain Starlette route for the same path and
method in front of the FastAPI route: it resolves the same `KeyedJson` and calls the same
endpoint function, and the app's exception handlers answer its errors as before. The
FastAPI route stays, never reached, for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel
from starlette.routing import Route

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

__all__ = ["Keyed", "KeyedJson", "serve_first"]

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

    async def resolve(self, request: Request) -> Keyed[M]:
        """The same, for a route outside FastAPI (`serve_first`)."""
        headers = request.headers
        return await self(request, headers.get("authorization"), headers.get("idempotency-key"))


def serve_first(
    router: APIRouter,
    path: str,
    call: KeyedJson[M],
    endpoint: Callable[[Keyed[M]], Awaitable[Response]],
) -> Route:
    """Serve POST `path` with `endpoint` from a Starlette route ahead of the router's
    FastAPI route for it (which must resolve `call` and call `endpoint`). Returns the route,
    for an app that serves it ahead of its whole routing (`neobank.api.hot`)."""

    async def serve(request: Request) -> Response:
        # FastAPI records only its own routes in the scope; the request metrics read it.
        request.scope["route"] = route
        return await endpoint(await call.resolve(request))

    route = Route(path, serve, methods=["POST"], include_in_schema=False)
    router.routes.insert(0, route)
    return route
