"""Accepting an offer (the loan is disbursed through the ledger), reading loans, statements.

Accept is two steps: (1) one short transaction claims the approved application (status
accepted, a new loan id) and opens the loan's ledger accounts; (2) one engine submission moves
the money (loan receivable → the customer's deposit) and, in the same transaction, writes the
loan, its installments and `loan.disbursed`. A crash between them leaves an accepted
application without a loan: accepting again (or the sweep, `finish_pending_accepts`) finishes
it with the same loan id, and the ledger posts the disbursement once (its id follows the loan's).
Step 1 checks the deposit account; if the ledger still refuses the disbursement (the account
closed between the steps), the same transaction puts the application back to `approved`.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import structlog

from neobank.db.sql import in_ids
from neobank.events import EventRow, write_events
from neobank.idempotency import Claim, InFlight, StoredAnswer, claim_many, fetch_answer, store_many
from neobank.ledger.chart import ensure_bank_books
from neobank.ledger.domain import ItemOutcome, ResultCode, TransferSpec
from neobank.ledger.engine import Rendered, Submission
from neobank.lending import booking
from neobank.lending.booking import InstallmentState, LoanState, LoanTransferCode
from neobank.lending.catalog import product_version
from neobank.lending.deps import LendingDeps
from neobank.lending.errors import (
    AccountNotEligible,
    ApplicationNotApproved,
    ApplicationNotFound,
    InvalidBusinessDate,
    LoanNotFound,
    OfferExpired,
)
from neobank.lending.interest import late_rate_bps
from neobank.lending.overdraft import line_view, open_line_in
from neobank.lending.schedules import build_schedule
from neobank.payments.errors import error_for_result

__all__ = [
    "ACCEPT_SWEEP_AGE_S",
    "accept",
    "finish_pending_accepts",
    "get_loan",
    "list_loans",
    "loan_for",
    "statement",
]

log = structlog.get_logger(__name__)

# An accepted application still without its loan after this long was left by a crash.
ACCEPT_SWEEP_AGE_S = 60
ACCEPT_SWEEP_BATCH_MAX = 100
LIST_LIMIT_MAX = 100
STATEMENT_DAYS_MAX = 400  # a statement's window: the ids it looks up are three per day


async def accept(
    deps: LendingDeps,
    application_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    claim: Claim | None,
    inflight: InFlight | None = None,
    now: datetime | None = None,
) -> tuple[StoredAnswer, bool]:
    """Accept an approved offer; returns the answer (201 loan) and whether it was replayed."""
    now = now or datetime.now(UTC)
    if claim is not None:
        stored = await fetch_answer(deps.pool, claim)
        if stored is not None:
            return stored, True
    if inflight is not None and claim is not None:
        inflight.enter(claim)
    try:
        return await _accept(deps, application_id, customer_id, claim, now)
    finally:
        if inflight is not None and claim is not None:
            inflight.leave(claim)


async def _accept(
    deps: LendingDeps,
    application_id: uuid.UUID,
    customer_id: uuid.UUID | None,
    claim: Claim | None,
    now: datetime,
) -> tuple[StoredAnswer, bool]:
    async with deps.pool.acquire() as conn, conn.transaction():
        app = await conn.fetchrow(
            "SELECT * FROM loan_applications WHERE id = $1 FOR UPDATE", application_id
        )
        if app is None or (customer_id is not None and app["customer_id"] != customer_id):
            raise ApplicationNotFound()
        product = await product_version(conn, app["product_code"], app["product_version"])
        if app["status"] == "approved" and app["offer_expires_at"] <= now:
            raise OfferExpired()
        if product.kind == "revolving":
            loan_id = app["loan_id"] or uuid.uuid4()
        elif app["status"] == "approved":
            await _check_account(conn, app, product.currency)
            loan_id = uuid.uuid4()
            app = await conn.fetchrow(
                """
                UPDATE loan_applications SET status = 'accepted', loan_id = $2, updated_at = $3
                WHERE id = $1 RETURNING *
                """,
                application_id,
                loan_id,
                now,
            )
            await ensure_bank_books(conn, product.currency)
            await booking.ensure_loan_accounts(conn, loan_id, product.currency)
            body = {"loan_id": str(loan_id), "customer_id": str(app["customer_id"])}
            event = EventRow("loan.offer_accepted", "loan_application", str(app["id"]), body)
            await write_events(conn, [event], now)
        elif app["status"] == "accepted" and app["loan_id"] is not None:
            loan_id = app["loan_id"]
        else:
            raise ApplicationNotApproved(f"the application is {app['status']}")
    if product.kind == "revolving":
        # An overdraft line opens in one transaction of its own (no ledger transfer).
        return await _answer_once(
            deps, claim, lambda conn: open_line_in(conn, application_id, loan_id, now)
        )
    existing = await booking.load_loan(deps.pool, loan_id)
    if existing is not None:
        # Finished already (another key, or the sweep): answer the loan as it is now.
        return await _answer_once(deps, claim, existing.view())
    return await _disburse(deps, app, new_loan(app, loan_id, product, now), claim)


async def _check_account(conn: asyncpg.Connection, app: asyncpg.Record, currency: str) -> None:
    """The deposit must still be the customer's, active, in the loan's currency (it may have
    closed, frozen or changed owner since the offer): checked before anything changes."""
    account = await conn.fetchrow(
        "SELECT customer_id, status, currency FROM accounts WHERE id = $1", app["account_id"]
    )
    if account is None or tuple(account.values()) != (app["customer_id"], "active", currency):
        raise AccountNotEligible(f"the customer's active {currency} account is needed")


async def _answer_once(
    deps: LendingDeps,
    claim: Claim | None,
    work: Callable[[asyncpg.Connection], Awaitable[Any]] | dict[str, Any],
) -> tuple[StoredAnswer, bool]:
    """Claim the key, do the work (or take the body), store its 201 and commit, in one
    transaction: a key used before is replayed, or refused if it was for another request
    (idempotency_key_mismatch); an error rolls the key back with the work."""
    async with deps.pool.acquire() as conn, conn.transaction():
        if claim is not None and not await claim_many(conn, [claim]):
            stored = await fetch_answer(conn, claim)
            assert stored is not None, "a key not claimed here must be stored already"
            return stored, True
        answer = StoredAnswer(201, work if isinstance(work, dict) else await work(conn))
        if claim is not None:
            await store_many(conn, [(claim, answer)])
    return answer, False


def new_loan(app: asyncpg.Record, loan_id: uuid.UUID, product: Any, now: datetime) -> LoanState:
    """The loan an approved application becomes: its schedule starts today (Korea)."""
    start = booking.business_day(now)
    principal: int = app["limit_minor"]
    schedule = build_schedule(
        product.repayment_method, principal, app["rate_bps"], app["term_months"], start
    )
    return LoanState(
        id=loan_id,
        application_id=app["id"],
        customer_id=app["customer_id"],
        account_id=app["account_id"],
        product_code=app["product_code"],
        product_version=app["product_version"],
        kind="installment",
        method=product.repayment_method,
        currency=product.currency,
        principal=principal,
        rate_bps=app["rate_bps"],
        late_rate_bps=late_rate_bps(
            app["rate_bps"], product.late_rate_add_bps, product.late_rate_max_bps
        ),
        term_months=app["term_months"],
        start_date=start,
        maturity_date=schedule[-1].due_date,
        status="active",
        created_at=now,
        updated_at=now,
        installments=[
            InstallmentState(i.number, i.due_date, i.principal_minor, i.interest_minor)
            for i in schedule
        ],
    )


async def _disburse(
    deps: LendingDeps, app: asyncpg.Record, loan: LoanState, claim: Claim | None
) -> tuple[StoredAnswer, bool]:
    spec = TransferSpec(
        id=booking.loan_transfer_id(loan.id, "disburse"),
        debit_account_id=loan.id,
        credit_account_id=loan.account_id,
        amount=loan.principal,
        currency=loan.currency,
        code=int(LoanTransferCode.DISBURSEMENT),
    )
    view = loan.view()
    event_body = {
        "application_id": str(loan.application_id),
        "customer_id": str(loan.customer_id),
        "account_id": str(loan.account_id),
        "product": loan.product_code,
        "principal": loan.principal,
        "rate_bps": loan.rate_bps,
        "term_months": loan.term_months,
        "start_date": loan.start_date.isoformat(),
        "transfer_id": str(spec.id),
    }

    def render(outcomes: list[ItemOutcome], at: datetime) -> Rendered:
        code = outcomes[0].code
        if code not in (ResultCode.OK, ResultCode.EXISTS):
            # Refused (account_closed, ...): the offer opens again, nobody is stuck on it;
            # unless a transfer of this id exists (money moved for this loan id: a bug).
            error = error_for_result(code)
            rendered = Rendered(StoredAnswer(error.status, error.problem()))
            if code is not ResultCode.EXISTS_WITH_DIFFERENT_FIELDS:
                rendered.writes.append((_reopen, (loan.application_id, loan.id, at)))
            return rendered
        rendered = Rendered(StoredAnswer(201, view))
        if code is ResultCode.OK:
            rendered.events.append(EventRow("loan.disbursed", "loan", str(loan.id), event_body))
            rendered.writes.append((booking.insert_loan, booking.loan_row(loan)))
            for i in loan.installments:
                rendered.writes.append(
                    (booking.insert_installments, booking.installment_row(loan.id, i))
                )
        return rendered

    answer = await deps.engine.submit(Submission([[spec]], render, claim))
    return answer.answer, answer.replayed


async def _reopen(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Accepted applications whose disbursement the ledger refused: approved again, no loan."""
    await conn.executemany(
        "UPDATE loan_applications SET status = 'approved', loan_id = NULL, updated_at = $3 "
        "WHERE id = $1 AND status = 'accepted' AND loan_id = $2",
        rows,
    )


