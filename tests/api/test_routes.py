"""The routers are matched in the order of `neobank.api.app.ROUTERS` (the transfers' first,
for speed); that order changes no answer only while no path belongs to two routers."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import Match, Route

from neobank.api.app import ROUTERS
from neobank.payments.router import router as payments_router


def _shared_paths(routers: Sequence[APIRouter]) -> list[tuple[str, str]]:
    """(a, b) where a path of router A's route `a` is also matched by router B's `b`."""
    routes = [(n, r) for n, router in enumerate(routers) for r in router.routes]
    assert all(isinstance(r, Route) for _, r in routes), "a router includes another"
    return [
        (a.path, b.path)
        for (na, a), (nb, b) in itertools.permutations(routes, 2)
        if isinstance(a, Route)
        and isinstance(b, Route)
        and a.methods
        and b.methods
        and na != nb
        and a.methods & b.methods
        and b.path_regex.match(re.sub(r"\{[^}]+\}", "x1", a.path))
    ]


def test_no_path_belongs_to_two_routers() -> None:
    assert _shared_paths(ROUTERS) == []


def test_a_path_of_two_routers_is_found() -> None:
    one, other = APIRouter(), APIRouter()
    one.get("/v1/accounts/{account_id}")(lambda account_id: None)
    other.get("/v1/accounts/frozen")(lambda: None)
    other.post("/v1/accounts/{account_id}")(lambda account_id: None)  # another method
    assert _shared_paths([one, other]) == [("/v1/accounts/frozen", "/v1/accounts/{account_id}")]


def test_the_hot_routes_are_served_outside_fastapi() -> None:
    """`serve_first` (neobank.api.keyed): their Starlette routes come before FastAPI's."""
    for path in ("/v1/transfers", "/v1/transfers/batch"):
        scope = {"type": "http", "method": "POST", "path": path, "root_path": ""}
        first = next(r for r in payments_router.routes if r.matches(scope)[0] is Match.FULL)
        assert isinstance(first, Route) and not isinstance(first, APIRoute)
