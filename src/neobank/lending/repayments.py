"""Repayments: a payment from a deposit account is split fees (late interest) → interest due →
principal due (due and overdue installments, oldest first); anything left pays the interest
accrued in the current period (as the next installment's interest paid ahead, so its due date
does not charge it again) and then principal early (the installments still to come are
re-amortized over the same term; paying everything closes the loan).

Under the loan's lock: read the loan, plan (pure), and submit one linked chain of transfers
whose render writes the loan, its installments, the repayment row and `loan.repaid` in the
engine's transaction. No funds: 422 insufficient_funds and nothing applied.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import asyncpg

from neobank.deposits.service import account_owners
from neobank.events import EventRow
from neobank.idempotency import Claim, InFlight, StoredAnswer, fetch_answer
from neobank.ledger.domain import ItemOutcome, ResultCode, TransferSpec
from neobank.ledger.engine import Rendered, Submission
from neobank.lending import booking
from neobank.lending.allocation import allocate
from neobank.lending.booking import LoanState, LoanTransferCode
from neobank.lending.close_of_business import fall_due, next_updated_at, update_delinquency
from neobank.lending.deps import LendingDeps
from neobank.lending.errors import AccountNotEligible, LoanClosed, RepaymentTooLarge
from neobank.lending.interest import accrue
from neobank.lending.loans import loan_for
from neobank.lending.locks import loan_lock
from neobank.lending.schedules import Method, remaining_schedule
from neobank.payments.errors import CurrencyMismatch, PaymentAccountNotFound, error_for_result

__all__ = ["RepaymentPlan", "plan_repayment", "repay"]


@dataclass
class RepaymentPlan:
    repayment_id: uuid.UUID
    loan: LoanState
    fees: int
    interest: int  # interest due plus the current period's accrued interest paid
    principal: int  # principal due plus principal paid early
    kind: str  # installment, prepayment, payoff
    chain: list[TransferSpec]
    events: list[EventRow]


def plan_repayment(
    before: LoanState,
    amount: int,
    from_account_id: uuid.UUID,
    today: date,
    now: datetime,
    repayment_id: uuid.UUID,
) -> RepaymentPlan:
    """What a repayment of `amount` does to the loan (pure). RepaymentTooLarge above payoff."""
    loan = before.copy()
    events: list[EventRow] = []
    specs: list[TransferSpec | None] = []
    # An installment whose period is fully accrued (closed through the day before its due
    # date) may be paid on its due date, before that night's close of business.
    for inst in loan.installments:
        if (
            inst.status == "scheduled"
            and inst.due_date <= today
            and inst.due_date <= loan.accrued_through + timedelta(days=1)
        ):
            specs.append(fall_due(loan, inst, events))
    if amount > loan.payoff_amount:
        raise RepaymentTooLarge(f"the payoff amount is {loan.payoff_amount}")
    split = allocate(
        amount,
        fees_due_minor=loan.late_interest_booked,
        interest_due_minor=loan.interest_due,
        principal_due_minor=loan.principal_due,
    )
    loan.late_interest_booked -= split.fees_minor
    loan.late_interest_accrued -= split.fees_minor
    interest_left, principal_left = split.interest_minor, split.principal_minor
    for inst in loan.installments:
        if not inst.unpaid:
            continue
        paid = min(interest_left, inst.interest_left)
        inst.interest_paid += paid
        interest_left -= paid
        paid = min(principal_left, inst.principal_left)
        inst.principal_paid += paid
        principal_left -= paid
        if inst.interest_left == inst.principal_left == 0:
            inst.status, inst.paid_at = "paid", now
    current, early = _pay_ahead(loan, split.unapplied_minor)
    if early:
        _reamortize(loan, early)
    kind = "prepayment" if early else "installment"
    if loan.payoff_amount == 0:
        kind = "payoff"
        loan.status, loan.closed_at = "closed", now
        loan.accrued_interest = loan.late_interest_accrued = Decimal(0)
        for inst in loan.installments:
            if inst.status == "scheduled":
                inst.status = "cancelled"
    if not any(i.status == "overdue" for i in loan.installments):
        update_delinquency(loan, loan.accrued_through, events)
    loan.updated_at = next_updated_at(before, now)
    to_interest = split.fees_minor + split.interest_minor + current
    to_principal = split.principal_minor + early
    specs.append(_payment(loan, from_account_id, repayment_id, to_interest, "interest"))
    specs.append(_payment(loan, from_account_id, repayment_id, to_principal, "principal"))
    return RepaymentPlan(
        repayment_id,
        loan,
        split.fees_minor,
        split.interest_minor + current,
        to_principal,
        kind,
        booking.chain_of(specs),
        events,
    )


def _payment(
    loan: LoanState, from_id: uuid.UUID, repayment_id: uuid.UUID, amount: int, part: str
) -> TransferSpec | None:
    if amount == 0:
        return None
    interest = part == "interest"
    return TransferSpec(
        id=booking.loan_transfer_id(loan.id, f"repay:{repayment_id}:{part}"),
        debit_account_id=from_id,
        credit_account_id=booking.interest_account_id(loan.id) if interest else loan.id,
        amount=amount,
        currency=loan.currency,
        code=int(
            LoanTransferCode.REPAYMENT_INTEREST
            if interest
            else LoanTransferCode.REPAYMENT_PRINCIPAL
        ),
    )


def _pay_ahead(loan: LoanState, surplus: int) -> tuple[int, int]:
    """What is left after everything due pays the current period's booked interest ahead of
    its due date (recorded as the next installment's interest_paid, so its true-up does not
    charge it again); the rest is principal paid early. Returns (interest, principal early).

    Without principal early the period's interest stays the schedule's, so no more of it than
    the installment's unpaid interest is taken as interest: above that it is principal early,
    and re-amortizing then makes the period's interest what accrues (as for any prepayment)."""
    ahead = min(surplus, loan.interest_booked)
    upcoming = [i for i in loan.installments if i.status == "scheduled"]
    if not upcoming:
        # Interest accrues only on principal not yet fallen due: nothing is booked.
        assert ahead == 0, "interest booked without an installment to come"
        return 0, surplus
    if ahead == surplus:
        ahead = min(ahead, upcoming[0].interest_left)
    upcoming[0].interest_paid += ahead
    loan.interest_booked -= ahead
    loan.accrued_interest -= ahead
    return ahead, surplus - ahead


