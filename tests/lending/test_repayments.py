"""Repayments: fees → interest → principal due, early repayment re-amortizes the rest,
the payoff amount closes the loan, and a repayment without funds changes nothing. Interest
repaid ahead of its due date is not charged again; a retry of a payoff replays its answer."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from neobank.idempotency import Claim, request_hash
from neobank.ledger.domain import TransferSpec
from neobank.lending.booking import InstallmentState, LoanState, interest_account_id
from neobank.lending.close_of_business import close_day, run_close_of_business
from neobank.lending.locks import LOAN_LOCK_CLASS, loan_lock
from neobank.lending.repayments import plan_repayment, repay
from neobank.lending.schedules import Method, build_schedule
from tests.conftest import BankDriver
from tests.lending.loans_kit import approved_application, idem, receivables, seoul_noon

PRINCIPAL = 12_000_000
PAYMENT = 1_032_797  # 12,000,000 over 12 months at 6 % (annuity)
# How long a test waits for requests to queue on a loan's lock: 30 s in 20 ms polls.
LOCK_WAIT_POLLS_MAX = 1_500


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
    # The first installment's interest is what was repaid of it ahead (its interest_paid)
    # plus what accrues on the new principal to its due date.
    due = date.fromisoformat(schedule[0]["due_date"])
    days_left = (due - start).days - 11
    assert schedule[0]["interest_paid"] == accrued
    to_come = schedule[0]["interest"] - accrued
    assert abs(to_come - outstanding * 600 * days_left / 3_650_000) <= 1
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


def _loan_state(start: date, method: Method = "annuity") -> LoanState:
    """12,000,000 KRW over 12 months at 6 %, in memory."""
    schedule = build_schedule(method, PRINCIPAL, 600, 12, start)
    now = datetime(start.year, start.month, start.day, 3, tzinfo=UTC)
    return LoanState(
        id=uuid.uuid4(),
        application_id=uuid.uuid4(),
        customer_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        product_code="credit_loan",
        product_version=1,
        kind="installment",
        method=method,
        currency="KRW",
        principal=PRINCIPAL,
        rate_bps=600,
        late_rate_bps=900,
        term_months=12,
        start_date=start,
        maturity_date=schedule[-1].due_date,
        status="active",
        created_at=now,
        updated_at=now,
        read_updated_at=now,
        installments=[
            InstallmentState(i.number, i.due_date, i.principal_minor, i.interest_minor)
            for i in schedule
        ],
    )


class _Receivable:
    """The loan's interest receivable as its transfers move it; like the ledger account
    (credits must not exceed debits) it never goes below zero."""

    def __init__(self, loan: LoanState) -> None:
        self.account_id = interest_account_id(loan.id)
        self.balance = 0

    def post(self, chain: list[TransferSpec]) -> None:
        for spec in chain:
            if spec.debit_account_id == self.account_id:
                self.balance += spec.amount
            if spec.credit_account_id == self.account_id:
                self.balance -= spec.amount
            assert self.balance >= 0


def _close_days(loan: LoanState, last: date, receivable: _Receivable) -> LoanState:
    day = loan.accrued_through + timedelta(days=1)
    while day <= last:
        loan, chain, _ = close_day(loan, day, datetime.now(UTC))
        loan.read_updated_at = loan.updated_at
        receivable.post(chain)
        day += timedelta(days=1)
    return loan


def _pay(loan: LoanState, amount: int, day: date, receivable: _Receivable) -> tuple[LoanState, int]:
    """Repay on `day`; returns the loan after and the interest paid."""
    plan = plan_repayment(loan, amount, uuid.uuid4(), day, seoul_noon(day), uuid.uuid4())
    receivable.post(plan.chain)
    plan.loan.read_updated_at = plan.loan.updated_at
    return plan.loan, plan.interest


def test_interest_repaid_ahead_is_not_charged_again() -> None:
    """Regression: 500 won with nothing due on 21 March paid 500 of March's booked interest,
    and on 1 April the true-up charged the whole scheduled 60,000 again (60,500 paid)."""
    loan = _loan_state(date(2026, 3, 1))
    receivable = _Receivable(loan)
    scheduled = loan.installments[0].interest_due
    assert scheduled == 60_000
    loan = _close_days(loan, date(2026, 3, 20), receivable)
    assert loan.interest_booked >= 500
    loan, interest = _pay(loan, 500, date(2026, 3, 21), receivable)
    assert interest == 500 and loan.installments[0].interest_paid == 500
    assert loan.installments[0].interest_due == scheduled
    assert receivable.balance == loan.interest_booked
    loan = _close_days(loan, date(2026, 4, 1), receivable)  # installment 1 falls due
    first = loan.installments[0]
    assert first.status == "due" and first.interest_left == scheduled - 500
    assert receivable.balance == loan.interest_due + loan.interest_booked
    loan, interest_on_due_date = _pay(
        loan, first.principal_left + first.interest_left, date(2026, 4, 2), receivable
    )
    assert 500 + interest_on_due_date == scheduled
    assert loan.installments[0].status == "paid"
    assert receivable.balance == loan.interest_booked


def test_interest_repaid_ahead_beyond_the_schedule_is_principal() -> None:
    """A 31-day period closed through its last day books more than the schedule's interest:
    repaying all of it ahead takes the schedule's figure as interest and the rest as principal
    early (the period's interest is then what accrues, as for any prepayment)."""
    loan = _loan_state(date(2026, 3, 1))
    receivable = _Receivable(loan)
    loan = _close_days(loan, date(2026, 3, 31), receivable)  # closed the evening before
    booked = loan.interest_booked
    assert booked > 60_000
    loan, interest = _pay(loan, booked, date(2026, 3, 31), receivable)
    first = loan.installments[0]
    assert interest == first.interest_paid == 60_000
    assert loan.principal_outstanding == PRINCIPAL - (booked - 60_000)
    # What accrued (to the won), as nothing more accrues before 1 April.
    assert 0 <= first.interest_due - booked <= 1
    loan = _close_days(loan, date(2026, 4, 1), receivable)
    assert 60_000 + loan.installments[0].interest_left == first.interest_due
    assert receivable.balance == loan.interest_due + loan.interest_booked


def test_an_installment_repaid_ahead_in_full_falls_due_paid() -> None:
    """A bullet loan's installment is interest only: repaid ahead in full (its period closed
    through its last day), it falls due paid, not due (and then overdue) with nothing owed."""
    loan = _loan_state(date(2026, 3, 1), "bullet")
    receivable = _Receivable(loan)
    loan = _close_days(loan, date(2026, 3, 31), receivable)
    assert loan.interest_booked > 60_000 == loan.installments[0].interest_due
    loan, interest = _pay(loan, 60_000, date(2026, 3, 31), receivable)
    assert interest == 60_000 and loan.installments[0].interest_left == 0
    loan = _close_days(loan, date(2026, 4, 2), receivable)
    assert loan.installments[0].status == "paid"
    assert (loan.days_past_due, loan.delinquency_bucket) == (0, "current")
    assert receivable.balance == loan.interest_booked


async def test_interest_repaid_ahead_in_the_books(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    """The same through the ledger: the period costs exactly the schedule's interest, the
    receivable holds what is owed and the income book what was charged."""
    account, loan = await _loan(client, bank, db)
    loan_id, from_id = uuid.UUID(loan["id"]), uuid.UUID(account["id"])
    services = app.state.services
    start, first = date.fromisoformat(loan["start_date"]), loan["schedule"][0]
    await _close_through(app, start + timedelta(days=19))
    ahead, _ = await repay(
        services, loan_id, from_id, 500, None, None, now=seoul_noon(start + timedelta(days=20))
    )
    assert ahead.status_code == 201, ahead.body
    assert (ahead.body["interest"], ahead.body["kind"]) == (500, "installment")
    due_date = date.fromisoformat(first["due_date"])
    await _close_through(app, due_date)
    current = (await client.get(f"/v1/loans/{loan_id}")).json()
    assert current["interest_due"] == first["interest"] - 500
    assert await receivables(db, loan_id) == (
        PRINCIPAL,
        current["interest_due"] + current["interest_accrued"],
    )
    due = current["interest_due"] + current["principal_due"]
    paid, _ = await repay(services, loan_id, from_id, due, None, None, now=seoul_noon(due_date))
    assert paid.status_code == 201, paid.body
    assert 500 + paid.body["interest"] == first["interest"]
    statement = (
        await client.get(
            f"/v1/loans/{loan_id}/statement", params={"from": str(start), "to": str(due_date)}
        )
    ).json()
    # Charged (accruals and the true-up): the schedule's interest, and the due date's own
    # accrual, which belongs to the next period.
    charged = first["interest"] + paid.body["loan"]["interest_accrued"]
    assert statement["totals"]["interest_charged"] == charged
    assert statement["totals"]["repaid_interest"] == first["interest"]
    assert await receivables(db, loan_id) == (
        paid.body["loan"]["principal_outstanding"],
        paid.body["loan"]["interest_accrued"],
    )
    assert (await bank.check())["balanced"] is True


async def test_a_retried_payoff_replays_its_answer(
    app: Any, client: httpx.AsyncClient, bank: BankDriver, db: asyncpg.Connection
) -> None:
    """Two requests with one idempotency key (two processes, so no in-memory in-flight
    check) both read no stored answer, then wait on the loan's lock; the first pays the loan
    off, the second must replay that 201, not answer 409 loan_closed."""
    account, loan = await _loan(client, bank, db)
    loan_id, from_id = uuid.UUID(loan["id"]), uuid.UUID(account["id"])
    payoff = loan["payoff_amount"]
    path = f"/v1/loans/{loan_id}/repayments"
    body = {"from_account_id": str(from_id), "amount": payoff}
    claim = Claim(
        f"customer:{loan['customer_id']}", uuid.uuid4().hex, request_hash("POST", path, body)
    )
    services = app.state.services
    customer_id = uuid.UUID(loan["customer_id"])
    async with loan_lock(services.pool, loan_id):
        both = [
            asyncio.create_task(repay(services, loan_id, from_id, payoff, customer_id, claim))
            for _ in range(2)
        ]
        for _ in range(LOCK_WAIT_POLLS_MAX):
            waiting = await db.fetchval(
                """
                SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database
                WHERE l.locktype = 'advisory' AND NOT l.granted AND l.classid = $1::int::oid
                  AND d.datname = current_database()
                """,
                LOAN_LOCK_CLASS,
            )
            if waiting == 2:
                break
            await asyncio.sleep(0.02)
        assert waiting == 2
    answers = await asyncio.gather(*both)
    assert sorted(replayed for _, replayed in answers) == [False, True]
    (first, _), (second, _) = answers
    assert first.status_code == second.status_code == 201, (first, second)
    assert first.body == second.body and first.body["kind"] == "payoff"
    assert await db.fetchval("SELECT count(*) FROM loan_repayments") == 1
    assert await receivables(db, loan_id) == (0, 0)
    assert (await bank.check())["balanced"] is True