async def finish_pending_accepts(deps: LendingDeps, now: datetime | None = None) -> int:
    """Finish the accepts a crash left between their two steps, oldest first; returns how
    many were settled (disbursed, or approved again after a refusal). One that fails is
    logged and goes to the back of the queue (its updated_at moves to now), so that a few
    failing ones cannot keep the others out of the batch."""
    now = now or datetime.now(UTC)
    rows = await deps.pool.fetch(
        """
        SELECT a.id FROM loan_applications a
        WHERE a.status = 'accepted' AND a.loan_id IS NOT NULL AND a.updated_at < $1
          AND NOT EXISTS (SELECT 1 FROM loans l WHERE l.id = a.loan_id)
        ORDER BY a.updated_at, a.id
        LIMIT $2
        """,
        now - timedelta(seconds=ACCEPT_SWEEP_AGE_S),
        ACCEPT_SWEEP_BATCH_MAX,
    )
    settled = 0
    for row in rows:
        try:
            await accept(deps, row["id"], None, None, now=now)
        except Exception:
            log.exception("lending.pending_accept_failed", application_id=str(row["id"]))
            requeue = "UPDATE loan_applications SET updated_at = $2 WHERE id = $1"
            await deps.pool.execute(requeue + " AND status = 'accepted'", row["id"], now)
        else:
            settled += 1
    return settled


