"""A request the bureau refuses (a 4xx: retrying cannot help) cancels the application with
the reason; it is neither declined (no credit decision was taken) nor left pending."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx

from neobank.agencies.client import build_agency_clients
from neobank.workers.queue import JobResources
from neobank.workers.worker import JobWorker
from tests.lending.conftest import new_applicant, resident_id_for, subprime, wait_for


async def test_a_refused_inquiry_cancels_the_application(
    app: Any, client: httpx.AsyncClient, database_url: str, db: asyncpg.Connection
) -> None:
    # The app runs no jobs: the application waits in the queue while the bureau is primed.
    applicant = await new_applicant(client)
    pending = await applicant.submit()
    agencies = build_agency_clients(None)
    assert agencies.simulator_app is not None
    bureau = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=agencies.simulator_app), base_url="http://sim"
    )
    # Someone else's resident id already went to the bureau under this application's key.
    other = resident_id_for(subprime)
    assert other != applicant.resident_id
    key = await db.fetchval(
        "SELECT inquiry_key FROM loan_applications WHERE id = $1::uuid", pending["id"]
    )
    primed = await bureau.post("/bureau/inquiries", json={"inquiry_key": key, "resident_id": other})
    assert primed.status_code == 200, primed.text
    services = app.state.services
    worker = JobWorker(database_url, JobResources(services.pool, services.engine, agencies))
    await worker.start()
    try:
        done = await wait_for(client, pending["id"], ("cancelled", "declined", "approved"))
    finally:
        await worker.stop()
        await bureau.aclose()
        await agencies.aclose()
    assert done["status"] == "cancelled" and done["cancel_reason"] == "agency_refused"
    assert done["last_agency_error"] == "bureau: inquiry_key_conflict"
    event = await db.fetchval(
        "SELECT payload FROM events WHERE type = 'loan.application_cancelled'"
        " AND aggregate_id = $1",
        pending["id"],
    )
    assert event["agency_code"] == "inquiry_key_conflict" and event["agency_status"] == 409
    failed = await db.fetchval(
        "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE status = 'failed'"
    )
    assert failed == 0  # nothing left for an engineer to retry by hand
