"""A small stand-in for the bank's launch-day API (API.md shapes), with the real agency
simulator mounted at ``/_agencies`` (its clearing house carries the 1 KRW memos).

The waiting room serves tickets in order at ``admit_rate_per_s`` (a ticket is admitted
``1 / admit_rate_per_s`` after the one before it, or at once; its ETA is the time to that);
the identity check passes ``id_check_s`` after it was asked for. Knobs make it misbehave: the
first ``start_failures`` starts answer 500, ``wrong_code`` sends a memo whose code the bank
will not accept.
"""

from __future__ import annotations

import bisect
import itertools
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from neobank.agencies import create_simulator_app

OPS_TOKEN = "fake-ops-token"


@dataclass
class FakeBankKnobs:
    admit_rate_per_s: float = 1000.0
    id_check_s: float = 0.0
    poll_after_ms: int = 100
    start_failures: int = 0
    wrong_code: bool = False


@dataclass
class _Onboarding:
    id: str
    token: str
    id_status: str = "not_started"
    id_due: float = 0.0
    acct_status: str = "not_started"
    code: str = ""
    status: str = "in_progress"


@dataclass
class _State:
    sequence: itertools.count[int] = field(default_factory=itertools.count)
    last_admission: float = 0.0
    # ticket id -> (sequence number, issued at, admitted at); admission times in ticket order
    tickets: dict[str, tuple[int, float, float]] = field(default_factory=dict)
    admissions: list[float] = field(default_factory=list)
    onboardings: dict[str, _Onboarding] = field(default_factory=dict)
    starts: int = 0


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


def create_fake_bank(
    knobs: FakeBankKnobs | None = None, simulator: FastAPI | None = None
) -> FastAPI:
    """The fake bank; its 1 KRW credits go to ``simulator`` (default: a new one, mounted)."""
    knobs = knobs or FakeBankKnobs()
    state = _State()
    simulator = simulator or create_simulator_app(seed=1)
    clearing = simulator.state.simulator.clearing
    app = FastAPI()
    app.mount("/_agencies", simulator)

    def ticket(ticket_id: str) -> dict[str, Any]:
        k, issued, at = state.tickets[ticket_id]
        now = time.time()
        waiting = k - bisect.bisect_right(state.admissions, now, hi=k)
        out: dict[str, Any] = {
            "ticket_id": ticket_id,
            "status": "admitted" if now >= at else "waiting",
            "position": 0 if now >= at else waiting + 1,
            "eta_seconds": max(0.0, at - now),
            "poll_after_ms": knobs.poll_after_ms,
            "issued_at": _iso(issued),
        }
        if now >= at:
            out |= {"admission_token": f"adm-{ticket_id}", "admitted_at": _iso(at)}
        return out

    def view(o: _Onboarding) -> dict[str, Any]:
        if o.id_status == "pending" and time.time() >= o.id_due:
            o.id_status = "passed"
        if o.status == "in_progress" and o.id_status == "passed" and o.acct_status == "passed":
            o.status = "ready"
        steps = {
            "id_verification": {"status": o.id_status},
            "account_verification": {"status": o.acct_status, "tries_left": 5},
        }
        out = {"id": o.id, "status": o.status, "steps": steps, "next_step": None}
        return out | {"poll_after_ms": knobs.poll_after_ms}

    def caller(onboarding_id: str, authorization: str | None) -> _Onboarding:
        found = state.onboardings.get(onboarding_id)
        if found is None or authorization != f"Bearer {found.token}":
            raise HTTPException(404)
        return found

    @app.post("/v1/waiting-room/tickets", status_code=201)
    async def take_ticket(body: dict[str, Any]) -> dict[str, Any]:
        ticket_id, now = uuid.uuid4().hex, time.time()
        at = max(now, state.last_admission + 1 / knobs.admit_rate_per_s)
        state.tickets[ticket_id] = (next(state.sequence), now, at)
        state.last_admission = at
        state.admissions.append(at)
        return ticket(ticket_id)

    @app.get("/v1/waiting-room/tickets/{ticket_id}")
    async def read_ticket(ticket_id: str) -> dict[str, Any]:
        return ticket(ticket_id)

    @app.get("/v1/waiting-room")
    async def room(authorization: str | None = Header(None)) -> dict[str, Any]:
        if authorization != f"Bearer {OPS_TOKEN}":
            raise HTTPException(401)
        now = time.time()
        admitted = bisect.bisect_right(state.admissions, now)
        return {
            "waiting": len(state.tickets) - admitted,
            "active": 0,
            "limit": 10,
            "admitted_total": admitted,
            "tickets_total": len(state.tickets),
            "admission_rate_per_s": knobs.admit_rate_per_s,
        }

    @app.post("/v1/onboarding", status_code=201, response_model=None)
    async def start(
        body: dict[str, Any], x_admission_token: str = Header(), idempotency_key: str = Header()
    ) -> dict[str, Any] | JSONResponse:
        state.starts += 1
        if state.starts <= knobs.start_failures:
            return JSONResponse({"code": "internal", "status": 500}, status_code=500)
        assert x_admission_token.startswith("adm-") and body["resident_id"][6] == "-"
        o = _Onboarding(id=uuid.uuid4().hex, token=uuid.uuid4().hex)
        state.onboardings[o.id] = o
        return view(o) | {"onboarding_token": o.token}

    @app.get("/v1/onboarding/{onboarding_id}")
    async def read(onboarding_id: str, authorization: str | None = Header(None)) -> dict[str, Any]:
        return view(caller(onboarding_id, authorization))

    @app.post("/v1/onboarding/{onboarding_id}/id-verification", status_code=202)
    async def id_check(
        onboarding_id: str, body: dict[str, Any], authorization: str | None = Header(None)
    ) -> dict[str, Any]:
        o = caller(onboarding_id, authorization)
        o.id_status, o.id_due = "pending", time.time() + knobs.id_check_s
        return view(o)

    @app.post("/v1/onboarding/{onboarding_id}/account-verification", status_code=202)
    async def account_check(
        onboarding_id: str, body: dict[str, Any], authorization: str | None = Header(None)
    ) -> dict[str, Any]:
        o = caller(onboarding_id, authorization)
        o.code = f"{uuid.uuid4().int % 10_000:04d}"
        memo_code = f"{(int(o.code) + 1) % 10_000:04d}" if knobs.wrong_code else o.code
        clearing.deliver(
            body["bank_code"],
            body["account_number"],
            1,
            "KRW",
            f"NEOBANK {memo_code}",
            o.id,
            datetime.now(UTC),
        )
        o.acct_status = "sent"
        return view(o)

    @app.post("/v1/onboarding/{onboarding_id}/account-verification/confirm", response_model=None)
    async def confirm(
        onboarding_id: str, request: Request, authorization: str | None = Header(None)
    ) -> dict[str, Any] | JSONResponse:
        o = caller(onboarding_id, authorization)
        if (await request.json())["code"] != o.code:
            problem = {"code": "verification_code_mismatch", "status": 422}
            return JSONResponse(problem, status_code=422)
        o.acct_status = "passed"
        return view(o)

    @app.post("/v1/onboarding/{onboarding_id}/complete", status_code=201)
    async def complete(
        onboarding_id: str, authorization: str | None = Header(None)
    ) -> dict[str, Any]:
        o = caller(onboarding_id, authorization)
        assert view(o)["status"] == "ready"
        o.status = "completed"
        return {"customer_id": uuid.uuid4().hex, "device_id": uuid.uuid4().hex, "account": {}}

    return app
