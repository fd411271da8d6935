"""A loan as the servicing code sees it (`LoanState`, read under the loan's lock), the ledger
transfers its money moves become, and the row writers that commit its changes in the ledger
engine's transaction (`Rendered.writes`)."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.domain import AccountFlags, TransferFlags, TransferSpec
from neobank.ledger.store import create_account

__all__ = [
    "LOAN_NAMESPACE",
    "SEOUL",
    "InstallmentState",
    "LoanState",
    "LoanTransferCode",
    "StaleLoan",
    "business_day",
    "chain_of",
    "ensure_loan_accounts",
    "insert_installments",
    "insert_loan",
    "interest_account_id",
    "interest_transfer",
    "load_loan",
    "loan_transfer_id",
    "save_installments",
    "save_loan",
]

SEOUL = ZoneInfo("Asia/Seoul")
# Every id derived for a loan (its interest receivable account, its servicing transfers).
LOAN_NAMESPACE = uuid.UUID("b3a4f0c2-61d5-4e0b-9a57-0c1e7d2f4a88")
_LINKED = int(TransferFlags.LINKED)
# Principal and interest receivable: nobody repays more than is owed.
RECEIVABLE_FLAGS = int(AccountFlags.CREDITS_MUST_NOT_EXCEED_DEBITS)


class LoanTransferCode(enum.IntEnum):
    """Ledger transfer codes of lending (payments use 1-7, onboarding 20)."""

    DISBURSEMENT = 30
    REPAYMENT_INTEREST = 31  # fees (late interest) and interest, deposit → interest receivable
    REPAYMENT_PRINCIPAL = 32  # deposit → principal receivable
    INTEREST_ACCRUAL = 33  # interest receivable ← interest income (or back, for a true-up)
    LATE_INTEREST = 34


class StaleLoan(RuntimeError):
    """The loan changed between reading it and committing: a servicing step ran outside the
    loan's lock. The engine's transaction rolls back; the caller may retry."""


def business_day(now: datetime) -> date:
    """The bank's calendar day (Korea) at a moment."""
    return now.astimezone(SEOUL).date()


