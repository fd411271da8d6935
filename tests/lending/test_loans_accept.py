"""Accepting an offer: the loan is disbursed through the ledger with its schedule, once, and a
crash between claiming the application and moving the money is finished later; an account
that can no longer take the money leaves the offer open, and keys are never reused."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from neobank.ledger.engine import LedgerEngine
from neobank.ledger.submission import Answer, Submission
from neobank.lending import booking
from neobank.lending.loans import ACCEPT_SWEEP_AGE_S, finish_pending_accepts
from tests.conftest import BankDriver
from tests.customers.helpers import bearer, customer_token
from tests.lending.loans_kit import approved_application, idem, receivables


async def _setup(
    bank: BankDriver, db: asyncpg.Connection, **kw: Any
) -> tuple[dict[str, Any], uuid.UUID]:
    account = await bank.account()
    app_id = await approved_application(db, account["customer_id"], account["id"], **kw)
    return account, app_id


async def test_accept_disburses_and_balances(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, app_id = await _setup(bank, db)
    key = idem()
    response = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=key)
    assert response.status_code == 201, response.text
    loan = response.json()
    assert loan["status"] == "active"
    assert loan["principal"] == loan["principal_outstanding"] == 12_000_000
    assert loan["rate_bps"] == 600
    schedule = loan["schedule"]
    assert len(schedule) == 12
    assert sum(i["principal"] for i in schedule) == 12_000_000
    # The worked example: 12,000,000 over 12 months at 6 %: 1,032,797 a month.
    assert schedule[0]["total"] == 1_032_797 and schedule[0]["interest"] == 60_000
    assert await bank.balance(account["id"]) == 12_000_000
    loan_id = uuid.UUID(loan["id"])
    assert await receivables(db, loan_id) == (12_000_000, 0)
    assert (await bank.check())["balanced"] is True
    # The same key replays; another key finds the loan; the application is accepted.
    again = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=key)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    other = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=idem())
    assert other.status_code == 201 and other.json()["id"] == loan["id"]
    assert await bank.balance(account["id"]) == 12_000_000
    status = await db.fetchval("SELECT status FROM loan_applications WHERE id = $1", app_id)
    assert status == "accepted"
    got = await client.get(f"/v1/loans/{loan_id}")
    assert got.status_code == 200 and got.json()["payoff_amount"] == 12_000_000
    listed = await client.get("/v1/loans", params={"customer_id": account["customer_id"]})
    assert [item["id"] for item in listed.json()["items"]] == [loan["id"]]
    events = await db.fetch(
        "SELECT type FROM events WHERE aggregate_type = 'loan' AND aggregate_id = $1",
        loan["id"],
    )
    assert [e["type"] for e in events] == ["loan.disbursed"]
    accepted = await db.fetchval(
        "SELECT payload FROM events WHERE type = 'loan.offer_accepted' AND aggregate_id = $1",
        str(app_id),
    )
    assert accepted["loan_id"] == loan["id"]


async def test_accept_refuses_what_is_not_an_offer(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, expired = await _setup(bank, db, expires_at=datetime.now(UTC) - timedelta(seconds=1))
    response = await client.post(f"/v1/loan-applications/{expired}/accept", headers=idem())
    assert response.status_code == 409 and response.json()["code"] == "loan_offer_expired"
    app_id = await approved_application(db, account["customer_id"], account["id"])
    await db.execute("UPDATE loan_applications SET status = 'declined' WHERE id = $1", app_id)
    response = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=idem())
    assert response.status_code == 409
    assert response.json()["code"] == "loan_application_not_approved"
    missing = await client.post(f"/v1/loan-applications/{uuid.uuid4()}/accept", headers=idem())
    assert missing.status_code == 404
    assert (await client.get(f"/v1/loans/{uuid.uuid4()}")).status_code == 404


async def test_a_crash_between_claim_and_disbursement_is_finished(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, first = await _setup(bank, db)
    second = await approved_application(db, account["customer_id"], account["id"], limit=2_000_000)
    # Step 1 only, as a crash would leave it: accepted with a loan id, accounts open.
    for app_id in (first, second):
        loan_id = uuid.uuid4()
        await db.execute(
            "UPDATE loan_applications SET status = 'accepted', loan_id = $2, "
            "updated_at = now() - interval '5 minutes' WHERE id = $1",
            app_id,
            loan_id,
        )
        async with db.transaction():
            await booking.ensure_loan_accounts(db, loan_id, "KRW")
    response = await client.post(f"/v1/loan-applications/{first}/accept", headers=idem())
    assert response.status_code == 201, response.text
    assert response.json()["id"] == str(
        await db.fetchval("SELECT loan_id FROM loan_applications WHERE id = $1", first)
    )
    # The sweep finishes the other one.
    assert await finish_pending_accepts(app.state.services) == 1
    assert await finish_pending_accepts(app.state.services) == 0
    assert await bank.balance(account["id"]) == 14_000_000
    assert await db.fetchval("SELECT count(*) FROM loans") == 2
    assert (await bank.check())["balanced"] is True


async def test_a_line_is_opened_and_closed_of_business_through_the_loan_routes(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    """An overdraft application accepted here is opened by the overdraft module, read at GET
    /v1/loans/{id}, and serviced by close of business with the installment loans."""
    from neobank.lending.close_of_business import run_close_of_business

    account, app_id = await _setup(
        bank, db, product="overdraft_line", limit=5_000_000, rate_bps=750
    )
    response = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=idem())
    assert response.status_code == 201, response.text
    line = response.json()
    assert line["kind"] == "revolving" and line["schedule"] == []
    spend = await bank.transfer(account["id"], (await bank.account())["id"], 1_000_000)
    assert spend.status_code == 201, spend.text
    got = (await client.get(f"/v1/loans/{line['id']}")).json()
    assert got["principal_outstanding"] == 1_000_000
    start = date.fromisoformat(got["start_date"])
    await run_close_of_business(app.state.services, start + timedelta(days=2))
    last = await db.fetchval("SELECT last_cob_date FROM loans WHERE id = $1", uuid.UUID(line["id"]))
    assert last == start + timedelta(days=2)
    assert (await bank.check())["balanced"] is True
    # A line has no installment statement (its charges are in the loan's view).
    statement = await client.get(f"/v1/loans/{line['id']}/statement")
    assert statement.status_code == 422, statement.text
    assert statement.json()["code"] == "statement_not_available"


async def test_a_customer_sees_and_repays_only_its_own_loan(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, app_id = await _setup(bank, db, limit=2_000_000)
    stranger = await bank.account()
    mine = bearer(await customer_token(client, account["customer_id"]))
    theirs = bearer(await customer_token(client, stranger["customer_id"]))
    refused = await client.post(
        f"/v1/loan-applications/{app_id}/accept", headers={**theirs, **idem()}
    )
    assert refused.status_code == 404
    response = await client.post(
        f"/v1/loan-applications/{app_id}/accept", headers={**mine, **idem()}
    )
    assert response.status_code == 201, response.text
    loan_id = response.json()["id"]
    assert (await client.get(f"/v1/loans/{loan_id}", headers=mine)).status_code == 200
    assert (await client.get(f"/v1/loans/{loan_id}", headers=theirs)).status_code == 404
    assert (await client.get("/v1/loans", headers=mine)).json()["items"][0]["id"] == loan_id
    body = {"from_account_id": account["id"], "amount": 1_000}
    paid = await client.post(
        f"/v1/loans/{loan_id}/repayments", json=body, headers={**theirs, **idem()}
    )
    assert paid.status_code == 404
    paid = await client.post(
        f"/v1/loans/{loan_id}/repayments", json=body, headers={**mine, **idem()}
    )
    assert paid.status_code == 201 and paid.json()["kind"] == "prepayment"
    statement = await client.get(f"/v1/loans/{loan_id}/statement", headers=mine)
    assert statement.status_code == 200
    assert statement.json()["totals"]["repaid_principal"] == 1_000


async def _set_status(client: httpx.AsyncClient, account_id: object, status: str) -> httpx.Response:
    path = f"/v1/accounts/{account_id}/status"
    return await client.post(path, json={"status": status}, headers=idem())


async def _application(db: asyncpg.Connection, app_id: uuid.UUID) -> tuple[str, Any]:
    row = await db.fetchrow("SELECT status, loan_id FROM loan_applications WHERE id = $1", app_id)
    return row["status"], row["loan_id"]


async def _crashed_after_step_one(db: asyncpg.Connection, app_id: uuid.UUID, age_s: int) -> None:
    """The application as a crash between accept's two steps leaves it."""
    loan_id = uuid.uuid4()
    await db.execute(
        "UPDATE loan_applications SET status = 'accepted', loan_id = $2, "
        "updated_at = now() - make_interval(secs => $3) WHERE id = $1",
        app_id,
        loan_id,
        age_s,
    )
    async with db.transaction():
        await booking.ensure_loan_accounts(db, loan_id, "KRW")


