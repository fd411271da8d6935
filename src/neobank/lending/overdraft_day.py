"""One business date of an overdraft line, decided in plain Python (`plan_line_day`): the
transfers to submit and how their outcomes become the line's new state, written by
`write_line_day` in the ledger engine's transaction. Used by `neobank.lending.overdraft`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import asyncpg

from neobank.events import EventRow
from neobank.idempotency.service import StoredAnswer
from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.domain import ItemOutcome, TransferSpec
from neobank.ledger.submission import Rendered
from neobank.lending import delinquency, interest
from neobank.lending.booking import (
    LoanTransferCode,
    StaleLoan,
    interest_account_id,
    loan_transfer_id,
)
from neobank.lending.schedules import due_date

__all__ = ["Charge", "LineDay", "LineState", "plan_line_day", "write_line_day"]


@dataclass(frozen=True)
class Charge:
    """A monthly interest charge: a loan_installments row with principal 0."""

    number: int
    due_date: date
    interest_due: int
    interest_paid: int


@dataclass(frozen=True)
class LineState:
    """What one day's close of business of a line reads (under the loan's lock)."""

    id: uuid.UUID
    account_id: uuid.UUID
    currency: str
    rate_bps: int
    start_date: date
    last_cob_date: date
    accrued_interest: Decimal
    interest_booked: int
    delinquency_bucket: str
    updated_at: datetime
    balance: int  # the deposit account's posted balance: negative while the line is used
    charged_total: int  # every charge ever made (paid or not)
    unpaid: tuple[Charge, ...]  # oldest first


@dataclass
class LineDay:
    """One business date of a line: the transfers to submit, and how their outcomes become
    the loan's new state (`render`, pure: the engine may call it more than once)."""

    line: LineState
    business_date: date
    used: int
    accrued: Decimal
    booked: int  # whole won booked today
    new_charge: Charge | None
    collect: int  # what today's charge transfer asks of the account
    chains: list[list[TransferSpec]] = field(default_factory=list)

    def render(self, outcomes: list[ItemOutcome], now: datetime) -> Rendered:
        line, business_date = self.line, self.business_date
        accrual_ok = not self.booked or outcomes[0].ok
        if not accrual_ok:
            # A bug or a closed book: write nothing; service_line raises with the code.
            return Rendered(StoredAnswer(500, {"accrual": outcomes[0].code.value}))
        collected = bool(self.collect) and outcomes[-1].ok
        unpaid = [*line.unpaid, *([self.new_charge] if self.new_charge else [])]
        oldest = None if collected or not unpaid else unpaid[0].due_date
        days_past_due = (business_date - oldest).days if oldest else 0
        bucket = delinquency.bucket(days_past_due)
        summary = {
            "loan_id": str(line.id),
            "business_date": business_date.isoformat(),
            "used": self.used,
            "interest_booked": self.booked,
            "charged": self.collect if collected else 0,
            "days_past_due": days_past_due,
            "delinquency_bucket": bucket,
        }
        events = []
        if collected:
            events.append(EventRow("loan.interest_charged", "loan", str(line.id), summary))
        elif self.new_charge:
            events.append(EventRow("loan.interest_charge_missed", "loan", str(line.id), summary))
        if bucket != line.delinquency_bucket:
            payload = {**summary, "from": line.delinquency_bucket, "to": bucket}
            events.append(EventRow("loan.delinquency_changed", "loan", str(line.id), payload))
        new = self.new_charge
        row = (
            line.id,
            line.updated_at,
            self.accrued,
            line.interest_booked + self.booked,
            days_past_due,
            bucket,
            business_date,
            now,
            (new.number, new.due_date, new.interest_due) if new else None,
            collected,
        )
        return Rendered(StoredAnswer(200, summary), events, [(write_line_day, row)])


def plan_line_day(line: LineState, business_date: date) -> LineDay:
    """A line's close of business for one date, decided in plain Python: a day's interest on
    the used part (more days if a date was missed), and on the monthly day (the start date's
    day of month, clamped) a charge of the interest booked and not yet charged. Unpaid charges
    are asked for again every day, all of them or nothing."""
    days = (business_date - line.last_cob_date).days
    assert days >= 1, "a line's date is serviced once"
    used = max(0, -line.balance)
    accrued = line.accrued_interest + interest.accrue(used, line.rate_bps, days)
    booked = interest.bookable_minor(accrued, line.interest_booked)
    new_charge = None
    number = _charge_number(line.start_date, line.last_cob_date, business_date)
    charge_minor = line.interest_booked + booked - line.charged_total
    if number is not None and charge_minor > 0:
        new_charge = Charge(number, due_date(line.start_date, number), charge_minor, 0)
    unpaid = [*line.unpaid, *([new_charge] if new_charge else [])]
    collect = sum(c.interest_due - c.interest_paid for c in unpaid)
    day = LineDay(line, business_date, used, accrued, booked, new_charge, collect)
    receivable = interest_account_id(line.id)
    if booked:
        income = bank_account_id(AccountCode.INTEREST_INCOME, line.currency)
        tag = f"line-accrual:{business_date.isoformat()}"
        day.chains.append(
            [_spec(line, tag, receivable, income, booked, LoanTransferCode.INTEREST_ACCRUAL)]
        )
    if collect:
        tag = f"line-charge:{business_date.isoformat()}"
        code = LoanTransferCode.REPAYMENT_INTEREST
        day.chains.append([_spec(line, tag, line.account_id, receivable, collect, code)])
    return day


def _charge_number(start: date, last: date, business_date: date) -> int | None:
    """The latest monthly day in (last, business_date], as its month number from the start."""
    months = (business_date.year - start.year) * 12 + business_date.month - start.month
    for number in (months, months - 1):
        if number >= 1 and last < due_date(start, number) <= business_date:
            return number
    return None


def _spec(
    line: LineState,
    tag: str,
    debit: uuid.UUID,
    credit: uuid.UUID,
    amount: int,
    code: LoanTransferCode,
) -> TransferSpec:
    return TransferSpec(
        id=loan_transfer_id(line.id, tag),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=amount,
        currency=line.currency,
        code=int(code),
    )


async def write_line_day(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Row writer (in the engine's transaction): each line's new state and its charges."""
    for loan_id, read_at, accrued, booked, dpd, bucket, business_date, now, new, paid in rows:
        status = await conn.execute(
            """
            UPDATE loans SET accrued_interest = $3, interest_booked = $4, days_past_due = $5,
                delinquency_bucket = $6, last_cob_date = $7, updated_at = $8
            WHERE id = $1 AND updated_at = $2
            """,
            loan_id,
            read_at,
            accrued,
            booked,
            dpd,
            bucket,
            business_date,
            now,
        )
        if status != "UPDATE 1":
            raise StaleLoan(f"line {loan_id} changed while it was being serviced")
        if new is not None:
            number, due, amount = new
            await conn.execute(
                """
                INSERT INTO loan_installments (loan_id, number, due_date, principal_due,
                    interest_due, status)
                VALUES ($1, $2, $3, 0, $4, 'due')
                """,
                loan_id,
                number,
                due,
                amount,
            )
        await conn.execute(
            """
            UPDATE loan_installments SET
                status = CASE WHEN $3 THEN 'paid' WHEN due_date < $2 THEN 'overdue'
                              ELSE status END,
                interest_paid = CASE WHEN $3 THEN interest_due ELSE interest_paid END,
                paid_at = CASE WHEN $3 THEN $4 ELSE paid_at END
            WHERE loan_id = $1 AND status IN ('due', 'overdue')
            """,
            loan_id,
            business_date,
            paid,
            now,
        )
