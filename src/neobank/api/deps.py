"""What every route needs: the process's services, who is calling, and the idempotency key."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Header, Query, Request

from neobank.config import Settings
from neobank.customers.auth import TokenIssuer
from neobank.customers.errors import Forbidden, Unauthorized
from neobank.idempotency import Claim, InFlight, request_hash
from neobank.idempotency.errors import IdempotencyKeyMissing
from neobank.ledger.engine import LedgerEngine
from neobank.onboarding.changes import ChangeFeed
from neobank.onboarding.waiting_room import WaitingRoom
from neobank.pagination import PAGE_LIMIT_MAX
from neobank.payments.fees import FeeBook

__all__ = [
    "Caller",
    "IdempotencyKey",
    "Ops",
    "PageCursor",
    "PageLimit",
    "Principal",
    "Services",
    "ServicesDep",
    "bearer_token",
    "claim_for",
    "is_ops_token",
]

IDEMPOTENCY_KEY_LENGTH_MAX = 255
_IDEMPOTENCY_KEY = re.compile(f"[\\x20-\\x7e]{{1,{IDEMPOTENCY_KEY_LENGTH_MAX}}}")


@dataclass
class Services:
    settings: Settings
    pool: asyncpg.Pool
    engine: LedgerEngine
    inflight: InFlight
    fees: FeeBook
    tokens: TokenIssuer
    ops_token: str
    waiting_room: WaitingRoom | None = None
    onboarding_changes: ChangeFeed | None = None


@dataclass(frozen=True)
class Principal:
    """Who is calling: the ops token, or a customer through a device-bound token."""

    customer_id: uuid.UUID | None

    @property
    def is_ops(self) -> bool:
        return self.customer_id is None

    @property
    def scope(self) -> str:
        return "ops" if self.customer_id is None else f"customer:{self.customer_id}"

    def may_touch(self, customer_id: uuid.UUID) -> bool:
        return self.is_ops or self.customer_id == customer_id


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer ...` header; Unauthorized without one."""
    scheme, _, token = (authorization or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:  # the scheme is case-insensitive (RFC 9110)
        raise Unauthorized()
    return token


def is_ops_token(services: Services, token: str) -> bool:
    return secrets.compare_digest(token.encode(), services.ops_token.encode())


async def get_principal(
    services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    token = bearer_token(authorization)
    if is_ops_token(services, token):
        return Principal(customer_id=None)
    return Principal(customer_id=services.tokens.verify(token).customer_id)


Caller = Annotated[Principal, Depends(get_principal)]


async def require_ops(principal: Caller) -> Principal:
    if not principal.is_ops:
        raise Forbidden("only the ops token may do this")
    return principal


Ops = Annotated[Principal, Depends(require_ops)]


async def get_idempotency_key(
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> str:
    if idempotency_key is None:
        raise IdempotencyKeyMissing()
    # Printable ASCII, as an HTTP structured-field string: header bytes arrive decoded as
    # Latin-1, so anything else would be stored as a different text than the client sent.
    if not _IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise IdempotencyKeyMissing(
            f"The Idempotency-Key must be 1 to {IDEMPOTENCY_KEY_LENGTH_MAX} printable ASCII "
            "characters"
        )
    return idempotency_key


IdempotencyKey = Annotated[str, Depends(get_idempotency_key)]


# The query parameters of every list (API.md "Lists"), bounded in one place.
CURSOR_LENGTH_MAX = 200
PageLimit = Annotated[int, Query(ge=1, le=PAGE_LIMIT_MAX)]
PageCursor = Annotated[str | None, Query(max_length=CURSOR_LENGTH_MAX)]


def claim_for(request: Request, principal: Principal, key: str, body: Any) -> Claim:
    return Claim(principal.scope, key, request_hash(request.method, request.url.path, body))
