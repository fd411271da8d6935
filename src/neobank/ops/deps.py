"""Who is calling the ops routes: an ops user (by token digest) or the bootstrap ops token,
and the role a route needs."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Literal, get_args

from fastapi import Depends, Header

from neobank.api.deps import ServicesDep, bearer_token, is_ops_token
from neobank.customers.errors import Forbidden, Unauthorized
from neobank.ops.tokens import token_digest

__all__ = [
    "BOOTSTRAP_ACTOR",
    "ROLES",
    "Admin",
    "Auditor",
    "ChangeReader",
    "Checker",
    "Maker",
    "OperationsReader",
    "Operator",
    "OpsActor",
    "Role",
    "UserReader",
    "get_ops_actor",
]

Role = Literal["admin", "lending_maker", "lending_checker", "auditor", "operations"]
ROLES: tuple[Role, ...] = get_args(Role)

# The name the bootstrap token (NEOBANK_ADMIN_TOKEN) acts under. Ops user names cannot contain
# ':' (see schemas), so no user can pass for it in the audit log or the four-eyes check.
BOOTSTRAP_ACTOR = "bootstrap:ops-token"


@dataclass(frozen=True)
class OpsActor:
    name: str
    user_id: uuid.UUID | None  # None: the bootstrap token
    roles: frozenset[str]

    @property
    def scope(self) -> str:
        """The idempotency-key scope: each ops user keeps their own keys."""
        return "ops" if self.user_id is None else f"ops_user:{self.user_id}"


async def get_ops_actor(
    services: ServicesDep, authorization: Annotated[str | None, Header()] = None
) -> OpsActor:
    token = bearer_token(authorization)
    if is_ops_token(services, token):
        # The bootstrap token manages ops users and runs the bank's operations (close of
        # business, as API.md's ops token); changes to terms need named people (four eyes).
        return OpsActor(BOOTSTRAP_ACTOR, None, frozenset({"admin", "operations"}))
    row = await services.pool.fetchrow(
        "SELECT id, name, roles, disabled_at FROM ops_users WHERE token_digest = $1",
        token_digest(token),
    )
    if row is None:
        services.tokens.verify(token)  # Unauthorized unless it is a customer's token
        raise Forbidden("only ops users may do this")
    if row["disabled_at"] is not None:
        raise Unauthorized("This ops user is disabled")
    return OpsActor(row["name"], row["id"], frozenset(row["roles"]))


OpsActorDep = Annotated[OpsActor, Depends(get_ops_actor)]


def _any_of(*roles: Role) -> Callable[[OpsActor], Awaitable[OpsActor]]:
    async def check(actor: OpsActorDep) -> OpsActor:
        if actor.roles.isdisjoint(roles):
            raise Forbidden(f"this needs the role {' or '.join(roles)}")
        return actor

    return check


Admin = Annotated[OpsActor, Depends(_any_of("admin"))]
Maker = Annotated[OpsActor, Depends(_any_of("lending_maker"))]
Checker = Annotated[OpsActor, Depends(_any_of("lending_checker"))]
Auditor = Annotated[OpsActor, Depends(_any_of("auditor"))]
# Makers and checkers read the changes they work on; admins read the users they manage.
ChangeReader = Annotated[OpsActor, Depends(_any_of("lending_maker", "lending_checker", "auditor"))]
UserReader = Annotated[OpsActor, Depends(_any_of("admin", "auditor"))]
# Running the bank's day (close of business); auditors may watch it.
Operator = Annotated[OpsActor, Depends(_any_of("operations"))]
OperationsReader = Annotated[OpsActor, Depends(_any_of("operations", "auditor"))]
