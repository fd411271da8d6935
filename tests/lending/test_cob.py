"""Close of business: missed payments walk a loan through the delinquency buckets with late
interest; a date runs once (idempotent) and an interrupted run resumes where it stopped."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from neobank.lending.booking import business_day, load_loan
from neobank.lending.close_of_business import run_close_of_business
from neobank.lending.repayments import repay
from tests.conftest import BankDriver
from tests.customers.helpers import bearer, customer_token
from tests.lending.loans_kit import approved_application, idem, receivables, seoul_noon


async def _loans(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection, count: int
) -> list[dict[str, Any]]:
    made = []
    for _ in range(count):
        account = await bank.account()
        app_id = await approved_application(db, account["customer_id"], account["id"])
        response = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=idem())
        assert response.status_code == 201, response.text
        made.append(response.json())
    return made


async def _interest_invariant(db: asyncpg.Connection, loan_id: uuid.UUID) -> None:
    """The interest receivable holds exactly: unpaid interest of due installments, the
    current period's booked accrual, and unpaid late interest."""
    loan = await load_loan(db, loan_id)
    assert loan is not None
    principal, interest = await receivables(db, loan_id)
    assert principal == loan.principal_outstanding
    assert interest == loan.interest_due + loan.interest_booked + loan.late_interest_booked


