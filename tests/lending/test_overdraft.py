"""Overdraft lines in-process: open a line on a deposit account, spend past zero, run close of
business day by day (`service_line`) and compare with an independent daily-interest oracle;
a line that cannot carry its monthly charge goes delinquent and recovers when money comes in."""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import asyncpg
import pytest

from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.lending.booking import interest_account_id
from neobank.lending.errors import AccountNotEligible, OfferExpired
from neobank.lending.overdraft import open_line, service_line
from neobank.lending.schedules import due_date
from tests.conftest import BankDriver

RATE_BPS = 750
LIMIT_MINOR = 3_000_000
DATES_RUN = 40


async def approved_line(
    db: asyncpg.Connection,
    account: dict[str, Any],
    limit_minor: int = LIMIT_MINOR,
    expires_in: timedelta = timedelta(days=7),
) -> asyncpg.Record:
    """An approved overdraft application, as the application pipeline leaves one."""
    now = datetime.now(UTC)
    row = await db.fetchrow(
        """
        INSERT INTO loan_applications (id, customer_id, account_id, product_code,
            product_version, policy_version, amount, term_months, annual_income, status, stage,
            inquiry_key, rate_bps, limit_minor, offer_expires_at, created_at, updated_at,
            decided_at)
        VALUES ($1, $2, $3, 'overdraft_line', 1, 1, $4, 12, 60000000, 'approved', 'decided',
            $5, $6, $4, $7, $8, $8, $8)
        RETURNING *
        """,
        uuid.uuid4(),
        uuid.UUID(str(account["customer_id"])),
        uuid.UUID(str(account["id"])),
        limit_minor,
        f"la-{uuid.uuid4()}",
        RATE_BPS,
        now + expires_in,
        now,
    )
    assert row is not None
    return row


def day_interest(used: int) -> Decimal:
    """The oracle's day of interest: Actual/365, to a millionth of a won, half-even."""
    exact = Decimal(used * RATE_BPS) / Decimal(10_000 * 365)
    return exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


async def ledger_balance(db: asyncpg.Connection, account_id: uuid.UUID) -> int:
    value = await db.fetchval(
        "SELECT credits_posted - debits_posted FROM ledger_accounts WHERE id = $1", account_id
    )
    return int(value)


async def events_of(db: asyncpg.Connection, loan_id: str, kind: str) -> list[Any]:
    return await db.fetch(  # type: ignore[no-any-return]
        "SELECT payload FROM events WHERE aggregate_id = $1 AND type = $2 ORDER BY id",
        loan_id,
        kind,
    )


async def test_interest_accrues_on_the_used_part_and_is_charged_monthly(
    app: Any, bank: BankDriver, db: asyncpg.Connection
) -> None:
    services = app.state.services
    account = await bank.account(funded=500_000)
    payee = await bank.account()
    application = await approved_line(db, account)
    view = await open_line(services, application, uuid.uuid4(), datetime.now(UTC))
    assert (view["principal"], view["principal_outstanding"], view["available"]) == (
        LIMIT_MINOR,
        0,
        LIMIT_MINOR,
    )
    assert view["schedule"] == [] and view["kind"] == "revolving"
    again = await open_line(services, application, uuid.uuid4(), datetime.now(UTC))
    assert again == view  # idempotent: the same line, whatever loan id is offered
    assert await db.fetchval("SELECT count(*) FROM loans") == 1
    assert len(await events_of(db, view["id"], "loan.line_opened")) == 1
    shown = (await bank.client.get(f"/v1/accounts/{account['id']}")).json()
    assert shown["available_balance"] == 500_000 + LIMIT_MINOR

    loan_id = uuid.UUID(view["id"])
    deposit_id = uuid.UUID(str(account["id"]))
    start = date.fromisoformat(view["start_date"])
    charge_date = due_date(start, 1)
    dates = [start + timedelta(days=n) for n in range(DATES_RUN)]
    assert dates[0] < charge_date <= dates[-1]
    used, accrued, charged, charge = 0, Decimal(0), 0, 0
    for n, business_date in enumerate(dates):
        if n == 5:  # five days in credit earn the bank nothing; then the customer spends
            response = await bank.transfer(account["id"], payee["id"], 1_500_000)
            assert response.status_code == 201, response.text
            used = -await ledger_balance(db, deposit_id)
            assert used >= 1_000_000
        summary = await service_line(services, {"id": loan_id}, business_date)
        assert summary is not None
        accrued += day_interest(used)
        if business_date == charge_date:
            charge = math.floor(accrued) - charged
            charged += charge
            used += charge  # the charge is taken from the account: it uses more of the line
            assert summary["charged"] == charge > 0
        if n < 5:
            assert summary["interest_booked"] == 0
    assert await service_line(services, {"id": loan_id}, dates[-1]) is None  # done already

    loan = await db.fetchrow("SELECT * FROM loans WHERE id = $1", loan_id)
    assert loan["accrued_interest"] == accrued
    assert loan["interest_booked"] == math.floor(accrued)
    assert loan["last_cob_date"] == dates[-1]
    assert (loan["days_past_due"], loan["delinquency_bucket"]) == (0, "current")
    charges = await db.fetch("SELECT * FROM loan_installments WHERE loan_id = $1", loan_id)
    assert [(c["number"], c["interest_due"], c["status"]) for c in charges] == [(1, charge, "paid")]
    assert await ledger_balance(db, deposit_id) == -used
    income = bank_account_id(AccountCode.INTEREST_INCOME, "KRW")
    assert await ledger_balance(db, income) == math.floor(accrued)
    receivable = await ledger_balance(db, interest_account_id(loan_id))
    assert -receivable == math.floor(accrued) - charge

    response = await bank.client.get(f"/v1/loans/{loan_id}")
    assert response.status_code == 200, response.text
    view = response.json()
    assert (view["principal"], view["principal_outstanding"]) == (LIMIT_MINOR, used)
    assert (view["available"], view["schedule"]) == (LIMIT_MINOR - used, [])
    assert view["interest_accrued"] == math.floor(accrued) - charge
    assert len(await events_of(db, str(loan_id), "loan.interest_charged")) == 1
    assert (await bank.check())["balanced"]


