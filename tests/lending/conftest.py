"""Shared lending fixtures: the app with its background workers and the agencies in-process,
an ops client, and applicants whose bureau profile is known in advance.

The simulated bureau's report is a pure function of the resident id
(`neobank.agencies.bureau.bureau_report`), so an applicant of a given profile is made by
searching resident ids for one whose report fits.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from neobank.agencies.bureau import BureauReport, bureau_report
from neobank.config import Settings
from neobank.lending.catalog import seed_catalog
from tests.agencies.ids import resident_id
from tests.conftest import OPS_TOKEN

SIM = "/_agencies/_sim"
DECIDED = ("approved", "declined")
WAIT_TIMEOUT_S = 20.0
POLL_S = 0.05
_serial = itertools.count(1)

Profile = Callable[[BureauReport], bool]


def prime(r: BureauReport) -> bool:
    """Top grid band, clean history, no debt: approved for anything a product offers."""
    return r.score >= 850 and r.delinquencies == 0 and r.open_loans == 0


def good(r: BureauReport) -> bool:
    """Approved, at a middle band (650-749: 900 bps for a credit loan)."""
    return 650 <= r.score < 750 and r.delinquencies == 0 and r.open_loans <= 1


def subprime(r: BureauReport) -> bool:
    """Below every cut-off but the emergency loan's, with delinquencies and many loans."""
    return r.score < 600 and r.delinquencies > 0 and r.open_loans >= 5


def resident_id_for(profile: Profile) -> str:
    """A valid resident id (born 1990-1999) whose bureau report fits the profile."""
    for _ in range(200_000):
        n = next(_serial)
        candidate = resident_id(f"9{n % 10}0101{1 + n % 2}{n % 100_000:05d}")
        if profile(bureau_report("probe", candidate)):
            return candidate
    raise AssertionError("no resident id fits the profile")


def report_of(resident: str) -> BureauReport:
    return bureau_report("probe", resident)


@pytest.fixture
async def lending_app(settings: Settings) -> AsyncIterator[Any]:
    """The app with its workers (the decision job) and the simulators in-process."""
    from neobank.api.app import create_app

    application = create_app(settings, run_workers=True)
    async with application.router.lifespan_context(application):
        # Harmless once the lifespan seeds the catalog itself.
        await seed_catalog(application.state.services.pool)
        yield application


@pytest.fixture
async def http(lending_app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client holding the ops token."""
    transport = httpx.ASGITransport(app=lending_app)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://neobank.test",
        headers={"Authorization": f"Bearer {OPS_TOKEN}"},
    ) as client:
        yield client


async def post(
    http: httpx.AsyncClient, path: str, body: Any, *, key: str | None = None, **kw: Any
) -> httpx.Response:
    headers = {"Idempotency-Key": key or uuid.uuid4().hex, **kw.pop("headers", {})}
    return await http.post(path, json=body, headers=headers, **kw)


async def sim_config(http: httpx.AsyncClient, **agencies: dict[str, float]) -> None:
    reply = await http.put(f"{SIM}/config", json=agencies)
    assert reply.status_code == 200, reply.text


async def sim_stats(http: httpx.AsyncClient) -> dict[str, dict[str, int]]:
    reply = await http.get(f"{SIM}/stats")
    assert reply.status_code == 200, reply.text
    stats: dict[str, dict[str, int]] = reply.json()
    return stats


@dataclass
class Applicant:
    """A customer with a funded-nothing demand deposit account and a known bureau report."""

    http: httpx.AsyncClient
    customer_id: str
    account_id: str
    resident_id: str

    @property
    def report(self) -> BureauReport:
        return report_of(self.resident_id)

    def body(self, product: str = "credit_loan", **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "customer_id": self.customer_id,
            "product": product,
            "amount": 10_000_000,
            "term_months": 24,
            "account_id": self.account_id,
            "annual_income": 60_000_000,
            "resident_id": self.resident_id,
        }
        if product == "emergency_loan":
            body |= {"amount": 2_000_000, "term_months": 6}
        if product == "overdraft_line":
            body |= {"amount": 5_000_000, "term_months": 12}
        body.update(changes)
        return {k: v for k, v in body.items() if v is not None}

    async def apply(
        self, product: str = "credit_loan", *, key: str | None = None, **changes: Any
    ) -> httpx.Response:
        body = self.body(product, **changes)
        return await post(self.http, "/v1/loan-applications", body, key=key)

    async def submit(self, product: str = "credit_loan", **changes: Any) -> dict[str, Any]:
        """Apply and check the 202; returns the pending application."""
        reply = await self.apply(product, **changes)
        assert reply.status_code == 202, reply.text
        out: dict[str, Any] = reply.json()
        assert out["status"] == "pending"
        return out


async def new_applicant(http: httpx.AsyncClient, profile: Profile = prime) -> Applicant:
    customer = await post(
        http,
        "/v1/customers",
        {"name": "Lee Jiwoo", "birth_date": "1990-01-01", "phone": "+82 10-1234-5678"},
    )
    assert customer.status_code == 201, customer.text
    customer_id = customer.json()["id"]
    account = await post(
        http, "/v1/accounts", {"customer_id": customer_id, "product": "demand_deposit"}
    )
    assert account.status_code == 201, account.text
    return Applicant(http, customer_id, account.json()["id"], resident_id_for(profile))


async def application(http: httpx.AsyncClient, application_id: str) -> dict[str, Any]:
    reply = await http.get(f"/v1/loan-applications/{application_id}")
    assert reply.status_code == 200, reply.text
    out: dict[str, Any] = reply.json()
    return out


async def wait_for(
    http: httpx.AsyncClient,
    application_id: str,
    statuses: tuple[str, ...] = DECIDED,
    timeout_s: float = WAIT_TIMEOUT_S,
) -> dict[str, Any]:
    """Poll the application until its status is one of `statuses`."""
    deadline = time.monotonic() + timeout_s
    while True:
        out = await application(http, application_id)
        if out["status"] in statuses:
            return out
        assert time.monotonic() < deadline, f"still {out['status']} ({out['stage']}): {out}"
        await asyncio.sleep(POLL_S)


async def approved(
    http: httpx.AsyncClient, product: str = "credit_loan", profile: Profile = prime, **body: Any
) -> tuple[Applicant, dict[str, Any]]:
    """An applicant and their approved application (for the tests of accepting offers)."""
    applicant = await new_applicant(http, profile)
    pending = await applicant.submit(product, **body)
    decided = await wait_for(http, pending["id"])
    assert decided["status"] == "approved", decided
    return applicant, decided
