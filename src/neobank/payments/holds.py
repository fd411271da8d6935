"""Holds: money reserved on a deposit account, then captured (in full or in part), voided, or
left to expire.

A hold is a ledger pending transfer from the customer's account to the bank's settlement
account, so it lowers the account's available balance at once and its balance only when
captured. A capture posts the pending transfer (the rest of the hold is released); a void, or
the ledger's expiry worker after `timeout_seconds`, releases it all. The `holds` row, its
events and the answer commit with the money, in the ledger engine's transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from neobank.deposits.service import account_owners
from neobank.events import EventRow
from neobank.idempotency import Claim, StoredAnswer
from neobank.ledger import store as ledger_store
from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.domain import ItemOutcome, ResultCode, TransferFlags, TransferSpec
from neobank.ledger.engine import Answer, Rendered, Submission
from neobank.payments.errors import (
    CurrencyMismatch,
    ExceedsHoldAmount,
    HoldAlreadyResolved,
    HoldExpired,
    HoldNotFound,
    PaymentAccountNotFound,
    PaymentError,
    error_for_result,
)
from neobank.payments.fees import NO_FEE
from neobank.payments.orders import PaymentOrder, TransferCode, insert_payments
from neobank.payments.schemas import HoldIn
from neobank.payments.submit import PaymentDeps, refuse, submit_to_ledger

__all__ = ["Hold", "capture_hold", "get_hold", "place_hold", "void_hold"]

# The kind of the payment a capture becomes in the account's history.
CAPTURE_KIND = "hold_capture"


@dataclass(frozen=True)
class Hold:
    id: uuid.UUID
    account_id: uuid.UUID
    amount: int
    currency: str
    memo: str | None
    status: str  # pending, captured or voided as stored; expired once the ledger voided it
    captured_amount: int | None
    resolution_transfer_id: uuid.UUID | None
    timeout_seconds: int
    expires_at: datetime
    created_at: datetime
    resolved_at: datetime | None

    @property
    def settlement_id(self) -> uuid.UUID:
        return bank_account_id(AccountCode.SETTLEMENT, self.currency)

    def status_at(self, now: datetime) -> str:
        """A pending hold past its expiry is expired, whether or not the worker voided it yet."""
        if self.status == "pending" and self.expires_at <= now:
            return "expired"
        return self.status

    def check_resolvable(self, now: datetime) -> None:
        status = self.status_at(now)
        if status == "expired":
            raise HoldExpired()
        if status != "pending":
            raise HoldAlreadyResolved(f"the hold is {status}")

    def resolution(self, flag: TransferFlags, amount: int) -> TransferSpec:
        """The ledger transfer that posts (part of) or voids the pending transfer."""
        return TransferSpec(
            id=uuid.uuid4(),
            debit_account_id=self.account_id,
            credit_account_id=self.settlement_id,
            amount=amount,
            currency=self.currency,
            code=int(TransferCode.HOLD),
            flags=int(flag),
            pending_id=self.id,
        )

    def out(self, now: datetime) -> dict[str, Any]:
        captured = self.status == "captured"
        return {
            "id": str(self.id),
            "status": self.status_at(now),
            "account_id": str(self.account_id),
            "amount": self.amount,
            "currency": self.currency,
            "memo": self.memo,
            "captured_amount": self.captured_amount,
            "capture_transfer_id": str(self.resolution_transfer_id) if captured else None,
            "timeout_seconds": self.timeout_seconds,
            "expires_at": self.expires_at.isoformat(),
            "created_at": self.created_at.isoformat(),
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
        }

    def row(self) -> tuple[Any, ...]:
        """The columns `_insert_holds` writes."""
        return (
            self.id,
            self.account_id,
            self.amount,
            self.currency,
            self.memo,
            self.timeout_seconds,
            self.expires_at,
            self.created_at,
        )

    def event(self, event_type: str, now: datetime) -> EventRow:
        return EventRow(event_type, "hold", str(self.id), self.out(now))


async def _insert_holds(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    columns = list(zip(*rows, strict=True))
    await conn.execute(
        """
        INSERT INTO holds (id, account_id, amount, currency, memo, timeout_seconds, expires_at,
                           created_at)
        SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bigint[], $4::text[], $5::text[],
                             $6::int[], $7::timestamptz[], $8::timestamptz[])
        """,
        *[list(column) for column in columns],
    )


async def _resolve_holds(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    columns = list(zip(*rows, strict=True))
    await conn.execute(
        """
        UPDATE holds h SET status = u.status, captured_amount = u.captured,
            resolution_transfer_id = u.transfer_id, resolved_at = u.at
        FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::uuid[], $5::timestamptz[])
            AS u(id, status, captured, transfer_id, at)
        WHERE h.id = u.id
        """,
        *[list(column) for column in columns],
    )


def _refused(error: PaymentError, event: EventRow | None = None) -> Rendered:
    return Rendered(StoredAnswer(error.status, error.problem()), events=[event] if event else [])


async def place_hold(deps: PaymentDeps, body: HoldIn, claim: Claim) -> Answer:
    owners = await account_owners(deps.pool, [body.account_id])
    owner = owners.get(body.account_id)
    if owner is None:
        return await refuse(deps, claim, PaymentAccountNotFound())
    if owner[1] != body.currency:
        return await refuse(deps, claim, CurrencyMismatch())
    hold_id = uuid.uuid4()
    pending = TransferSpec(
        id=hold_id,
        debit_account_id=body.account_id,
        credit_account_id=bank_account_id(AccountCode.SETTLEMENT, body.currency),
        amount=body.amount,
        currency=body.currency,
        code=int(TransferCode.HOLD),
        flags=int(TransferFlags.PENDING),
        timeout_s=body.timeout_seconds,
    )

    def render(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
        if outcomes[0].code is not ResultCode.OK:
            error = error_for_result(outcomes[0].code)
            payload = {**body.model_dump(mode="json"), "id": str(hold_id), "code": error.code}
            return _refused(error, EventRow("hold.rejected", "hold", str(hold_id), payload))
        # The same expiry as the ledger's: the engine's `now` plus the timeout.
        expires_at = now + timedelta(seconds=body.timeout_seconds)
        hold = Hold(
            id=hold_id,
            account_id=body.account_id,
            amount=body.amount,
            currency=body.currency,
            memo=body.memo,
            status="pending",
            captured_amount=None,
            resolution_transfer_id=None,
            timeout_seconds=body.timeout_seconds,
            expires_at=expires_at,
            created_at=now,
            resolved_at=None,
        )
        return Rendered(
            StoredAnswer(201, hold.out(now)),
            events=[hold.event("hold.placed", now)],
            writes=[(_insert_holds, hold.row())],
        )

    return await submit_to_ledger(deps, Submission([[pending]], render, claim))


async def capture_hold(
    deps: PaymentDeps, hold_id: uuid.UUID, amount: int | None, claim: Claim
) -> Answer:
    """Post `amount` (all of the hold when None) to settlement; release the rest."""
    hold = await _load(deps.pool, hold_id)
    if hold is None:
        return await refuse(deps, claim, HoldNotFound())
    try:
        hold.check_resolvable(datetime.now(UTC))
        if amount is not None and amount > hold.amount:
            raise ExceedsHoldAmount(f"at most {hold.amount} is held")
    except PaymentError as error:
        return await refuse(deps, claim, error)
    spec = hold.resolution(TransferFlags.POST_PENDING, amount or hold.amount)
    return await _resolve(deps, hold, spec, claim)


async def void_hold(deps: PaymentDeps, hold_id: uuid.UUID, claim: Claim) -> Answer:
    """Release all of the hold."""
    hold = await _load(deps.pool, hold_id)
    if hold is None:
        return await refuse(deps, claim, HoldNotFound())
    try:
        hold.check_resolvable(datetime.now(UTC))
    except PaymentError as error:
        return await refuse(deps, claim, error)
    spec = hold.resolution(TransferFlags.VOID_PENDING, hold.amount)
    return await _resolve(deps, hold, spec, claim)


async def _resolve(deps: PaymentDeps, hold: Hold, spec: TransferSpec, claim: Claim) -> Answer:
    capturing = bool(spec.flags & TransferFlags.POST_PENDING)

    def render(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
        code = outcomes[0].code
        if code is ResultCode.PENDING_ALREADY_RESOLVED and hold.expires_at <= now:
            return _refused(HoldExpired())  # the expiry worker voided it meanwhile
        if code is not ResultCode.OK:
            return _refused(error_for_result(code))
        status = "captured" if capturing else "voided"
        done = replace(
            hold,
            status=status,
            captured_amount=spec.amount if capturing else None,
            resolution_transfer_id=spec.id,
            resolved_at=now,
        )
        rendered = Rendered(
            StoredAnswer(200, done.out(now)),
            events=[done.event(f"hold.{status}", now)],
            writes=[(_resolve_holds, (hold.id, status, done.captured_amount, spec.id, now))],
        )
        if capturing:
            # The capture is a payment: it shows in the account's history with the memo.
            capture = PaymentOrder(
                id=spec.id,
                kind=CAPTURE_KIND,
                from_account_id=hold.account_id,
                to_account_id=hold.settlement_id,
                amount=spec.amount,
                currency=hold.currency,
                memo=hold.memo,
                fee=NO_FEE,
            )
            rendered.writes.append((insert_payments, capture.row(now)))
        return rendered

    return await submit_to_ledger(deps, Submission([[spec]], render, claim))


async def _load(conn: asyncpg.Connection | asyncpg.Pool, hold_id: uuid.UUID) -> Hold | None:
    row = await conn.fetchrow(
        "SELECT id, account_id, amount, currency, memo, status, captured_amount, "
        "resolution_transfer_id, timeout_seconds, expires_at, created_at, resolved_at "
        "FROM holds WHERE id = $1",
        hold_id,
    )
    if row is None:
        return None
    hold = Hold(*row.values())
    if hold.status == "pending":
        # Captures and voids are recorded here with the money; a pending hold the ledger has
        # resolved anyway was voided by its expiry worker (whose clock may run ahead of ours).
        pendings = await ledger_store.load_pendings(conn, [hold.id])
        if pendings[hold.id].resolved:
            hold = replace(hold, status="expired")
    return hold


async def get_hold(
    conn: asyncpg.Connection | asyncpg.Pool, hold_id: uuid.UUID, customer_id: uuid.UUID | None
) -> dict[str, Any]:
    """The hold as it stands; a customer sees only holds on their own accounts."""
    hold = await _load(conn, hold_id)
    if hold is None:
        raise HoldNotFound()
    if customer_id is not None:
        owners = await account_owners(conn, [hold.account_id])
        if owners.get(hold.account_id, (None, ""))[0] != customer_id:
            raise HoldNotFound()
    return hold.out(datetime.now(UTC))