async def test_accept_onto_a_closed_or_frozen_account_changes_nothing(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, app_id = await _setup(bank, db)
    assert (await _set_status(client, account["id"], "frozen")).status_code == 200
    frozen = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=idem())
    assert frozen.status_code == 422 and frozen.json()["code"] == "account_not_eligible"
    assert (await _set_status(client, account["id"], "closed")).status_code == 200
    key = idem()
    closed = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=key)
    assert closed.status_code == 422 and closed.json()["code"] == "account_not_eligible"
    assert await _application(db, app_id) == ("approved", None)
    assert await db.fetchval("SELECT count(*) FROM loans") == 0
    assert await bank.balance(account["id"]) == 0
    offered = "SELECT count(*) FROM events WHERE type = 'loan.offer_accepted'"
    assert await db.fetchval(offered) == 0
    # A closed account stays closed, so the offer can never be taken up onto it; the key was
    # not kept (the refusal changed nothing) and answers the same again.
    reopened = await _set_status(client, account["id"], "active")
    assert reopened.status_code == 422 and reopened.json()["code"] == "invalid_status_change"
    again = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=key)
    assert again.status_code == 422 and again.json()["code"] == "account_not_eligible"
    assert await _application(db, app_id) == ("approved", None)
    assert (await bank.check())["balanced"] is True


