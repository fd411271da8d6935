"""Loan applications' failure paths: validation, who may apply and read, idempotent
submission, the resident id on file, cancelling and offers expiring."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import pytest

from neobank.lending.offers import expire_offers
from neobank.onboarding.sealing import sealer_for
from neobank.workers.tasks import load_blueprints
from tests.agencies.ids import wrong_check_digit
from tests.customers.helpers import bearer, customer_token, register_device
from tests.lending.conftest import (
    Applicant,
    application,
    new_applicant,
    post,
    prime,
    resident_id_for,
    sim_config,
    wait_for,
)

PATH = "/v1/loan-applications"


def _code(reply: httpx.Response, status: int) -> str:
    assert reply.status_code == status, reply.text
    return str(reply.json()["code"])


@pytest.fixture
async def applicant(http: httpx.AsyncClient) -> Applicant:
    return await new_applicant(http, prime)


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"product": "mortgage"}, 422, "loan_product_not_found"),
        ({"amount": 999_999}, 422, "loan_terms_out_of_range"),
        ({"amount": 50_000_001}, 422, "loan_terms_out_of_range"),
        ({"term_months": 5}, 422, "loan_terms_out_of_range"),
        ({"term_months": 61}, 422, "loan_terms_out_of_range"),
        ({"amount": 1_000_000.5}, 422, "validation_error"),
        ({"amount": "1000000"}, 422, "validation_error"),
        ({"amount": -1}, 422, "validation_error"),
        ({"annual_income": -1}, 422, "validation_error"),
        ({"surprise": 1}, 422, "validation_error"),
        ({"resident_id": None}, 422, "resident_id_required"),
        ({"resident_id": "900101-1234567x"}, 422, "validation_error"),
        ({"resident_id": "not a number"}, 422, "invalid_resident_id"),
        ({"account_id": str(uuid.uuid4())}, 404, "account_not_found"),
        ({"customer_id": str(uuid.uuid4())}, 404, "customer_not_found"),
    ],
)
async def test_an_invalid_application_is_refused_and_nothing_is_stored(
    applicant: Applicant,
    db: asyncpg.Connection,
    change: dict[str, object],
    status: int,
    code: str,
) -> None:
    assert _code(await applicant.apply(**change), status) == code
    assert await db.fetchval("SELECT count(*) FROM loan_applications") == 0
    assert (
        await db.fetchval(
            "SELECT count(*) FROM procrastinate.procrastinate_jobs "
            "WHERE task_name = 'lending.decide_application'"
        )
        == 0
    )


async def test_a_wrong_check_digit_is_an_invalid_resident_id(applicant: Applicant) -> None:
    reply = await applicant.apply(resident_id=wrong_check_digit(applicant.resident_id))
    assert _code(reply, 422) == "invalid_resident_id"


async def test_another_customers_account_or_a_closed_one_is_not_eligible(
    http: httpx.AsyncClient, applicant: Applicant
) -> None:
    other = await new_applicant(http, prime)
    reply = await applicant.apply(account_id=other.account_id)
    assert _code(reply, 422) == "account_not_eligible"
    closed = await post(http, f"/v1/accounts/{applicant.account_id}/status", {"status": "closed"})
    assert closed.status_code == 200, closed.text
    assert _code(await applicant.apply(), 422) == "account_not_eligible"


async def test_an_idempotency_key_is_required_and_replays_the_same_application(
    http: httpx.AsyncClient, applicant: Applicant, db: asyncpg.Connection
) -> None:
    missing = await http.post(PATH, json=applicant.body())
    assert _code(missing, 400) == "idempotency_key_required"
    first = await applicant.apply(key="loan-1")
    again = await applicant.apply(key="loan-1")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert _code(await applicant.apply(key="loan-1", amount=2_000_000), 422) == (
        "idempotency_key_mismatch"
    )
    assert await db.fetchval("SELECT count(*) FROM loan_applications") == 1


async def test_a_customer_applies_for_itself_only_and_sees_only_its_own(
    http: httpx.AsyncClient, applicant: Applicant
) -> None:
    other = await new_applicant(http, prime)
    mine = bearer(await customer_token(http, applicant.customer_id))
    theirs = await other.submit()
    # The ops header is replaced by the customer's token on each of these calls.
    own = await post(http, PATH, applicant.body(), headers=mine)
    assert own.status_code == 202, own.text
    as_other = await post(http, PATH, other.body(), headers=mine)
    assert _code(as_other, 404) == "customer_not_found"
    with_their_account = await post(
        http, PATH, applicant.body(account_id=other.account_id), headers=mine
    )
    assert _code(with_their_account, 404) == "account_not_found"
    assert _code(await http.get(f"{PATH}/{theirs['id']}", headers=mine), 404) == (
        "loan_application_not_found"
    )
    listed = await http.get(PATH, headers=mine)
    assert [item["id"] for item in listed.json()["items"]] == [own.json()["id"]]
    other_list = await http.get(PATH, params={"customer_id": other.customer_id}, headers=mine)
    assert _code(other_list, 404) == "customer_not_found"
    cancel = await http.post(f"{PATH}/{theirs['id']}/cancel", headers=mine)
    assert _code(cancel, 404) == "loan_application_not_found"
    assert (await http.get(f"{PATH}/{own.json()['id']}", headers=mine)).status_code == 200
    assert (await http.get(PATH, headers={"Authorization": "Bearer nope"})).status_code == 401


async def _complete_onboarding(
    http: httpx.AsyncClient, db: asyncpg.Connection, lending_app: object, applicant: Applicant
) -> None:
    """A completed onboarding on file for the customer (as onboarding.complete leaves it)."""
    sealer = await sealer_for(lending_app.state.services.pool)  # type: ignore[attr-defined]
    device = await register_device(http, applicant.customer_id)
    digits = applicant.resident_id.replace("-", "")
    now = datetime.now(UTC)
    await db.execute(
        """
        INSERT INTO onboardings (id, ticket_id, status, name, birth_date, phone,
            resident_id_sealed, resident_id_digest, resident_id_masked, device_public_key,
            id_status, acct_status, acct_tries_left, customer_id, device_id, account_id,
            created_at, updated_at, expires_at)
        VALUES ($1, $2, 'completed', 'Lee Jiwoo', $3, '+82 10-1234-5678', $4, $5, $6, $7,
            'passed', 'passed', 5, $8::uuid, $9::uuid, $10::uuid, $11, $11, $11)
        """,
        uuid.uuid4(),
        uuid.uuid4().hex,
        date(1990, 1, 1),
        sealer.seal(digits),
        sealer.digest(digits),
        f"{digits[:6]}-{digits[6]}******",
        b"\x00" * 32,
        applicant.customer_id,
        device.id,
        applicant.account_id,
        now,
    )


async def test_the_resident_id_of_a_completed_onboarding_is_used(
    http: httpx.AsyncClient, applicant: Applicant, db: asyncpg.Connection, lending_app: object
) -> None:
    await _complete_onboarding(http, db, lending_app, applicant)
    pending = await applicant.submit(resident_id=None)
    decided = await wait_for(http, pending["id"])
    assert decided["decision"]["bureau_score"] == applicant.report.score
    # The verified number wins over one typed in the body.
    stranger = resident_id_for(lambda r: r.score < 500)
    decided = await wait_for(http, (await applicant.submit(resident_id=stranger))["id"])
    assert decided["decision"]["bureau_score"] == applicant.report.score


async def test_cancelling_a_pending_application_stops_its_decision(
    http: httpx.AsyncClient, applicant: Applicant, db: asyncpg.Connection
) -> None:
    await sim_config(http, bureau={"latency_ms": 600})
    pending = await applicant.submit()
    cancelled = await http.post(f"{PATH}/{pending['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["cancel_reason"] == "ops_request"
    again = await http.post(f"{PATH}/{pending['id']}/cancel")
    assert again.status_code == 200 and again.json() == cancelled.json()
    # The job finds it cancelled (before or after the bureau answers) and decides nothing.
    await wait_for_jobs(db)
    out = await application(http, pending["id"])
    assert out["status"] == "cancelled" and out["decided_at"] is None
    kinds = await db.fetch(
        "SELECT type FROM events WHERE aggregate_id = $1 AND type LIKE 'loan.%'", pending["id"]
    )
    assert "loan.decided" not in {k["type"] for k in kinds}
    assert "loan.application_cancelled" in {k["type"] for k in kinds}


async def wait_for_jobs(db: asyncpg.Connection, timeout_s: float = 10.0) -> None:
    import asyncio

    for _ in range(int(timeout_s / 0.05)):
        left = await db.fetchval(
            "SELECT count(*) FROM procrastinate.procrastinate_jobs"
            " WHERE task_name = 'lending.decide_application' AND status IN ('todo', 'doing')"
        )
        if not left:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("decision jobs still running")


async def test_an_offer_can_be_turned_down_but_a_decline_cannot_be_cancelled(
    http: httpx.AsyncClient, applicant: Applicant
) -> None:
    offer = await wait_for(http, (await applicant.submit())["id"])
    turned_down = await http.post(f"{PATH}/{offer['id']}/cancel")
    assert turned_down.status_code == 200 and turned_down.json()["status"] == "cancelled"
    assert turned_down.json()["decision"]["rate_bps"] == 450  # the decision stays readable
    declined_applicant = await new_applicant(http, lambda r: r.score < 600 and r.delinquencies > 0)
    declined = await wait_for(http, (await declined_applicant.submit())["id"])
    assert declined["status"] == "declined"
    refused = await http.post(f"{PATH}/{declined['id']}/cancel")
    assert _code(refused, 409) == "loan_application_closed"
    missing = await http.post(f"{PATH}/{uuid.uuid4()}/cancel")
    assert _code(missing, 404) == "loan_application_not_found"


async def test_an_offer_expires_on_reading_and_by_the_periodic_job(
    http: httpx.AsyncClient, applicant: Applicant, db: asyncpg.Connection, lending_app: object
) -> None:
    offer = await wait_for(http, (await applicant.submit())["id"])
    assert offer["status"] == "approved"
    await db.execute(
        "UPDATE loan_applications SET offer_expires_at = now() - interval '1 second'"
        " WHERE id = $1::uuid",
        offer["id"],
    )
    read = await application(http, offer["id"])
    assert (read["status"], read["cancel_reason"]) == ("cancelled", "offer_expired")
    assert (
        await db.fetchval("SELECT status FROM loan_applications WHERE id = $1::uuid", offer["id"])
        == "approved"
    )  # not moved yet: that is the job's
    pool = lending_app.state.services.pool  # type: ignore[attr-defined]
    now = datetime.now(UTC)
    assert await expire_offers(pool, now) == 1
    assert await expire_offers(pool, now + timedelta(seconds=1)) == 0
    row = await db.fetchrow(
        "SELECT status, cancel_reason FROM loan_applications WHERE id = $1::uuid", offer["id"]
    )
    assert (row["status"], row["cancel_reason"]) == ("cancelled", "offer_expired")
    assert (
        await db.fetchval(
            "SELECT count(*) FROM events WHERE type = 'loan.offer_expired' AND aggregate_id = $1",
            offer["id"],
        )
        == 1
    )
    cancel = await http.post(f"{PATH}/{offer['id']}/cancel")
    assert cancel.status_code == 200 and cancel.json()["cancel_reason"] == "offer_expired"


def test_the_expiry_job_runs_every_minute() -> None:
    app = load_blueprints()
    periodic = [
        p
        for p in app.periodic_registry.periodic_tasks.values()
        if p.task.name == "lending.expire_offers"
    ]
    assert [p.cron for p in periodic] == ["* * * * *"]