async def test_missed_payments_walk_through_the_buckets(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    (loan,) = await _loans(client, bank, db, 1)
    loan_id = uuid.UUID(loan["id"])
    services = app.state.services
    first_due = date.fromisoformat(loan["schedule"][0]["due_date"])
    seen: dict[str, date] = {}
    day = date.fromisoformat(loan["start_date"])
    while day <= first_due + timedelta(days=95):
        await run_close_of_business(services, day)
        state = await load_loan(db, loan_id)
        assert state is not None
        seen.setdefault(state.delinquency_bucket, day)
        day += timedelta(days=1)
    assert seen == {
        "current": date.fromisoformat(loan["start_date"]),
        "1-30": first_due + timedelta(days=1),
        "31-60": first_due + timedelta(days=31),
        "61-90": first_due + timedelta(days=61),
        "90+": first_due + timedelta(days=91),
    }
    state = await load_loan(db, loan_id)
    assert state is not None and state.days_past_due == 95
    statuses = [i.status for i in state.installments]
    assert statuses[:4] == ["overdue"] * 4 and statuses[4:] == ["scheduled"] * 8
    # Late interest on overdue principal at 9 % (6 % + 3 %p), booked in whole won.
    assert state.late_rate_bps == 900
    assert state.late_interest_booked > 0
    await _interest_invariant(db, loan_id)
    changes = await db.fetch(
        "SELECT payload FROM events WHERE aggregate_id = $1 AND type = "
        "'loan.delinquency_changed' ORDER BY id",
        loan["id"],
    )
    assert [c["payload"]["to"] for c in changes] == ["1-30", "31-60", "61-90", "90+"]
    # Paying everything due (and late) brings it back to current; the regular accrual stays.
    account = loan["account_id"]
    owed = state.late_interest_booked + state.interest_due + state.principal_due
    answer, _ = await repay(
        services, loan_id, uuid.UUID(account), owed, None, None, now=seoul_noon(day)
    )
    assert answer.status_code == 201, answer.body
    assert answer.body["fees"] == state.late_interest_booked
    assert answer.body["loan"]["delinquency_bucket"] == "current"
    assert all(i["status"] != "overdue" for i in answer.body["loan"]["schedule"])
    await _interest_invariant(db, loan_id)
    assert (await bank.check())["balanced"] is True


async def test_a_date_runs_once_and_an_interrupted_run_resumes(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    loans = await _loans(client, bank, db, 5)
    services = app.state.services
    start = date.fromisoformat(loans[0]["start_date"])
    await run_close_of_business(services, start)
    day = start + timedelta(days=1)
    # Interrupted after 2 loans (as a crash would): the date stays running.
    assert await run_close_of_business(services, day, loans_max=2) == 2
    status = (await client.get(f"/v1/ops/close-of-business/{day}")).json()
    assert (status["status"], status["loans_done"], status["loans_remaining"]) == (
        "running",
        2,
        3,
    )
    # Run again: only the other 3 are processed; then the date is complete.
    assert await run_close_of_business(services, day) == 3
    status = (await client.get(f"/v1/ops/close-of-business/{day}")).json()
    assert (status["status"], status["loans_done"], status["loans_remaining"]) == (
        "completed",
        5,
        0,
    )
    booked = await db.fetch("SELECT interest_booked, accrued_interest FROM loans")
    assert len({(r["interest_booked"], r["accrued_interest"]) for r in booked}) == 1
    transfers = await db.fetchval("SELECT count(*) FROM transfers")
    # A completed date again: nothing changes; two runs at once do each loan once.
    assert await run_close_of_business(services, day) == 0
    assert await db.fetchval("SELECT count(*) FROM transfers") == transfers
    later = day + timedelta(days=1)
    counts = await asyncio.gather(
        run_close_of_business(services, later), run_close_of_business(services, later)
    )
    assert sum(counts) >= 5
    booked = await db.fetch("SELECT interest_booked, accrued_interest, last_cob_date FROM loans")
    assert len({tuple(r) for r in booked}) == 1 and booked[0]["last_cob_date"] == later
    assert await db.fetchval("SELECT count(*) FROM transfers") == transfers + 5
    for loan in loans:
        await _interest_invariant(db, uuid.UUID(loan["id"]))
    assert (await bank.check())["balanced"] is True


async def test_close_of_business_endpoint(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    today = business_day(datetime.now(UTC))
    future = await client.post(
        "/v1/ops/close-of-business", json={"business_date": str(today + timedelta(days=2))}
    )
    assert future.status_code == 422 and future.json()["code"] == "invalid_business_date"
    response = await client.post("/v1/ops/close-of-business", json={"business_date": str(today)})
    assert response.status_code == 202, response.text
    assert response.json()["status"] == "queued"
    again = await client.post("/v1/ops/close-of-business", json={"business_date": str(today)})
    assert again.status_code == 202
    jobs = await db.fetchval(
        "SELECT count(*) FROM procrastinate.procrastinate_jobs WHERE task_name = $1",
        "lending.close_of_business",
    )
    assert jobs == 1
    status = await client.get(f"/v1/ops/close-of-business/{today}")
    assert status.json()["status"] == "queued"


async def test_the_job_closes_the_date(http: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    """With workers running (the lending conftest's app), POST queues the job and GET shows
    the date completed; a customer may not start it."""
    bank = BankDriver(http)
    (loan,) = await _loans(http, bank, db, 1)
    today = date.fromisoformat(loan["start_date"])
    response = await http.post("/v1/ops/close-of-business", json={"business_date": str(today)})
    assert response.status_code == 202, response.text
    for _ in range(200):
        status = (await http.get(f"/v1/ops/close-of-business/{today}")).json()
        if status["status"] == "completed":
            break
        await asyncio.sleep(0.05)
    assert status["status"] == "completed" and status["loans_done"] == 1
    state = await load_loan(db, uuid.UUID(loan["id"]))
    assert state is not None and state.last_cob_date == today
    done = await http.post("/v1/ops/close-of-business", json={"business_date": str(today)})
    assert done.status_code == 202 and done.json()["status"] == "completed"
    token = await customer_token(http, loan["customer_id"])
    refused = await http.post(
        "/v1/ops/close-of-business",
        json={"business_date": str(today)},
        headers=bearer(token),
    )
    assert refused.status_code == 403


async def test_ops_users_with_the_operations_role_run_close_of_business(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    """Named ops users with the role may start it (audited under their name); others may not."""
    from tests.ops.conftest import create_user

    operator = await create_user(client, "night.shift", ["operations"])
    maker = await create_user(client, "credit.maker", ["lending_maker"])
    auditor = await create_user(client, "internal.audit", ["auditor"])
    today = business_day(datetime.now(UTC))
    body = {"business_date": str(today)}
    refused = await client.post(
        "/v1/ops/close-of-business", json=body, headers=bearer(maker["token"])
    )
    assert refused.status_code == 403, refused.text
    started = await client.post(
        "/v1/ops/close-of-business", json=body, headers=bearer(operator["token"])
    )
    assert started.status_code == 202, started.text
    watched = await client.get(
        f"/v1/ops/close-of-business/{today}", headers=bearer(auditor["token"])
    )
    assert watched.status_code == 200 and watched.json()["status"] == "queued"
    actors = await db.fetch(
        "SELECT actor FROM audit_log WHERE action = 'close_of_business.requested' AND subject = $1",
        f"business_date:{today}",
    )
    assert [r["actor"] for r in actors] == ["night.shift"]
