"""Repayments: fees → interest → principal due, early repayment re-amortizes the rest,
the payoff amount closes the loan, and a repayment without funds changes nothing."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from neobank.lending.close_of_business import run_close_of_business
from tests.conftest import BankDriver
from tests.lending.loans_kit import approved_application, idem, receivables

PRINCIPAL = 12_000_000
PAYMENT = 1_032_797  # 12,000,000 over 12 months at 6 % (annuity)


async def _loan(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection, funded: int = 0
) -> tuple[dict[str, Any], dict[str, Any]]:
    account = await bank.account(funded=funded)
    app_id = await approved_application(db, account["customer_id"], account["id"])
    response = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=idem())
    assert response.status_code == 201, response.text
    return account, response.json()


async def _repay(
    client: httpx.AsyncClient, loan: dict[str, Any], account: dict[str, Any], amount: int
) -> httpx.Response:
    return await client.post(
        f"/v1/loans/{loan['id']}/repayments",
        json={"from_account_id": account["id"], "amount": amount},
        headers=idem(),
    )


async def _close_through(app: Any, day: date) -> None:
    await run_close_of_business(app.state.services, day)


async def test_installment_paid_on_its_due_date(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, loan = await _loan(client, bank, db)
    first = loan["schedule"][0]
    await _close_through(app, date.fromisoformat(first["due_date"]))
    loan_id = uuid.UUID(loan["id"])
    # The period's daily accrual was trued up to the scheduled 60,000 on the due date.
    principal_ar, interest_ar = await receivables(db, loan_id)
    assert principal_ar == PRINCIPAL
    current = (await client.get(f"/v1/loans/{loan_id}")).json()
    assert current["schedule"][0]["status"] == "due"
    assert interest_ar == 60_000 + current["interest_accrued"]
    response = await _repay(client, loan, account, PAYMENT)
    assert response.status_code == 201, response.text
    paid = response.json()
    assert (paid["fees"], paid["interest"], paid["principal"]) == (0, 60_000, PAYMENT - 60_000)
    assert paid["kind"] == "installment"
    after = paid["loan"]
    assert after["schedule"][0]["status"] == "paid"
    assert after["principal_outstanding"] == PRINCIPAL - (PAYMENT - 60_000)
    # The rest of the schedule is untouched by an on-time payment.
    assert after["schedule"][1:] == loan["schedule"][1:]
    assert await receivables(db, loan_id) == (
        after["principal_outstanding"],
        after["interest_accrued"],
    )
    assert (await bank.check())["balanced"] is True


async def test_refusals_change_nothing(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, loan = await _loan(client, bank, db)
    await bank.transfer(account["id"], (await bank.account())["id"], PRINCIPAL - 100)
    response = await _repay(client, loan, account, 1_000)
    assert response.status_code == 422 and response.json()["code"] == "insufficient_funds"
    too_much = await _repay(client, loan, account, PRINCIPAL + 1)
    assert too_much.status_code == 422
    assert too_much.json()["code"] == "repayment_exceeds_balance"
    stranger = await bank.account(funded=5_000)
    response = await _repay(client, loan, stranger, 1_000)
    assert response.status_code == 404 and response.json()["code"] == "account_not_found"
    current = (await client.get(f"/v1/loans/{loan['id']}")).json()
    assert current["principal_outstanding"] == PRINCIPAL
    assert await db.fetchval("SELECT count(*) FROM loan_repayments") == 0
    assert (await bank.check())["balanced"] is True


async def test_early_repayment_reamortizes_then_payoff_closes(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    account, loan = await _loan(client, bank, db, funded=1_000_000)
    start = date.fromisoformat(loan["start_date"])
    await _close_through(app, start + timedelta(days=10))
    before = (await client.get(f"/v1/loans/{loan['id']}")).json()
    accrued = before["interest_accrued"]
    assert accrued == (PRINCIPAL * 600 * 11) // (10_000 * 365)  # 11 days, whole won
    response = await _repay(client, loan, account, 3_000_000)
    assert response.status_code == 201, response.text
    paid = response.json()
    assert paid["kind"] == "prepayment"
    assert (paid["interest"], paid["principal"]) == (accrued, 3_000_000 - accrued)
    after = paid["loan"]
    outstanding = PRINCIPAL - (3_000_000 - accrued)
    assert after["principal_outstanding"] == outstanding
    schedule = after["schedule"]
    # Same term and due dates; the rest sums exactly to what is outstanding; lower payments.
    assert [i["due_date"] for i in schedule] == [i["due_date"] for i in loan["schedule"]]
    assert sum(i["principal"] for i in schedule) == outstanding
    assert schedule[1]["total"] < loan["schedule"][1]["total"]
    # The first installment's interest is what accrues on the new principal to its due date.
    due = date.fromisoformat(schedule[0]["due_date"])
    days_left = (due - start).days - 11
    assert abs(schedule[0]["interest"] - outstanding * 600 * days_left / 3_650_000) <= 1
    assert await receivables(db, uuid.UUID(loan["id"])) == (outstanding, 0)
    # A few more days, then the payoff amount closes the loan.
    await _close_through(app, start + timedelta(days=15))
    current = (await client.get(f"/v1/loans/{loan['id']}")).json()
    payoff = current["payoff_amount"]
    assert payoff == outstanding + current["interest_accrued"] > outstanding
    response = await _repay(client, loan, account, payoff)
    assert response.status_code == 201, response.text
    closed = response.json()
    assert closed["kind"] == "payoff" and closed["loan"]["status"] == "closed"
    assert closed["loan"]["principal_outstanding"] == closed["loan"]["payoff_amount"] == 0
    assert all(i["status"] in ("paid", "cancelled") for i in closed["loan"]["schedule"])
    assert await receivables(db, uuid.UUID(loan["id"])) == (0, 0)
    again = await _repay(client, loan, account, 1)
    assert again.status_code == 409 and again.json()["code"] == "loan_closed"
    # Close of business leaves a closed loan alone.
    await _close_through(app, start + timedelta(days=16))
    assert await receivables(db, uuid.UUID(loan["id"])) == (0, 0)
    assert (await bank.check())["balanced"] is True
    types = await db.fetch(
        "SELECT type FROM events WHERE aggregate_id = $1 ORDER BY id", loan["id"]
    )
    assert [t["type"] for t in types] == [
        "loan.disbursed",
        "loan.repaid",
        "loan.repaid",
        "loan.closed",
    ]