async def test_a_line_that_cannot_carry_its_charge_goes_delinquent(
    app: Any, bank: BankDriver, db: asyncpg.Connection
) -> None:
    services = app.state.services
    limit = 1_000_000
    account = await bank.account(funded=100_000)
    payee = await bank.account()
    view = await open_line(
        services, await approved_line(db, account, limit), uuid.uuid4(), datetime.now(UTC)
    )
    loan_id, deposit_id = uuid.UUID(view["id"]), uuid.UUID(str(account["id"]))
    # Spend all the line: whatever a fee takes, the rest of the line goes to the payee.
    response = await bank.transfer(account["id"], payee["id"], 100_000 + limit // 2)
    assert response.status_code == 201, response.text
    rest = await ledger_balance(db, deposit_id) + limit
    response = await bank.transfer(account["id"], payee["id"], rest)
    assert response.status_code == 201, response.text
    assert await ledger_balance(db, deposit_id) == -limit

    start = date.fromisoformat(view["start_date"])
    charge_date = due_date(start, 1)
    business_date = start
    while business_date <= charge_date + timedelta(days=3):
        summary = await service_line(services, {"id": loan_id}, business_date)
        assert summary is not None and summary["charged"] == 0
        business_date += timedelta(days=1)
    loan = await db.fetchrow("SELECT * FROM loans WHERE id = $1", loan_id)
    assert (loan["days_past_due"], loan["delinquency_bucket"]) == (3, "1-30")
    charge = await db.fetchrow("SELECT * FROM loan_installments WHERE loan_id = $1", loan_id)
    assert (charge["status"], charge["interest_paid"], charge["due_date"]) == (
        "overdue",
        0,
        charge_date,
    )
    assert await ledger_balance(db, deposit_id) == -limit  # nothing was taken past the line
    assert len(await events_of(db, str(loan_id), "loan.interest_charge_missed")) == 1
    changed = await events_of(db, str(loan_id), "loan.delinquency_changed")
    assert len(changed) == 1

    await bank.deposit(account["id"], 50_000)  # money comes in: the next day collects
    summary = await service_line(services, {"id": loan_id}, business_date)
    assert summary is not None
    assert summary["charged"] >= charge["interest_due"]
    loan = await db.fetchrow("SELECT * FROM loans WHERE id = $1", loan_id)
    assert (loan["days_past_due"], loan["delinquency_bucket"]) == (0, "current")
    paid = await db.fetchval(
        "SELECT status FROM loan_installments WHERE loan_id = $1 AND number = 1", loan_id
    )
    assert paid == "paid"
    assert len(await events_of(db, str(loan_id), "loan.delinquency_changed")) == 2
    assert (await bank.check())["balanced"]


async def test_open_line_refuses_what_it_cannot_honour(
    app: Any, bank: BankDriver, db: asyncpg.Connection
) -> None:
    services = app.state.services
    account = await bank.account(funded=10_000)
    expired = await approved_line(db, account, expires_in=timedelta(seconds=-1))
    with pytest.raises(OfferExpired):
        await open_line(services, expired, uuid.uuid4(), datetime.now(UTC))
    await open_line(services, await approved_line(db, account), uuid.uuid4(), datetime.now(UTC))
    with pytest.raises(AccountNotEligible):  # one line per account
        await open_line(services, await approved_line(db, account), uuid.uuid4(), datetime.now(UTC))
