"""Close of business: at the end of each business date every active loan accrues a day's
interest, its installments fall due and go overdue, its delinquency bucket moves, and late
interest accrues on overdue principal.

Per loan and date, under the loan's lock, one engine submission books the day's interest and
writes the loan's new state (last_cob_date included) in the same transaction: a date is done
for a loan exactly when its money moved, so a run interrupted anywhere resumes by skipping the
loans already done, and a completed date run again changes nothing.

Rules (what the books follow):
- Regular interest accrues each night on the principal not yet fallen due, Actual/365, exact to
  a millionth of a won; whole won are booked (interest receivable ← interest income) and the
  fraction waits for the next night.
- On an installment's due date its interest is trued up to the schedule's figure (the
  contract: outstanding * rate / 12), booking the difference either way; the period restarts.
  Interest of the period repaid before the due date counts towards that figure.
- An installment unpaid the day after its due date is overdue; days past due count from the
  oldest unpaid installment's due date; late interest accrues on overdue principal at the late
  rate (contract rate + 3 %p, at most 20 %), booked the same way.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import structlog

from neobank.events import EventRow
from neobank.idempotency import StoredAnswer
from neobank.ledger.domain import ItemOutcome, ResultCode, TransferSpec
from neobank.ledger.engine import Rendered, Submission
from neobank.lending import booking
from neobank.lending.booking import InstallmentState, LoanState, LoanTransferCode
from neobank.lending.delinquency import bucket
from neobank.lending.deps import LendingDeps
from neobank.lending.errors import InvalidBusinessDate
from neobank.lending.interest import accrue, bookable_minor
from neobank.lending.locks import loan_lock

__all__ = [
    "close_day",
    "fall_due",
    "next_updated_at",
    "run_close_of_business",
    "run_status",
    "update_delinquency",
    "validate_business_date",
]

log = structlog.get_logger(__name__)

# A business date may be closed at most this many days ahead of today (Korea): closing
# "today" late in the evening of the day before is allowed, the future is not.
DAYS_AHEAD_MAX = 1


def next_updated_at(loan: LoanState, now: datetime) -> datetime:
    """A new updated_at, strictly after the one read (the guard of `save_loan`)."""
    previous = loan.read_updated_at or loan.updated_at
    return max(now, previous + timedelta(microseconds=1))


def fall_due(
    loan: LoanState, installment: InstallmentState, events: list[EventRow]
) -> TransferSpec | None:
    """The installment falls due: true up the period's booked interest to its scheduled
    interest (the returned transfer books the difference) and restart the period. Interest of
    the period repaid ahead (its interest_paid) came off the booked interest: it is not
    booked again."""
    trueup = installment.interest_left - loan.interest_booked
    loan.accrued_interest = Decimal(0)
    loan.interest_booked = 0
    installment.status = (
        "paid" if installment.principal_left == installment.interest_left == 0 else "due"
    )
    events.append(
        EventRow(
            "loan.installment_due",
            "loan",
            str(loan.id),
            {
                "number": installment.number,
                "due_date": installment.due_date.isoformat(),
                "principal": installment.principal_left,
                "interest": installment.interest_left,
                "interest_trued_up": trueup,
            },
        )
    )
    return booking.interest_transfer(
        loan, trueup, f"trueup:{installment.number}", LoanTransferCode.INTEREST_ACCRUAL
    )


def update_delinquency(loan: LoanState, on: date, events: list[EventRow]) -> None:
    """Days past due as of `on` (from the oldest unpaid installment's due date) and the
    bucket; a bucket change is an event."""
    unpaid = [i.due_date for i in loan.installments if i.unpaid and i.due_date < on]
    loan.days_past_due = (on - min(unpaid)).days if unpaid else 0
    new_bucket = bucket(loan.days_past_due)
    if new_bucket != loan.delinquency_bucket:
        events.append(
            EventRow(
                "loan.delinquency_changed",
                "loan",
                str(loan.id),
                {
                    "from": loan.delinquency_bucket,
                    "to": new_bucket,
                    "days_past_due": loan.days_past_due,
                    "as_of": on.isoformat(),
                },
            )
        )
        loan.delinquency_bucket = new_bucket


def close_day(
    state: LoanState, day: date, now: datetime
) -> tuple[LoanState, list[TransferSpec], list[EventRow]]:
    """One business date of one installment loan (pure): the new state, the transfers that
    book it, and its events. The caller runs dates in order (day == accrued_through + 1)."""
    loan = state.copy()
    specs: list[TransferSpec | None] = []
    events: list[EventRow] = []
    for inst in loan.installments:
        if inst.status == "scheduled" and inst.due_date <= day:
            specs.append(fall_due(loan, inst, events))
        elif inst.status == "due" and inst.due_date < day:
            inst.status = "overdue"
    update_delinquency(loan, day, events)
    loan.accrued_interest += accrue(loan.scheduled_principal, loan.rate_bps)
    regular = bookable_minor(loan.accrued_interest, loan.interest_booked)
    loan.interest_booked += regular
    specs.append(
        booking.interest_transfer(
            loan, regular, f"accrue:{day.isoformat()}", LoanTransferCode.INTEREST_ACCRUAL
        )
    )
    loan.late_interest_accrued += accrue(loan.overdue_principal, loan.late_rate_bps)
    late = bookable_minor(loan.late_interest_accrued, loan.late_interest_booked)
    loan.late_interest_booked += late
    specs.append(
        booking.interest_transfer(
            loan, late, f"late:{day.isoformat()}", LoanTransferCode.LATE_INTEREST
        )
    )
    loan.last_cob_date = day
    loan.updated_at = next_updated_at(state, now)
    return loan, booking.chain_of(specs), events


async def _close_loan_day(deps: LendingDeps, before: LoanState, day: date) -> LoanState:
    after, chain, events = close_day(before, day, datetime.now(UTC))
    changed = [
        booking.installment_row(after.id, new)
        for old, new in zip(before.installments, after.installments, strict=True)
        if old != new
    ]

    def render(outcomes: list[ItemOutcome], at: datetime) -> Rendered:
        if outcomes and outcomes[0].code not in (ResultCode.OK, ResultCode.EXISTS):
            # The bank's own books refused: a bug; nothing is written, the run stops here.
            raise RuntimeError(f"close of business {day} for loan {after.id}: {outcomes[0]}")
        rendered = Rendered(StoredAnswer(200, {}), events=events)
        rendered.writes.append((booking.save_loan, booking.save_loan_row(after)))
        rendered.writes.extend((booking.save_installments, row) for row in changed)
        rendered.writes.append((_count_done, (day,)))
        return rendered

    await deps.engine.submit(Submission([chain] if chain else [], render))
    return after


async def _count_done(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    await conn.executemany(
        "UPDATE close_of_business_runs SET loans_done = loans_done + 1 WHERE business_date = $1",
        rows,
    )


async def _service_loan(deps: LendingDeps, loan_id: uuid.UUID, kind: str, day: date) -> None:
    if kind == "revolving":
        # The overdraft module services lines (it takes the loan's lock itself).
        from neobank.lending.overdraft import service_line

        row = await deps.pool.fetchrow("SELECT * FROM loans WHERE id = $1", loan_id)
        if row is None or row["status"] != "active":
            return
        # Like an installment loan, a line behind catches up one date at a time.
        last: date | None = row["last_cob_date"]
        step = max(last + timedelta(days=1), row["start_date"]) if last else row["start_date"]
        while step <= day:
            await service_line(deps, row, step)
            step += timedelta(days=1)
        return
    async with loan_lock(deps.pool, loan_id):
        loan = await booking.load_loan(deps.pool, loan_id)
        while loan is not None and loan.status == "active" and loan.accrued_through < day:
            # A loan behind (created after its first date was closed) catches up day by day.
            loan = await _close_loan_day(deps, loan, loan.accrued_through + timedelta(days=1))
            loan.read_updated_at = loan.updated_at


async def validate_business_date(deps: LendingDeps, day: date, today: date) -> None:
    """422 for a date beyond tomorrow, or before the last closed date but never closed."""
    if day > today + timedelta(days=DAYS_AHEAD_MAX):
        raise InvalidBusinessDate(f"{day} is in the future")
    last = await deps.pool.fetchval(
        "SELECT max(business_date) FROM close_of_business_runs WHERE status = 'completed'"
    )
    if last is not None and day < last:
        done = await deps.pool.fetchval(
            "SELECT 1 FROM close_of_business_runs WHERE business_date = $1", day
        )
        if not done:
            raise InvalidBusinessDate(f"dates run in order: {last} is closed already")


async def run_close_of_business(
    deps: LendingDeps, business_date: date, *, loans_max: int | None = None
) -> int:
    """Close every date from the one after the last completed run up to `business_date`, in
    order (just `business_date` the first time). Returns the loan-days processed.

    `loans_max` stops after that many loans (tests use it to interrupt a run midway)."""
    last = await deps.pool.fetchval(
        "SELECT max(business_date) FROM close_of_business_runs WHERE status = 'completed'"
    )
    first = business_date if last is None else last + timedelta(days=1)
    processed = 0
    day = first
    while day <= business_date:
        await deps.pool.execute(
            """
            INSERT INTO close_of_business_runs (business_date, status, started_at)
            VALUES ($1, 'running', $2) ON CONFLICT (business_date) DO NOTHING
            """,
            day,
            datetime.now(UTC),
        )
        loans = await deps.pool.fetch(
            """
            SELECT id, kind FROM loans
            WHERE status = 'active' AND start_date <= $1
              AND (last_cob_date IS NULL OR last_cob_date < $1)
            ORDER BY id
            """,
            day,
        )
        for row in loans:
            if loans_max is not None and processed >= loans_max:
                return processed
            await _service_loan(deps, row["id"], row["kind"], day)
            processed += 1
        await deps.pool.execute(
            """
            UPDATE close_of_business_runs SET status = 'completed', completed_at = $2
            WHERE business_date = $1 AND status = 'running'
            """,
            day,
            datetime.now(UTC),
        )
        log.info("lending.close_of_business_done", business_date=day.isoformat())
        day += timedelta(days=1)
    return processed


async def run_status(deps: LendingDeps, business_date: date) -> dict[str, Any]:
    row = await deps.pool.fetchrow(
        "SELECT * FROM close_of_business_runs WHERE business_date = $1", business_date
    )
    remaining = await deps.pool.fetchval(
        """
        SELECT count(*) FROM loans WHERE status = 'active' AND start_date <= $1
          AND (last_cob_date IS NULL OR last_cob_date < $1)
        """,
        business_date,
    )
    if row is None:
        return {
            "business_date": business_date.isoformat(),
            "status": "not_started",
            "loans_done": 0,
            "loans_remaining": remaining,
        }
    return {
        "business_date": business_date.isoformat(),
        "status": row["status"],
        "loans_done": row["loans_done"],
        "loans_remaining": remaining,
        "started_at": row["started_at"].isoformat(),
        "completed_at": row["completed_at"].isoformat() if row["completed_at"] else None,
    }