async def loan_for(
    conn: asyncpg.Connection | asyncpg.Pool, loan_id: uuid.UUID, customer_id: uuid.UUID | None
) -> LoanState:
    """The loan, if the caller may see it (a customer sees only their own: 404 otherwise)."""
    loan = await booking.load_loan(conn, loan_id)
    if loan is None or (customer_id is not None and loan.customer_id != customer_id):
        raise LoanNotFound()
    return loan


async def get_loan(
    conn: asyncpg.Connection | asyncpg.Pool, loan_id: uuid.UUID, customer_id: uuid.UUID | None
) -> dict[str, Any]:
    loan = await loan_for(conn, loan_id, customer_id)
    if loan.kind == "revolving":
        return await line_view(conn, loan)
    return loan.view()


async def list_loans(
    conn: asyncpg.Connection | asyncpg.Pool, customer_id: uuid.UUID
) -> dict[str, Any]:
    ids = await conn.fetch(
        "SELECT id FROM loans WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2",
        customer_id,
        LIST_LIMIT_MAX,
    )
    return {"items": [await get_loan(conn, row["id"], None) for row in ids]}


async def statement(
    conn: asyncpg.Connection | asyncpg.Pool, loan: LoanState, first: date | None, last: date | None
) -> dict[str, Any]:
    """What happened between two business dates (inclusive): the disbursement, installments
    falling due, repayments, and the interest booked (found by the ids close of business
    gives its transfers: one per loan, date and kind)."""
    first = first or loan.start_date
    last = last or loan.last_cob_date or booking.business_day(datetime.now(UTC))
    if last < first or (last - first).days > STATEMENT_DAYS_MAX:
        raise InvalidBusinessDate(f"from..to must be ordered and at most {STATEMENT_DAYS_MAX} days")
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    in_window = [i for i in loan.live if first <= i.due_date <= last]
    ids = {
        booking.loan_transfer_id(loan.id, f"{kind}:{d.isoformat()}"): kind
        for d in days
        for kind in ("accrue", "late")
    }
    ids |= {booking.loan_transfer_id(loan.id, f"trueup:{i.number}"): "accrue" for i in in_window}
    rows = await conn.fetch(
        f"SELECT id, debit_account_id, amount FROM transfers WHERE id {in_ids()}",
        list(ids),
    )
    receivable = booking.interest_account_id(loan.id)
    charged = {"accrue": 0, "late": 0}
    for row in rows:
        sign = 1 if row["debit_account_id"] == receivable else -1
        charged[ids[row["id"]]] += sign * row["amount"]
    lines: list[dict[str, Any]] = []
    if first <= loan.start_date <= last:
        lines.append(
            {"date": loan.start_date.isoformat(), "type": "disbursement", "amount": loan.principal}
        )
    lines += [
        {"date": i.due_date.isoformat(), "type": "installment_due", **i.out()} for i in in_window
    ]
    repaid = await conn.fetch(
        """
        SELECT * FROM loan_repayments WHERE loan_id = $1
          AND (created_at AT TIME ZONE 'Asia/Seoul')::date BETWEEN $2 AND $3
        ORDER BY created_at
        """,
        loan.id,
        first,
        last,
    )
    for r in repaid:
        lines.append(
            {
                "date": booking.business_day(r["created_at"]).isoformat(),
                "type": "repayment",
                "id": str(r["id"]),
                "amount": r["amount"],
                "fees": r["fees_minor"],
                "interest": r["interest_minor"],
                "principal": r["principal_minor"],
                "kind": r["kind"],
            }
        )
    lines.sort(key=lambda line: str(line["date"]))
    return {
        "loan_id": str(loan.id),
        "from": first.isoformat(),
        "to": last.isoformat(),
        "currency": loan.currency,
        "lines": lines,
        "totals": {
            "interest_charged": charged["accrue"],
            "late_interest_charged": charged["late"],
            "repaid": sum(r["amount"] for r in repaid),
            "repaid_fees": sum(r["fees_minor"] for r in repaid),
            "repaid_interest": sum(r["interest_minor"] for r in repaid),
            "repaid_principal": sum(r["principal_minor"] for r in repaid),
        },
        "principal_outstanding": loan.principal_outstanding,
        "payoff_amount": loan.payoff_amount,
    }
