"""Overdraft lines ("minus accounts"): a credit limit on a demand-deposit account. Opening one
sets the account's ledger overdraft_limit; close of business accrues a day's interest on the
used part and, on the line's monthly day, charges the interest booked to the account.

How a line sits in the books: the used part IS the deposit account's negative balance (no
principal receivable account; `receivable_account_id` is NULL). Interest is booked daily in
whole won, interest receivable ← interest income; on the monthly day the charge moves it
deposit → interest receivable, which uses more of the line (interest is capitalised, as Korean
banks do). A charge the line cannot carry stays due: it is recorded as a loan_installments row
(principal 0, the charged interest) that is retried every close of business, and its age is
the line's days_past_due. `loans.interest_booked` of a line is its lifetime total booked.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from neobank.events import EventRow, write_events
from neobank.ledger import store as ledger_store
from neobank.ledger.chart import AccountCode
from neobank.ledger.domain import AccountFlags
from neobank.ledger.submission import Submission
from neobank.lending import interest
from neobank.lending.booking import LoanState, business_day, interest_account_id
from neobank.lending.catalog import product_version
from neobank.lending.deps import LendingDeps
from neobank.lending.errors import (
    AccountNotEligible,
    ApplicationNotApproved,
    ApplicationNotFound,
    LoanNotFound,
    OfferExpired,
)
from neobank.lending.locks import loan_lock
from neobank.lending.overdraft_day import Charge, LineState, plan_line_day
from neobank.lending.schedules import due_date

__all__ = ["line_view", "open_line", "open_line_in", "service_line"]

# Interest receivable: nobody pays more interest than was booked.
_INTEREST_ACCOUNT_FLAGS = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)
_DEPOSIT_LIMITED = int(AccountFlags.DEBITS_MUST_NOT_EXCEED_CREDITS)
# The charges a line's view lists (a line lives 12 months: 12 at most, a renewal or two more).
CHARGES_SHOWN_MAX = 36


async def open_line(
    services: LendingDeps, application_row: Mapping[str, Any], loan_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """Open the line of an approved overdraft application, in one transaction: the loan row
    (principal = the limit), its interest receivable account, the deposit account's
    overdraft_limit, the application accepted, event `loan.line_opened`. Idempotent: a line
    already opened for the application is answered as it is (whatever loan_id says)."""
    async with services.pool.acquire() as conn, conn.transaction():
        return await open_line_in(conn, application_row["id"], loan_id, now)


async def open_line_in(
    conn: asyncpg.Connection, application_id: uuid.UUID, loan_id: uuid.UUID, now: datetime
) -> dict[str, Any]:
    """`open_line` inside the caller's transaction (which may also claim an idempotency key
    and store the answer, as accepting does)."""
    app = await conn.fetchrow(
        "SELECT * FROM loan_applications WHERE id = $1 FOR UPDATE", application_id
    )
    if app is None:
        raise ApplicationNotFound()
    if app["status"] == "accepted" and app["loan_id"] is not None:
        # Accepted before: by an earlier open_line (answer it) or claimed by the caller.
        loan_id = app["loan_id"]
        if await conn.fetchval("SELECT 1 FROM loans WHERE id = $1", loan_id):
            return await line_view(conn, loan_id)
    elif app["status"] != "approved":
        raise ApplicationNotApproved(f"the application is {app['status']}")
    elif app["offer_expires_at"] is None or app["offer_expires_at"] <= now:
        raise OfferExpired()
    product = await product_version(conn, app["product_code"], app["product_version"])
    if product.kind != "revolving":
        raise ValueError(f"{product.code} is not a revolving product")
    limit_minor: int = app["limit_minor"]
    deposit = await conn.fetchrow(
        """
        SELECT a.status, a.currency, a.customer_id, l.flags, l.overdraft_limit
        FROM accounts a JOIN ledger_accounts l ON l.id = a.id
        WHERE a.id = $1 FOR UPDATE OF l
        """,
        app["account_id"],
    )
    if (
        deposit is None
        or deposit["customer_id"] != app["customer_id"]
        or deposit["status"] != "active"
        or deposit["currency"] != product.currency
        or not deposit["flags"] & _DEPOSIT_LIMITED
    ):
        raise AccountNotEligible("an overdraft line needs the customer's active deposit")
    if deposit["overdraft_limit"]:
        raise AccountNotEligible("the account has an overdraft line already")
    interest_id = interest_account_id(loan_id)
    if not await conn.fetchval("SELECT 1 FROM ledger_accounts WHERE id = $1", interest_id):
        await ledger_store.create_account(
            conn,
            interest_id,
            product.currency,
            int(AccountCode.INTEREST_RECEIVABLE),
            _INTEREST_ACCOUNT_FLAGS,
        )
    await ledger_store.set_overdraft_limit(conn, app["account_id"], limit_minor)
    start = business_day(now)
    await conn.execute(
        """
        INSERT INTO loans (id, application_id, customer_id, account_id, product_code,
            product_version, kind, method, currency, principal, rate_bps, late_rate_bps,
            term_months, start_date, maturity_date, status, receivable_account_id,
            interest_account_id, last_cob_date, created_at, updated_at)
        VALUES ($1, $2, $3, $4, $5, $6, 'revolving', NULL, $7, $8, $9, $10, $11, $12, $13,
            'active', NULL, $14, $15, $16, $16)
        """,
        loan_id,
        app["id"],
        app["customer_id"],
        app["account_id"],
        product.code,
        product.version,
        product.currency,
        limit_minor,
        app["rate_bps"],
        interest.late_rate_bps(
            app["rate_bps"], product.late_rate_add_bps, product.late_rate_max_bps
        ),
        app["term_months"],
        start,
        due_date(start, app["term_months"]),
        interest_id,
        # The opening day's close of business is the first to accrue.
        start - timedelta(days=1),
        now,
    )
    await conn.execute(
        "UPDATE loan_applications SET status = 'accepted', loan_id = $2, updated_at = $3 "
        "WHERE id = $1",
        app["id"],
        loan_id,
        now,
    )
    view = await line_view(conn, loan_id)
    await write_events(conn, [EventRow("loan.line_opened", "loan", str(loan_id), view)], now)
    return view


_LINE = """
SELECT l.*, d.credits_posted - d.debits_posted AS balance,
       coalesce(i.debits_posted - i.credits_posted, 0) AS interest_outstanding
