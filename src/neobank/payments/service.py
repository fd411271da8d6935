"""Payment use cases: internal transfers, ops deposits, the batch endpoint, reading transfers.

Each builds payment orders, checks what can be checked before the ledger (accounts exist and
belong to the caller, currencies match), and hands the ledger engine one submission whose
answer, events and payment rows commit with the money.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg

from neobank.deposits.service import account_owners
from neobank.idempotency import Claim, StoredAnswer
from neobank.ledger.domain import ItemOutcome, ResultCode
from neobank.ledger.engine import Answer, Rendered, Submission
from neobank.payments.batch_event import batch_applied_event
from neobank.payments.errors import (
    CurrencyMismatch,
    PaymentAccountNotFound,
    PaymentError,
    SameAccount,
    TransferNotFound,
    error_for_result,
)
from neobank.payments.fees import NO_FEE
from neobank.payments.orders import (
    COPY_PAYMENTS_MIN,
    PaymentOrder,
    add_payments,
    copy_payments,
    stored_quotes,
)
from neobank.payments.schemas import BatchIn, DepositIn, TransferIn
from neobank.payments.submit import PaymentDeps, refuse, submit_to_ledger

__all__ = ["PaymentDeps", "get_transfer", "submit_batch", "submit_deposit", "submit_transfer"]


def _precheck(
    owners: dict[uuid.UUID, tuple[uuid.UUID, str]],
    from_id: uuid.UUID | None,
    to_id: uuid.UUID,
    currency: str,
    customer_id: uuid.UUID | None,
) -> PaymentError | None:
    """What can be refused before the ledger. A customer's own-account check answers 404 for
    an account that is not theirs, as for one that does not exist."""
    if from_id == to_id:
        return SameAccount()
    if from_id is not None:
        source = owners.get(from_id)
        if source is None or (customer_id is not None and source[0] != customer_id):
            return PaymentAccountNotFound("no such source account")
    target = owners.get(to_id)
    if target is None:
        return PaymentAccountNotFound("no such destination account")
    if target[1] != currency or (from_id is not None and owners[from_id][1] != currency):
        return CurrencyMismatch()
    return None


def _render_single(
    order: PaymentOrder, success_status: int
) -> Callable[[list[ItemOutcome], datetime], Rendered]:
    def render(outcomes: list[ItemOutcome], now: datetime) -> Rendered:
        outcome = outcomes[0]
        if outcome.code is ResultCode.OK:
            body = order.out(now)
            return Rendered(
                StoredAnswer(success_status, body),
                events=[order.posted_event(body)],
                parts=[(add_payments, order.row(now))],
            )
        error = error_for_result(outcome.code)
        return Rendered(
            StoredAnswer(error.status, error.problem()),
            events=[order.rejected_event(error.code)],
        )

    return render


async def submit_transfer(
    deps: PaymentDeps, body: TransferIn, customer_id: uuid.UUID | None, claim: Claim
) -> Answer:
    owners = await account_owners(deps.pool, [body.from_account_id, body.to_account_id])
    error = _precheck(owners, body.from_account_id, body.to_account_id, body.currency, customer_id)
    if error is not None:
        return await refuse(deps, claim, error)
    now = datetime.now(UTC)
    order = PaymentOrder(
        id=uuid.uuid4(),
        kind="internal",
        from_account_id=body.from_account_id,
        to_account_id=body.to_account_id,
        amount=body.amount,
        currency=body.currency,
        memo=body.memo,
        fee=await deps.fees.quote("internal", body.currency, now),
    )
    return await submit_to_ledger(
        deps, Submission([order.chain()], _render_single(order, 201), claim)
    )


async def submit_deposit(deps: PaymentDeps, body: DepositIn, claim: Claim) -> Answer:
    owners = await account_owners(deps.pool, [body.account_id])
    error = _precheck(owners, None, body.account_id, body.currency, None)
    if error is not None:
        return await refuse(deps, claim, error)
    order = PaymentOrder(
        id=uuid.uuid4(),
        kind="deposit",
        from_account_id=None,
        to_account_id=body.account_id,
        amount=body.amount,
        currency=body.currency,
        memo=body.memo,
        fee=NO_FEE,
    )
    return await submit_to_ledger(
        deps, Submission([order.chain()], _render_single(order, 201), claim)
    )


async def submit_batch(deps: PaymentDeps, body: BatchIn, claim: Claim) -> Answer:
    """Every item stands or falls alone; all of them commit in one ledger transaction."""
    items = body.transfers
    account_ids = list({i.from_account_id for i in items} | {i.to_account_id for i in items})
    owners = await account_owners(deps.pool, account_ids)
    stored = await stored_quotes(deps.pool, [i.id for i in items])
    now = datetime.now(UTC)
    quotes = {c: await deps.fees.quote("internal", c, now) for c in {i.currency for i in items}}
    refused: dict[int, str] = {}
    orders: list[tuple[int, PaymentOrder]] = []
    for index, item in enumerate(items):
        error = _precheck(owners, item.from_account_id, item.to_account_id, item.currency, None)
        if error is not None:
            refused[index] = error.code
            continue
        order = PaymentOrder(
            id=item.id,
            kind="internal",
            from_account_id=item.from_account_id,
            to_account_id=item.to_account_id,
            amount=item.amount,
            currency=item.currency,
            memo=item.memo,
            fee=stored.get(item.id) or quotes[item.currency],
        )
        orders.append((index, order))

    copy = len(orders) >= COPY_PAYMENTS_MIN

    def render(outcomes: list[ItemOutcome], at: datetime) -> Rendered:
        # Built afresh on every call: the engine renders again when it retries a commit.
        results: list[dict[str, Any]] = [
            {"id": str(i.id), "status": "failed", "code": refused[n]}
            if n in refused
            else {"id": str(i.id)}
            for n, i in enumerate(items)
        ]
        rendered = Rendered(StoredAnswer(200, {"results": results}))
        created_at = at.isoformat()  # once, not per item
        posted: list[list[Any]] = []
        rejected: list[list[Any]] = []
        for (index, order), outcome in zip(orders, outcomes, strict=True):
            if outcome.code is ResultCode.OK:
                results[index]["status"] = "posted"
                posted.append(order.event_row())
                if copy:
                    rendered.writes.append((copy_payments, order.row(at)))
                else:
                    rendered.parts.append((add_payments, order.row(at)))
            elif outcome.code is ResultCode.EXISTS:
                results[index]["status"] = "exists"
            else:
                code = error_for_result(outcome.code).code
                results[index].update(status="failed", code=code)
                rejected.append([*order.event_row(), code])
        if posted or rejected:
            rendered.events.append(batch_applied_event(claim, created_at, posted, rejected))
        return rendered

    chains = [order.chain() for _, order in orders]
    return await submit_to_ledger(deps, Submission(chains, render, claim))


_TRANSFER_SELECT = """
SELECT p.*, pr.name AS promotion_name FROM payments p
LEFT JOIN promotions pr ON pr.id = p.promotion_id WHERE p.id = $1
"""


async def get_transfer(
    conn: asyncpg.Pool | asyncpg.Connection, transfer_id: uuid.UUID, customer_id: uuid.UUID | None
) -> dict[str, Any]:
    row = await conn.fetchrow(_TRANSFER_SELECT, transfer_id)
    if row is None:
        raise TransferNotFound()
    if customer_id is not None:
        ids = [i for i in (row["from_account_id"], row["to_account_id"]) if i is not None]
        owners = await account_owners(conn, ids)
        if all(owner != customer_id for owner, _ in owners.values()):
            raise TransferNotFound()
    return {
        "id": str(row["id"]),
        "status": "posted",
        "from_account_id": str(row["from_account_id"]) if row["from_account_id"] else None,
        "to_account_id": str(row["to_account_id"]),
        "amount": row["amount"],
        "currency": row["currency"],
        "kind": row["kind"],
        "memo": row["memo"],
        "fee": {
            "amount": row["fee_amount"],
            "waived_amount": row["fee_waived_amount"],
            "promotion": row["promotion_name"],
        },
        "created_at": row["created_at"].isoformat(),
    }
