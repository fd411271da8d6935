"""A simulated year of servicing, in-process (close of business every business date): one
borrower pays every installment on its due date, one repays early midway, one misses three
installments and catches up. Everything repaid matches the books to the won."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.lending.booking import LoanState, load_loan
from neobank.lending.close_of_business import run_close_of_business
from neobank.lending.repayments import repay
from tests.conftest import BankDriver
from tests.lending.loans_kit import approved_application, idem, receivables, seoul_noon

YEAR_DAYS = 370


async def _accept(
    client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection, **terms: Any
) -> dict[str, Any]:
    account = await bank.account(funded=2_000_000)  # enough for the interest
    app_id = await approved_application(db, account["customer_id"], account["id"], **terms)
    response = await client.post(f"/v1/loan-applications/{app_id}/accept", headers=idem())
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _due_today(loan: LoanState, day: date) -> int:
    return sum(
        i.principal_left + i.interest_left
        for i in loan.installments
        if i.due_date == day and i.status not in ("paid", "cancelled")
    )


async def test_a_simulated_year(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    services = app.state.services
    punctual = await _accept(client, bank, db)
    early = await _accept(
        client, bank, db, product="emergency_loan", limit=3_000_000, rate_bps=1_200
    )
    late = await _accept(client, bank, db, limit=6_000_000, rate_bps=900, term_months=6)
    ids = {
        name: uuid.UUID(loan["id"])
        for name, loan in (("punctual", punctual), ("early", early), ("late", late))
    }
    accounts = {
        name: uuid.UUID(loan["account_id"])
        for name, loan in (("punctual", punctual), ("early", early), ("late", late))
    }
    missed = {date.fromisoformat(late["schedule"][n]["due_date"]) for n in (1, 2, 3)}
    catch_up = date.fromisoformat(late["schedule"][3]["due_date"]) + timedelta(days=10)
    prepay_on = date.fromisoformat(early["schedule"][4]["due_date"]) + timedelta(days=12)
    paid: dict[str, list[dict[str, Any]]] = {name: [] for name in ids}

    async def pay(name: str, amount: int, day: date) -> None:
        answer, _ = await repay(
            services, ids[name], accounts[name], amount, None, None, now=seoul_noon(day)
        )
        assert answer.status_code == 201, answer.body
        paid[name].append(answer.body)

    start = date.fromisoformat(punctual["start_date"])
    buckets: set[str] = set()
    for n in range(YEAR_DAYS):
        day = start + timedelta(days=n)
        for name, loan_id in ids.items():
            loan = await load_loan(db, loan_id)
            assert loan is not None
            if loan.status != "active":
                continue
            if name == "late" and day in missed:
                continue
            if name == "late" and day == catch_up:
                owed = loan.late_interest_booked + loan.interest_due + loan.principal_due
                assert loan.delinquency_bucket == "61-90" and loan.late_interest_booked > 0
                await pay(name, owed, day)
            if name == "early" and day == prepay_on:
                await pay(name, 1_000_000, day)
            amount = _due_today(loan, day)
            if amount:
                await pay(name, amount, day)
        await run_close_of_business(services, day)
        late_state = await load_loan(db, ids["late"])
        assert late_state is not None
        buckets.add(late_state.delinquency_bucket)

    assert buckets == {"current", "1-30", "31-60", "61-90"}
    for name, loan_id in ids.items():
        loan = await load_loan(db, loan_id)
        assert loan is not None and loan.status == "closed", name
        assert await receivables(db, loan_id) == (0, 0)
        assert sum(p["principal"] for p in paid[name]) == loan.principal
    # On time every month: exactly the schedule's interest, principal plus interest to the won.
    assert [p["kind"] for p in paid["punctual"]] == ["installment"] * 11 + ["payoff"]
    assert sum(p["interest"] for p in paid["punctual"]) == sum(
        i["interest"] for i in punctual["schedule"]
    )
    assert sum(p["amount"] for p in paid["punctual"]) == sum(
        i["total"] for i in punctual["schedule"]
    )
    # Repaying early cost less interest than the schedule; missing payments cost late interest.
    assert "prepayment" in [p["kind"] for p in paid["early"]]
    assert sum(p["interest"] for p in paid["early"]) < sum(i["interest"] for i in early["schedule"])
    assert sum(p["fees"] for p in paid["late"]) > 0
    # Every won of interest booked was paid: the income book holds exactly what came in.
    income = await db.fetchval(
        "SELECT credits_posted - debits_posted FROM ledger_accounts WHERE id = $1",
        bank_account_id(AccountCode.INTEREST_INCOME, "KRW"),
    )
    assert income == sum(p["interest"] + p["fees"] for ps in paid.values() for p in ps)
    assert (await bank.check())["balanced"] is True
    # The statement of the whole life agrees with the repayments.
    response = await client.get(
        f"/v1/loans/{ids['punctual']}/statement",
        params={"from": str(start), "to": str(start + timedelta(days=YEAR_DAYS))},
    )
    assert response.status_code == 200, response.text
    statement = response.json()
    totals = statement["totals"]
    assert totals["interest_charged"] == totals["repaid_interest"]
    assert totals["repaid_principal"] == 12_000_000
    kinds = [line["type"] for line in statement["lines"]]
    assert kinds.count("repayment") == 12 and kinds.count("installment_due") == 12
    assert kinds[0] == "disbursement"