def _reamortize(loan: LoanState, early: int) -> None:
    """Principal paid early comes off the installments still to come: they are rebuilt over
    the same term and due dates. The next one's interest becomes what was paid of it ahead plus
    what will accrue on the new principal up to its due date (and the booked interest still
    unpaid, with the fraction carried), so its true-up stays ~0."""
    scheduled = [i for i in loan.installments if i.status == "scheduled"]
    outstanding = sum(i.principal_left for i in scheduled) - early
    assert scheduled and outstanding >= 0, "the payoff check bounds an early repayment"
    if outstanding == 0:
        for inst in scheduled:
            inst.status = "cancelled"
        return
    assert loan.method is not None
    method: Method = loan.method  # type: ignore[assignment]
    rebuilt = remaining_schedule(
        method,
        outstanding,
        loan.rate_bps,
        loan.term_months,
        loan.start_date,
        scheduled[0].number - 1,
    )
    for inst, new in zip(scheduled, rebuilt, strict=True):
        inst.principal_due, inst.interest_due = new.principal_minor, new.interest_minor
    first = scheduled[0]
    days = max(0, (first.due_date - loan.accrued_through).days - 1)
    exact = loan.accrued_interest + accrue(outstanding, loan.rate_bps, days)
    first.interest_due = first.interest_paid + int(exact.quantize(Decimal(1), ROUND_HALF_UP))