def interest_account_id(loan_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(LOAN_NAMESPACE, f"interest:{loan_id}")


def loan_transfer_id(loan_id: uuid.UUID, tag: str) -> uuid.UUID:
    """A servicing transfer's id follows from what it is, so a retry rebuilds the same one."""
    return uuid.uuid5(LOAN_NAMESPACE, f"{tag}:{loan_id}")


@dataclass
class InstallmentState:
    number: int
    due_date: date
    principal_due: int
    interest_due: int
    principal_paid: int = 0
    interest_paid: int = 0
    status: str = "scheduled"  # scheduled, due, overdue, paid, cancelled
    paid_at: datetime | None = None

    @property
    def principal_left(self) -> int:
        return self.principal_due - self.principal_paid

    @property
    def interest_left(self) -> int:
        return self.interest_due - self.interest_paid

    @property
    def unpaid(self) -> bool:
        return self.status in ("due", "overdue")

    def out(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "due_date": self.due_date.isoformat(),
            "principal": self.principal_due,
            "interest": self.interest_due,
            "total": self.principal_due + self.interest_due,
            "principal_paid": self.principal_paid,
            "interest_paid": self.interest_paid,
            "status": self.status,
        }


@dataclass
class LoanState:
    """An installment loan's servicing state. `accrued_interest` / `interest_booked` are the
    current period's exact accrual and the whole won of it booked; `late_interest_*` are the
    unpaid late interest (paying some lowers both, so whole-won booking stays exact)."""

    id: uuid.UUID
    application_id: uuid.UUID
    customer_id: uuid.UUID
    account_id: uuid.UUID
    product_code: str
    product_version: int
    kind: str
    method: str | None
    currency: str
    principal: int
    rate_bps: int
    late_rate_bps: int
    term_months: int
    start_date: date
    maturity_date: date
    status: str
    created_at: datetime
    updated_at: datetime
    accrued_interest: Decimal = Decimal(0)
    interest_booked: int = 0
    late_interest_accrued: Decimal = Decimal(0)
    late_interest_booked: int = 0
    days_past_due: int = 0
    delinquency_bucket: str = "current"
    last_cob_date: date | None = None
    closed_at: datetime | None = None
    installments: list[InstallmentState] = field(default_factory=list)
    # What the row held when read: the guard of `save_loan`. None: a new loan.
    read_updated_at: datetime | None = None

    def copy(self) -> LoanState:
        return replace(self, installments=[replace(i) for i in self.installments])

    @property
    def live(self) -> list[InstallmentState]:
        return [i for i in self.installments if i.status != "cancelled"]

    @property
    def principal_outstanding(self) -> int:
        return sum(i.principal_left for i in self.live)

    @property
    def scheduled_principal(self) -> int:
        """Principal not yet fallen due: what regular interest accrues on."""
        return sum(i.principal_left for i in self.installments if i.status == "scheduled")

    @property
    def overdue_principal(self) -> int:
        """What late interest accrues on."""
        return sum(i.principal_left for i in self.installments if i.status == "overdue")

    @property
    def interest_due(self) -> int:
        return sum(i.interest_left for i in self.installments if i.unpaid)

    @property
    def principal_due(self) -> int:
        return sum(i.principal_left for i in self.installments if i.unpaid)

    @property
    def accrued_through(self) -> date:
        """The last day whose interest is in the books (the day before the start if none)."""
        return self.last_cob_date or self.start_date - timedelta(days=1)

    @property
    def payoff_amount(self) -> int:
        """Principal outstanding + interest due + interest accrued (whole won booked through
        the last close of business) + late interest."""
        return (
            self.principal_outstanding
            + self.interest_due
            + self.interest_booked
            + self.late_interest_booked
        )

    def view(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "application_id": str(self.application_id),
            "customer_id": str(self.customer_id),
            "account_id": str(self.account_id),
            "product": self.product_code,
            "product_version": self.product_version,
            "kind": self.kind,
            "method": self.method,
            "status": self.status,
            "currency": self.currency,
            "principal": self.principal,
            "principal_outstanding": self.principal_outstanding,
            "rate_bps": self.rate_bps,
            "late_rate_bps": self.late_rate_bps,
            "term_months": self.term_months,
            "start_date": self.start_date.isoformat(),
            "maturity_date": self.maturity_date.isoformat(),
            "interest_due": self.interest_due,
            "principal_due": self.principal_due,
            "interest_accrued": self.interest_booked,
            "late_interest": self.late_interest_booked,
            "payoff_amount": self.payoff_amount,
            "days_past_due": self.days_past_due,
            "delinquency_bucket": self.delinquency_bucket,
            "last_cob_date": self.last_cob_date.isoformat() if self.last_cob_date else None,
            "created_at": self.created_at.isoformat(),
            "closed_at": self.closed_at.isoformat() if self.closed_at else None,
            "schedule": [i.out() for i in self.live],
        }


_LOAN_FIELDS = (
    "id, application_id, customer_id, account_id, product_code, product_version, kind, method, "
    "currency, principal, rate_bps, late_rate_bps, term_months, start_date, maturity_date, "
    "status, created_at, updated_at, accrued_interest, interest_booked, late_interest_accrued, "
    "late_interest_booked, days_past_due, delinquency_bucket, last_cob_date, closed_at"
)


def state_from_rows(row: asyncpg.Record, rows: Sequence[asyncpg.Record]) -> LoanState:
    values = {name.strip(): row[name.strip()] for name in _LOAN_FIELDS.split(",")}
    state = LoanState(**values, read_updated_at=row["updated_at"])
    state.installments = [
        InstallmentState(
            r["number"],
            r["due_date"],
            r["principal_due"],
            r["interest_due"],
            r["principal_paid"],
            r["interest_paid"],
            r["status"],
            r["paid_at"],
        )
        for r in rows
    ]
    return state


async def load_loan(
    conn: asyncpg.Connection | asyncpg.Pool, loan_id: uuid.UUID
) -> LoanState | None:
    row = await conn.fetchrow(f"SELECT {_LOAN_FIELDS} FROM loans WHERE id = $1", loan_id)
    if row is None:
        return None
    rows = await conn.fetch(
        "SELECT * FROM loan_installments WHERE loan_id = $1 ORDER BY number", loan_id
    )
    return state_from_rows(row, rows)


async def ensure_loan_accounts(conn: asyncpg.Connection, loan_id: uuid.UUID, currency: str) -> None:
    """Open the loan's principal and interest receivable accounts (idempotent)."""
    for account_id, code in (
        (loan_id, AccountCode.LOAN_RECEIVABLE),
        (interest_account_id(loan_id), AccountCode.INTEREST_RECEIVABLE),
    ):
        exists = await conn.fetchval("SELECT 1 FROM ledger_accounts WHERE id = $1", account_id)
        if not exists:
            await create_account(conn, account_id, currency, int(code), RECEIVABLE_FLAGS)


def interest_transfer(
    loan: LoanState, amount: int, tag: str, code: LoanTransferCode
) -> TransferSpec | None:
    """Book interest: receivable ← income; a negative amount (a true-up down) goes back."""
    if amount == 0:
        return None
    receivable = interest_account_id(loan.id)
    income = bank_account_id(AccountCode.INTEREST_INCOME, loan.currency)
    debit, credit = (receivable, income) if amount > 0 else (income, receivable)
    return TransferSpec(
        id=loan_transfer_id(loan.id, tag),
        debit_account_id=debit,
        credit_account_id=credit,
        amount=abs(amount),
        currency=loan.currency,
        code=int(code),
    )


def chain_of(specs: Sequence[TransferSpec | None]) -> list[TransferSpec]:
    """The transfers (None dropped) as one linked chain: all of them or none."""
    present = [s for s in specs if s is not None]
    return [
        s._replace(flags=s.flags | _LINKED) if n < len(present) - 1 else s
        for n, s in enumerate(present)
    ]


# Row writers: called by the engine inside its transaction with the rows of a whole batch.


async def insert_loan(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """A new loan (a resumed accept finds it there and writes nothing)."""
    await conn.executemany(
        f"""
        INSERT INTO loans ({_LOAN_FIELDS}, receivable_account_id, interest_account_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                $18, $19, $20, $21, $22, $23, $24, $25, $26, $1, $27)
        ON CONFLICT (id) DO NOTHING
        """,
        rows,
    )


def loan_row(loan: LoanState) -> tuple[Any, ...]:
    return (
        *(getattr(loan, name.strip()) for name in _LOAN_FIELDS.split(",")),
        interest_account_id(loan.id),
    )


async def insert_installments(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    await conn.executemany(
        """
        INSERT INTO loan_installments (loan_id, number, due_date, principal_due, interest_due,
            principal_paid, interest_paid, status, paid_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
        """,
        rows,
    )


def installment_row(loan_id: uuid.UUID, i: InstallmentState) -> tuple[Any, ...]:
    return (
        loan_id,
        i.number,
        i.due_date,
        i.principal_due,
        i.interest_due,
        i.principal_paid,
        i.interest_paid,
        i.status,
        i.paid_at,
    )


async def save_installments(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    await conn.executemany(
        """
        UPDATE loan_installments SET due_date = $3, principal_due = $4, interest_due = $5,
            principal_paid = $6, interest_paid = $7, status = $8, paid_at = $9
        WHERE loan_id = $1 AND number = $2
        """,
        rows,
    )


_SAVE_LOAN = """
UPDATE loans SET status = $3, accrued_interest = $4, interest_booked = $5,
    late_interest_accrued = $6, late_interest_booked = $7, days_past_due = $8,
    delinquency_bucket = $9, last_cob_date = $10, closed_at = $11, updated_at = $12
WHERE id = $1 AND updated_at = $2
"""


async def save_loan(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Write the loans' new state, each only if it is still what was read (else StaleLoan)."""
    for row in rows:
        if await conn.execute(_SAVE_LOAN, *row) != "UPDATE 1":
            raise StaleLoan(f"loan {row[0]} changed while it was being serviced")


def save_loan_row(loan: LoanState) -> tuple[Any, ...]:
    assert loan.read_updated_at is not None
    return (
        loan.id,
        loan.read_updated_at,
        loan.status,
        loan.accrued_interest,
        loan.interest_booked,
        loan.late_interest_accrued,
        loan.late_interest_booked,
        loan.days_past_due,
        loan.delinquency_bucket,
        loan.last_cob_date,
        loan.closed_at,
        loan.updated_at,
    )
