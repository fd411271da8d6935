"""Hold use cases: place, capture and void, each one ledger submission under an idempotency key.

The hold's row, its events and the answer commit with the money, in the ledger engine's
transaction; a request refused before the ledger replays its key's answer if it has one.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from neobank.deposits.service import account_owners
from neobank.events import EventRow
from neobank.idempotency import Claim, StoredAnswer
from neobank.ledger.chart import AccountCode, bank_account_id
from neobank.ledger.domain import ItemOutcome, ResultCode, TransferFlags, TransferSpec
from neobank.ledger.engine import Answer, Rendered, Submission
from neobank.payments.errors import (
    CurrencyMismatch,
    ExceedsHoldAmount,
    HoldExpired,
    HoldNotFound,
    PaymentAccountNotFound,
    PaymentError,
    error_for_result,
)
from neobank.payments.fees import NO_FEE
from neobank.payments.holds import CAPTURE_KIND, Hold, insert_holds, load_hold, resolve_holds
from neobank.payments.orders import PaymentOrder, TransferCode, add_payments
from neobank.payments.schemas import HoldIn
from neobank.payments.submit import PaymentDeps, refuse, submit_to_ledger

__all__ = ["capture_hold", "place_hold", "void_hold"]


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
            writes=[(insert_holds, hold.row())],
        )

    return await submit_to_ledger(deps, Submission([[pending]], render, claim))


async def capture_hold(
    deps: PaymentDeps, hold_id: uuid.UUID, amount: int | None, claim: Claim
) -> Answer:
    """Post `amount` (all of the hold when None) to settlement; release the rest."""
    hold = await load_hold(deps.pool, hold_id)
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
    hold = await load_hold(deps.pool, hold_id)
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
            writes=[(resolve_holds, (hold.id, status, done.captured_amount, spec.id, now))],
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
            rendered.parts.append((add_payments, capture.row(now)))
        return rendered

    return await submit_to_ledger(deps, Submission([[spec]], render, claim))
