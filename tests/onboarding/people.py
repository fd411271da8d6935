"""A person signing up, step by step over the HTTP API, for the onboarding tests."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.agencies.ids import resident_id
from tests.customers.helpers import b64url, bearer, raw_public_key

SIM = "/_agencies/_sim"
POLL_TIMEOUT_S = 60.0
_serial = itertools.count(1)


def new_resident_id(born: date = date(1990, 1, 1)) -> str:
    """A valid resident id for someone born that day, unique within the test run."""
    gender = "1" if born.year < 2000 else "3"
    return resident_id(f"{born:%y%m%d}{gender}{next(_serial) % 100_000:05d}")


@dataclass
class Person:
    http: httpx.AsyncClient
    name: str = "Kim Minji"
    born: date = date(1990, 1, 1)
    resident_id: str = field(default_factory=new_resident_id)
    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    account_number: str = field(default_factory=lambda: f"110-{uuid.uuid4().int % 10**9:09d}")
    onboarding: dict[str, Any] = field(default_factory=dict)
    # Polls wait what the server asks (poll_after_ms), but at most this long: tests run fast.
    poll_cap_s: float = 0.05
    tickets: list[dict[str, Any]] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.onboarding["onboarding_token"])

    @property
    def path(self) -> str:
        return f"/v1/onboarding/{self.onboarding['id']}"

    async def admission_token(self) -> str:
        reply = await self.http.post("/v1/waiting-room/tickets", json={"flow": "signup"})
        assert reply.status_code == 201, reply.text
        ticket = reply.json()
        self.tickets.append(ticket)
        deadline = asyncio.get_running_loop().time() + POLL_TIMEOUT_S
        while ticket["status"] != "admitted":
            assert asyncio.get_running_loop().time() < deadline, ticket
            await asyncio.sleep(self._poll_wait_s(ticket))
            polled = await self.http.get(f"/v1/waiting-room/tickets/{ticket['ticket_id']}")
            assert polled.status_code == 200, polled.text
            ticket = polled.json()
            self.tickets.append(ticket)
        token: str = ticket["admission_token"]
        return token

    def _poll_wait_s(self, answer: dict[str, Any]) -> float:
        return min(answer.get("poll_after_ms", 50) / 1000, self.poll_cap_s)

    def start_body(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "birth_date": self.born.isoformat(),
            "phone": "010-1234-5678",
            "resident_id": self.resident_id,
            "device_public_key": b64url(raw_public_key(self.key)),
        }

    async def start(self, token: str | None = None, key: str | None = None) -> httpx.Response:
        token = token or await self.admission_token()
        reply = await self.http.post(
            "/v1/onboarding",
            json=self.start_body(),
            headers={"X-Admission-Token": token, "Idempotency-Key": key or str(uuid.uuid4())},
        )
        if reply.status_code == 201:
            self.onboarding = reply.json()
        return reply

    async def post(
        self, step: str, body: dict[str, Any] | None = None, **headers: str
    ) -> httpx.Response:
        return await self.http.post(
            f"{self.path}/{step}",
            json=body or {},
            headers={**self.auth, "Idempotency-Key": str(uuid.uuid4()), **headers},
        )

    async def status(self) -> dict[str, Any]:
        reply = await self.http.get(self.path, headers=self.auth)
        assert reply.status_code == 200, reply.text
        out: dict[str, Any] = reply.json()
        return out

    async def wait_for(self, step: str, *statuses: str) -> dict[str, Any]:
        deadline = asyncio.get_running_loop().time() + POLL_TIMEOUT_S
        while True:
            out = await self.status()
            if out["steps"][step]["status"] in statuses:
                return out
            assert asyncio.get_running_loop().time() < deadline, out
            await asyncio.sleep(self._poll_wait_s(out))

    async def code_from_memo(self) -> str:
        reply = await self.http.get(
            f"{SIM}/clearing/credits", params={"account_number": self.account_number}
        )
        assert reply.status_code == 200, reply.text
        credits = reply.json()
        items = credits["items"] if isinstance(credits, dict) else credits
        memo: str = items[-1]["memo"]
        assert memo.startswith("NEOBANK "), memo
        return memo.split()[-1]

    async def verify_identity(self) -> dict[str, Any]:
        reply = await self.post("id-verification", {"id_card_issue_date": "2015-06-01"})
        assert reply.status_code == 202, reply.text
        return await self.wait_for("id_verification", "passed", "failed")

    async def verify_account(self) -> str:
        body = {"bank_code": "004", "account_number": self.account_number}
        reply = await self.post("account-verification", body)
        assert reply.status_code == 202, reply.text
        await self.wait_for("account_verification", "sent")
        return await self.code_from_memo()

    async def sign_up(self) -> dict[str, Any]:
        reply = await self.start()
        assert reply.status_code == 201, reply.text
        assert (await self.verify_identity())["steps"]["id_verification"]["status"] == "passed"
        code = await self.verify_account()
        confirmed = await self.post("account-verification/confirm", {"code": code})
        assert confirmed.status_code == 200, confirmed.text
        done = await self.post("complete")
        assert done.status_code == 201, done.text
        out: dict[str, Any] = done.json()
        return out