async def test_a_refused_disbursement_opens_the_offer_again(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    """The account closed between step 1 and the disbursement: the ledger refuses it, the
    answer says why (a stable code), and the application is approved again without a loan,
    so that neither the customer nor the sweep is stuck on it."""
    account, app_id = await _setup(bank, db)
    await _crashed_after_step_one(db, app_id, age_s=300)
    assert (await _set_status(client, account["id"], "closed")).status_code == 200
    key = idem()
    refused = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=key)
    assert refused.status_code == 422, refused.text
    assert refused.json()["code"] == "account_closed"
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert await _application(db, app_id) == ("approved", None)
    assert await finish_pending_accepts(app.state.services) == 0
    assert await db.fetchval("SELECT count(*) FROM loans") == 0
    assert await bank.balance(account["id"]) == 0
    replayed = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=key)
    assert replayed.status_code == 422 and replayed.headers.get("Idempotent-Replayed") == "true"
    assert (await bank.check())["balanced"] is True


@dataclass
class _FailingEngine:
    """The app's engine, except that disbursing `loan_id` fails as a lost connection would."""

    real: LedgerEngine
    loan_id: uuid.UUID

    async def submit(self, submission: Submission) -> Answer:
        if any(t.debit_account_id == self.loan_id for c in submission.chains for t in c):
            raise ConnectionError("the ledger's connection was lost")
        return await self.real.submit(submission)


@dataclass
class _Deps:
    pool: asyncpg.Pool
    engine: Any


async def test_the_sweep_goes_on_past_an_accept_that_fails(
    app: Any, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, failing = await _setup(bank, db)
    fine = await approved_application(db, account["customer_id"], account["id"], limit=2_000_000)
    await _crashed_after_step_one(db, failing, age_s=600)  # the oldest: swept first
    await _crashed_after_step_one(db, fine, age_s=300)
    services = app.state.services
    _, bad_loan = await _application(db, failing)
    deps = _Deps(services.pool, _FailingEngine(services.engine, bad_loan))
    assert await finish_pending_accepts(deps) == 1
    assert await _application(db, fine) == ("accepted", await _loan_of(db, fine))
    assert await bank.balance(account["id"]) == 2_000_000
    # The failed one waits its turn again (at the back), then is finished once the ledger is.
    assert await _application(db, failing) == ("accepted", bad_loan)
    assert await finish_pending_accepts(services) == 0
    later = datetime.now(UTC) + timedelta(seconds=ACCEPT_SWEEP_AGE_S + 1)
    assert await finish_pending_accepts(services, now=later) == 1
    assert await _loan_of(db, failing) == bad_loan
    assert await bank.balance(account["id"]) == 14_000_000
    assert (await bank.check())["balanced"] is True


async def _loan_of(db: asyncpg.Connection, app_id: uuid.UUID) -> Any:
    """The id of the loan written for the application (None if there is none)."""
    return await db.fetchval("SELECT id FROM loans WHERE application_id = $1", app_id)


async def test_a_key_is_not_reused_for_another_application(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    """A line's accept and a loan already disbursed store their answer under the key: the
    same key replays, and the same key for another application is refused (422)."""
    line_account, line_app = await _setup(bank, db, product="overdraft_line", limit=5_000_000)
    other_account, other_line = await _setup(bank, db, product="overdraft_line", limit=1_000_000)
    key = idem()
    opened = await client.post(f"/v1/loan-applications/{line_app}/accept", headers=key)
    assert opened.status_code == 201, opened.text
    again = await client.post(f"/v1/loan-applications/{line_app}/accept", headers=key)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == opened.json()
    reused = await client.post(f"/v1/loan-applications/{other_line}/accept", headers=key)
    assert reused.status_code == 422, reused.text
    assert reused.json()["code"] == "idempotency_key_mismatch"
    assert await _application(db, other_line) == ("approved", None)
    assert await bank.balance(line_account["id"]) == await bank.balance(other_account["id"]) == 0
    # A loan disbursed under one key, answered under another: that one is kept too.
    loan_account, loan_app = await _setup(bank, db, limit=2_000_000)
    first = await client.post(f"/v1/loan-applications/{loan_app}/accept", headers=idem())
    assert first.status_code == 201, first.text
    second_key = idem()
    found = await client.post(f"/v1/loan-applications/{loan_app}/accept", headers=second_key)
    assert found.status_code == 201 and found.json()["id"] == first.json()["id"]
    reused = await client.post(f"/v1/loan-applications/{line_app}/accept", headers=second_key)
    assert reused.status_code == 422
    assert reused.json()["code"] == "idempotency_key_mismatch"
    assert await bank.balance(loan_account["id"]) == 2_000_000