FROM loans l
JOIN ledger_accounts d ON d.id = l.account_id
LEFT JOIN ledger_accounts i ON i.id = l.interest_account_id
WHERE l.id = $1
"""


async def line_view(
    conn: asyncpg.Connection | asyncpg.Pool, loan: LoanState | uuid.UUID
) -> dict[str, Any]:
    """A line as `GET /v1/loans/{id}` shows it: principal = the limit, principal_outstanding
    = the used part, available = the rest, schedule = [], and the monthly charges."""
    loan_id = loan if isinstance(loan, uuid.UUID) else loan.id
    row = await conn.fetchrow(_LINE, loan_id)
    if row is None:
        raise LoanNotFound()
    charges = await conn.fetch(
        "SELECT * FROM loan_installments WHERE loan_id = $1 ORDER BY number DESC LIMIT $2",
        loan_id,
        CHARGES_SHOWN_MAX,
    )
    used = max(0, -row["balance"])
    unpaid = sum(c["interest_due"] - c["interest_paid"] for c in charges)
    return {
        "id": str(row["id"]),
        "application_id": str(row["application_id"]),
        "customer_id": str(row["customer_id"]),
        "account_id": str(row["account_id"]),
        "product": row["product_code"],
        "product_version": row["product_version"],
        "kind": row["kind"],
        "method": None,
        "status": row["status"],
        "currency": row["currency"],
        "principal": row["principal"],
        "principal_outstanding": used,
        "available": max(0, row["principal"] - used),
        "rate_bps": row["rate_bps"],
        "late_rate_bps": row["late_rate_bps"],
        "term_months": row["term_months"],
        "start_date": row["start_date"].isoformat(),
        "maturity_date": row["maturity_date"].isoformat(),
        "interest_due": unpaid,
        "principal_due": 0,
        # Booked in whole won and not yet charged to the account.
        "interest_accrued": row["interest_outstanding"] - unpaid,
        "late_interest": 0,
        "payoff_amount": used + row["interest_outstanding"],
        "days_past_due": row["days_past_due"],
        "delinquency_bucket": row["delinquency_bucket"],
        "last_cob_date": row["last_cob_date"].isoformat() if row["last_cob_date"] else None,
        "created_at": row["created_at"].isoformat(),
        "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
        "schedule": [],
        "charges": [
            {
                "number": c["number"],
                "due_date": c["due_date"].isoformat(),
                "interest": c["interest_due"],
                "interest_paid": c["interest_paid"],
                "status": c["status"],
            }
            for c in charges
        ],
    }


async def _read_line(conn: asyncpg.Connection, loan_id: uuid.UUID) -> LineState | None:
    row = await conn.fetchrow(_LINE + " AND l.status = 'active' AND l.kind = 'revolving'", loan_id)
    if row is None:
        return None
    charges = await conn.fetch(
        "SELECT number, due_date, interest_due, interest_paid, status FROM loan_installments "
        "WHERE loan_id = $1 ORDER BY number",
        loan_id,
    )
    return LineState(
        id=row["id"],
        account_id=row["account_id"],
        currency=row["currency"],
        rate_bps=row["rate_bps"],
        start_date=row["start_date"],
        last_cob_date=row["last_cob_date"] or row["start_date"] - timedelta(days=1),
        accrued_interest=row["accrued_interest"],
        interest_booked=row["interest_booked"],
        delinquency_bucket=row["delinquency_bucket"],
        updated_at=row["updated_at"],
        balance=row["balance"],
        charged_total=sum(c["interest_due"] for c in charges),
        unpaid=tuple(
            Charge(c["number"], c["due_date"], c["interest_due"], c["interest_paid"])
            for c in charges
            if c["status"] in ("due", "overdue")
        ),
    )


async def service_line(
    services: LendingDeps, loan_row: Mapping[str, Any], business_date: date
) -> dict[str, Any] | None:
    """Close of business of one line for one date, under the loan's lock, in one engine
    submission (transfers, loan and charge rows, events). None if there was nothing to do:
    the date is done already (idempotent), or the line is closed."""
    loan_id: uuid.UUID = loan_row["id"]
    async with loan_lock(services.pool, loan_id):
        async with services.pool.acquire() as conn:
            line = await _read_line(conn, loan_id)
        if line is None or line.last_cob_date >= business_date:
            return None
        day = plan_line_day(line, business_date)
        answer = await services.engine.submit(Submission(day.chains, day.render))
    if answer.answer.status_code != 200:
        raise RuntimeError(f"line {loan_id}: interest could not be booked {answer.answer.body}")
    result: dict[str, Any] = answer.answer.body
    return result