async def repay(
    deps: LendingDeps,
    loan_id: uuid.UUID,
    from_account_id: uuid.UUID,
    amount: int,
    customer_id: uuid.UUID | None,
    claim: Claim | None,
    inflight: InFlight | None = None,
    now: datetime | None = None,
) -> tuple[StoredAnswer, bool]:
    """Repay a loan; returns the answer (201 repayment with the loan) and whether replayed."""
    if claim is not None and (stored := await fetch_answer(deps.pool, claim)) is not None:
        return stored, True
    now = now or datetime.now(UTC)
    loan = await loan_for(deps.pool, loan_id, customer_id)
    owners = await account_owners(deps.pool, [from_account_id])
    owner = owners.get(from_account_id)
    if owner is None or owner[0] != loan.customer_id:
        raise PaymentAccountNotFound("no such source account")
    if owner[1] != loan.currency:
        raise CurrencyMismatch()
    if loan.kind == "revolving":
        raise AccountNotEligible("a line is repaid by paying into its account")
    if inflight is not None and claim is not None:
        inflight.enter(claim)
    try:
        async with loan_lock(deps.pool, loan_id):
            # A retry of this key (another process) may have waited here while the first
            # request repaid: replay its answer, not what the loan's new state would answer
            # (loan_closed after a payoff, repayment_exceeds_balance).
            if claim is not None and (stored := await fetch_answer(deps.pool, claim)) is not None:
                return stored, True
            loan = await loan_for(deps.pool, loan_id, customer_id)
            if loan.status != "active":
                raise LoanClosed()
            plan = plan_repayment(
                loan, amount, from_account_id, booking.business_day(now), now, uuid.uuid4()
            )
            return await _submit(deps, loan, plan, from_account_id, amount, now, claim)
    finally:
        if inflight is not None and claim is not None:
            inflight.leave(claim)


async def _submit(
    deps: LendingDeps,
    before: LoanState,
    plan: RepaymentPlan,
    from_account_id: uuid.UUID,
    amount: int,
    now: datetime,
    claim: Claim | None,
) -> tuple[StoredAnswer, bool]:
    after = plan.loan
    body: dict[str, Any] = {
        "id": str(plan.repayment_id),
        "loan_id": str(after.id),
        "from_account_id": str(from_account_id),
        "amount": amount,
        "fees": plan.fees,
        "interest": plan.interest,
        "principal": plan.principal,
        "kind": plan.kind,
        "created_at": now.isoformat(),
        "loan": after.view(),
    }
    event_body = {k: v for k, v in body.items() if k != "loan"}
    event_body["principal_outstanding"] = after.principal_outstanding
    events = [*plan.events, EventRow("loan.repaid", "loan", str(after.id), event_body)]
    if after.status == "closed":
        events.append(EventRow("loan.closed", "loan", str(after.id), {"reason": "repaid"}))
    changed = [
        booking.installment_row(after.id, new)
        for old, new in zip(before.installments, after.installments, strict=True)
        if old != new
    ]
    repayment_row = (
        plan.repayment_id,
        after.id,
        from_account_id,
        amount,
        plan.fees,
        plan.interest,
        plan.principal,
        plan.kind,
        now,
    )

    def render(outcomes: list[ItemOutcome], at: datetime) -> Rendered:
        code = outcomes[0].code if outcomes else ResultCode.OK
        if code is not ResultCode.OK:
            error = error_for_result(code)
            return Rendered(StoredAnswer(error.status, error.problem()))
        rendered = Rendered(StoredAnswer(201, body), events=events)
        rendered.writes.append((booking.save_loan, booking.save_loan_row(after)))
        rendered.writes.extend((booking.save_installments, row) for row in changed)
        rendered.writes.append((_insert_repayment, repayment_row))
        return rendered

    answer = await deps.engine.submit(Submission([plan.chain], render, claim))
    return answer.answer, answer.replayed


async def _insert_repayment(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    await conn.executemany(
        """
        INSERT INTO loan_repayments (id, loan_id, from_account_id, amount, fees_minor,
            interest_minor, principal_minor, kind, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
        """,
        rows,
    )
